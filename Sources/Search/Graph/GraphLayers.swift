/// An HNSW graph in memory, as `GraphBuilder` grows it. Level 0 is one flat array of
/// fixed-width rows, `1 + 2M` UInt32 per node (a header slot, then the links), so a node's
/// links are found by multiplication and the array cuts into storable blocks. Upper levels
/// exist only for the few nodes drawn above 0: per such node, one `1 + M` list per level.
///
/// ```swift
/// let builder = GraphBuilder(vectors: vectors)
/// builder.insert(0..<UInt32(vectors.rows), threads: 2)
/// let hits = GraphSearcher().search(query, ef: 64, in: builder.layers, vectors: vectors).hits
/// ```
/// Not synchronised: the builder changes it from one call at a time (its own threads take
/// per-node locks), and searches must not overlap a change.
public final class GraphLayers: GraphAdjacency, @unchecked Sendable {
    /// Links per node on upper levels; level 0 keeps up to 2M.
    public let m: Int
    public internal(set) var entryPoint: UInt32?
    public internal(set) var maxLevel = 0
    public private(set) var idLimit = 0
    /// Nodes in the graph.
    public private(set) var count = 0

    let level0Width: Int
    let upperWidth: Int
    private(set) var level0: UnsafeMutablePointer<UInt32>
    /// Per node: its top level, or -1 when not in the graph.
    private var levels: UnsafeMutablePointer<Int8>
    /// Per node with levels above 0: where its level-1 list starts in `upper`.
    private var upperOffsets: UnsafeMutablePointer<Int>
    private var upper: UnsafeMutablePointer<UInt32>
    private var upperUsed = 0
    private var upperCapacity = 0
    private var capacity = 0

    /// Levels are drawn with mean 1/ln(M) above 0; this bound is never reached in practice
    /// and keeps a level in one byte.
    static let levelCap = 30

    public init(m: Int = 16) {
        precondition(m >= 2 && 2 * m <= Int(GraphFormat.countMask), "M must be in 2...32767")
        self.m = m
        level0Width = GraphFormat.level0Width(m: m)
        upperWidth = GraphFormat.upperWidth(m: m)
        level0 = .allocate(capacity: 1)
        levels = .allocate(capacity: 1)
        upperOffsets = .allocate(capacity: 1)
        upper = .allocate(capacity: 1)
    }

    deinit {
        level0.deallocate()
        levels.deallocate()
        upperOffsets.deallocate()
        upper.deallocate()
    }

    public func contains(_ node: UInt32) -> Bool { Int(node) < idLimit && levels[Int(node)] >= 0 }

    /// The node's top level, nil when it is not in the graph.
    public func level(of node: UInt32) -> Int? { contains(node) ? Int(levels[Int(node)]) : nil }

    public func neighbors(of node: UInt32, level: Int) -> UnsafeBufferPointer<UInt32> {
        let list = self.list(of: node, level: level)
        guard let list else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: list + 1, count: Int(list[0] & GraphFormat.countMask))
    }

    // MARK: Changes, for the builder

    /// The list of `node` at `level` (slot 0: count, with the presence bit on level 0; then
    /// the links), or nil above the node's level.
    func list(of node: UInt32, level: Int) -> UnsafeMutablePointer<UInt32>? {
        if level == 0 { return level0 + Int(node) &* level0Width }
        guard level <= Int(levels[Int(node)]) else { return nil }
        return upper + upperOffsets[Int(node)] + (level - 1) * upperWidth
    }

    /// Replaces the links of `node` at `level` with the ids of `hits`.
    func setLinks(of node: UInt32, level: Int, to hits: UnsafePointer<Hit>, count n: Int) {
        let list = self.list(of: node, level: level)!
        list[0] = (list[0] & GraphFormat.presentBit) | UInt32(n)
        for i in 0..<n { list[1 + i] = hits[i].id }
        // Unused slots are zero, so equal graphs store equal bytes.
        let width = level == 0 ? level0Width : upperWidth
        (list + 1 + n).update(repeating: 0, count: width - 1 - n)
    }

    /// Makes room for ids below `limit`; new rows hold no node.
    func reserve(idLimit limit: Int) {
        if limit > capacity {
            let grown = max(limit, capacity * 2, 1024)
            level0 = Self.grow(level0, from: capacity * level0Width, to: grown * level0Width, fill: 0)
            levels = Self.grow(levels, from: capacity, to: grown, fill: -1)
            upperOffsets = Self.grow(upperOffsets, from: capacity, to: grown, fill: 0)
            capacity = grown
        }
        idLimit = max(idLimit, limit)
    }

    /// Puts `node` in the graph at `level`, with no links yet. Its upper lists are fresh
    /// memory: those of a deleted node stay behind until the graph is next serialised.
    func place(_ node: UInt32, level: Int) {
        precondition(!contains(node), "node \(node) is already in the graph: delete it before inserting it again")
        precondition(level <= Self.levelCap)
        reserve(idLimit: Int(node) + 1)
        let index = Int(node)
        levels[index] = Int8(level)
        level0[index * level0Width] = GraphFormat.presentBit
        if level > 0 {
            let needed = upperUsed + level * upperWidth
            if needed > upperCapacity {
                let grown = max(needed, upperCapacity * 2, 1024)
                upper = Self.grow(upper, from: upperUsed, to: grown, fill: 0)
                upperCapacity = grown
            }
            upperOffsets[index] = upperUsed
            for l in 0..<level { upper[upperUsed + l * upperWidth] = 0 }
            upperUsed = needed
        }
        count += 1
    }

    /// Takes `node` out: no level, no links. Callers unlink it from others first.
    func remove(_ node: UInt32) {
        guard contains(node) else { return }
        levels[Int(node)] = -1
        (level0 + Int(node) * level0Width).update(repeating: 0, count: level0Width)
        count -= 1
    }

    private static func grow<T>(_ old: UnsafeMutablePointer<T>, from used: Int, to size: Int, fill: T) -> UnsafeMutablePointer<T> {
        let moved = UnsafeMutablePointer<T>.allocate(capacity: size)
        moved.moveInitialize(from: old, count: used)
        (moved + used).initialize(repeating: fill, count: size - used)
        old.deallocate()
        return moved
    }
}
