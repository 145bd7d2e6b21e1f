/// A stored graph searched in place: level 0 read through pointers to its blocks of 1,024
/// rows (as `GraphLayers.level0Block` wrote them, e.g. LMDB values in a memory map), upper
/// levels from the decoded blob. Nothing of level 0 is copied.
///
/// ```swift
/// let upper = try GraphUpperLevels(decoding: storedBlob)  // an UnsafeRawBufferPointer
/// let graph = MappedGraph(upperLevels: upper, level0Blocks: (0..<blockCount).map { pointer(ofBlock: $0) })
/// let hits = searcher.search(query, ef: 64, in: graph, vectors: vectors).hits
/// ```
/// The pointers must stay valid (the snapshot open) while the graph is in use. Rows are
/// UInt32 in the machine's byte order (little-endian on every platform mrl builds for).
public struct MappedGraph: GraphAdjacency {
    public let upperLevels: GraphUpperLevels
    private let blocks: [UnsafePointer<UInt32>]
    private let width: Int

    /// - Precondition: one block per 1,024 ids below `upperLevels.idLimit`, each 4-byte
    ///   aligned and holding its full rows (the last block only the rows below the bound).
    public init(upperLevels: GraphUpperLevels, level0Blocks: [UnsafeRawPointer]) {
        let expected = (upperLevels.idLimit + GraphFormat.blockNodes - 1) / GraphFormat.blockNodes
        precondition(level0Blocks.count == expected, "graph needs \(expected) level-0 blocks, got \(level0Blocks.count)")
        precondition(level0Blocks.allSatisfy { Int(bitPattern: $0) % 4 == 0 }, "level-0 blocks must be 4-byte aligned")
        self.upperLevels = upperLevels
        blocks = level0Blocks.map { $0.assumingMemoryBound(to: UInt32.self) }
        width = GraphFormat.level0Width(m: upperLevels.m)
    }

    /// The first level-0 link that points past the id bound, as (node, link), or nil: a
    /// stored graph is read back from disk, and a walk indexes the vectors by its links.
    public func linkPastBound() -> (node: UInt32, link: UInt32)? {
        for node in 0..<UInt32(idLimit) {
            if let link = neighbors(of: node, level: 0).first(where: { Int($0) >= idLimit }) { return (node, link) }
        }
        return nil
    }

    public var entryPoint: UInt32? { upperLevels.entryPoint }
    public var maxLevel: Int { upperLevels.maxLevel }
    public var idLimit: Int { upperLevels.idLimit }

    public func neighbors(of node: UInt32, level: Int) -> UnsafeBufferPointer<UInt32> {
        guard level == 0 else { return upperLevels.neighbors(of: node, level: level) }
        let row = level0Row(node)
        // Clamped so a damaged count cannot send the walk past the row.
        return UnsafeBufferPointer(start: row + 1, count: min(Int(row[0] & GraphFormat.countMask), width - 1))
    }

    /// Node's level-0 row: header slot (presence bit, count), then `2M` link slots.
    @inline(__always)
    func level0Row(_ node: UInt32) -> UnsafePointer<UInt32> {
        blocks[Int(node) / GraphFormat.blockNodes] + (Int(node) % GraphFormat.blockNodes) * width
    }
}
