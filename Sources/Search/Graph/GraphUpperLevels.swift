/// Why a stored graph could not be read.
public enum GraphFormatError: Error, Equatable, CustomStringConvertible {
    case unsupportedVersion(UInt32)
    case corrupt(reason: String)

    public var description: String {
        switch self {
        case .unsupportedVersion(let v): "graph format version \(v) is not supported (this build reads version 1): rebuild the graph"
        case .corrupt(let reason): "stored graph is corrupt (\(reason)): rebuild the graph"
        }
    }
}

/// Everything of a graph except level 0: M, the id bound, the entry point, the top level,
/// and the upper lists of the few nodes that have them, decoded from one compact blob
/// (`GraphLayers.encodeUpperLevels()`). Small enough to store as one value and decode on open.
///
/// ```swift
/// let blob = builder.layers.encodeUpperLevels()                  // store it
/// let upper = try blob.withUnsafeBytes { try GraphUpperLevels(decoding: $0) }
/// let graph = MappedGraph(upperLevels: upper, level0Blocks: blockPointers)
/// ```
/// Blob layout, little-endian UInt32s: magic, version, M, idLimit, entry point
/// (0xFFFFFFFF: none), top level, node count; then per node: id, level, and `level` lists
/// of `1 + M` slots (count, links).
public struct GraphUpperLevels: @unchecked Sendable {
    public let m: Int
    public let idLimit: Int
    public let entryPoint: UInt32?
    public let maxLevel: Int
    /// Node → (level, start of its level-1 list in `slots`).
    private let nodes: [UInt32: (level: Int, offset: Int)]
    private let slots: ListStorage

    static let magic: UInt32 = 0x474C_524D  // "MRLG" read as little-endian bytes
    static let version: UInt32 = 1
    static let noEntry = UInt32.max

    /// Throws `corrupt` when the blob is cut short, has the wrong magic or holds links that
    /// cannot be, and `unsupportedVersion` for a format this build does not read.
    public init(decoding bytes: UnsafeRawBufferPointer) throws(GraphFormatError) {
        let words = bytes.count / 4
        func word(_ i: Int) -> UInt32 { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)) }
        guard bytes.count % 4 == 0, words >= 7 else { throw .corrupt(reason: "\(bytes.count) bytes is not a header") }
        guard word(0) == Self.magic else { throw .corrupt(reason: "wrong magic number") }
        guard word(1) == Self.version else { throw .unsupportedVersion(word(1)) }
        m = Int(word(2))
        idLimit = Int(word(3))
        entryPoint = word(4) == Self.noEntry ? nil : word(4)
        maxLevel = Int(word(5))
        guard m >= 2 && 2 * m <= Int(GraphFormat.countMask) else { throw .corrupt(reason: "M = \(m)") }
        // A deeper node would trap in `GraphLayers.place` when the writer restores the graph.
        guard maxLevel <= GraphLayers.levelCap else { throw .corrupt(reason: "top level \(maxLevel)") }
        if let entry = entryPoint, Int(entry) >= idLimit { throw .corrupt(reason: "entry point \(entry) past the id bound") }
        let width = GraphFormat.upperWidth(m: m)
        let storage = ListStorage(count: words)
        var decoded: [UInt32: (level: Int, offset: Int)] = [:]
        var at = 7, used = 0
        for _ in 0..<Int(word(6)) {
            guard at + 2 <= words else { throw .corrupt(reason: "node list cut short") }
            let node = word(at), level = Int(word(at + 1))
            at += 2
            guard Int(node) < idLimit, level >= 1, level <= maxLevel, at + level * width <= words else {
                throw .corrupt(reason: "node \(node) at level \(level)")
            }
            decoded[node] = (level, used)
            for i in 0..<level * width {
                let slot = word(at + i)
                // A count slot holds at most M; a link slot a node id (or zero padding).
                guard i % width == 0 ? slot <= UInt32(m) : Int(slot) < idLimit else {
                    throw .corrupt(reason: "node \(node) has a list slot \(slot)")
                }
                storage.pointer[used + i] = slot
            }
            at += level * width
            used += level * width
        }
        guard at == words else { throw .corrupt(reason: "\(words - at) words after the last node") }
        nodes = decoded
        slots = storage
    }

    /// The node's top level: 0 for a node without upper lists (or not in the graph).
    public func level(of node: UInt32) -> Int { nodes[node]?.level ?? 0 }

    /// Links of `node` at `level` ≥ 1; empty above the node's level.
    public func neighbors(of node: UInt32, level: Int) -> UnsafeBufferPointer<UInt32> {
        guard let entry = nodes[node], level <= entry.level else { return UnsafeBufferPointer(start: nil, count: 0) }
        let list = slots.pointer + entry.offset + (level - 1) * GraphFormat.upperWidth(m: m)
        return UnsafeBufferPointer(start: list + 1, count: Int(list[0]))
    }

    /// Nodes with upper lists, for rebuilding a `GraphLayers`.
    var nodesWithUpperLevels: [(node: UInt32, level: Int)] { nodes.map { ($0.key, $0.value.level) }.sorted { $0.node < $1.node } }

    /// Writes the blob for `layers`, in node order so equal graphs give equal bytes.
    static func encode(_ layers: GraphLayers) -> [UInt8] {
        var words: [UInt32] = [magic, version, UInt32(layers.m), UInt32(layers.idLimit),
                               layers.entryPoint ?? noEntry, UInt32(layers.maxLevel), 0]
        var count: UInt32 = 0
        for node in 0..<UInt32(layers.idLimit) {
            guard let level = layers.level(of: node), level > 0 else { continue }
            count += 1
            words += [node, UInt32(level)]
            for l in 1...level {
                let links = layers.neighbors(of: node, level: l)
                words.append(UInt32(links.count))
                words += links
                words += repeatElement(0, count: layers.m - links.count)
            }
        }
        words[6] = count
        return words.flatMap { word in withUnsafeBytes(of: word.littleEndian) { Array($0) } }
    }
}

/// Owns the decoded lists, so the buffers `neighbors` hands out stay put for the value's life.
private final class ListStorage {
    let pointer: UnsafeMutablePointer<UInt32>

    init(count: Int) {
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }
}
