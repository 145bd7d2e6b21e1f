/// Read access to an HNSW graph's links, whatever holds them: the builder's arrays
/// (`GraphLayers`) or pointers into a memory map (`MappedGraph`). `GraphSearcher` walks
/// either through this protocol, so one search serves both.
///
/// ```swift
/// let searcher = GraphSearcher()
/// let fromMemory = searcher.search(query, ef: 64, in: builder.layers, vectors: vectors)
/// let fromDisk = searcher.search(query, ef: 64, in: mappedGraph, vectors: vectors)
/// ```
public protocol GraphAdjacency {
    /// Where every search starts: a node on the top level; nil while the graph is empty.
    var entryPoint: UInt32? { get }
    /// The top level (0 when the graph has only the base level or is empty).
    var maxLevel: Int { get }
    /// Every node id is below this bound (it sizes a search's visited set).
    var idLimit: Int { get }
    /// Out-links of `node` at `level`; empty for a level above the node's own. The buffer
    /// stays valid until the graph is next changed (or, for a copying implementation, until
    /// the next call).
    func neighbors(of node: UInt32, level: Int) -> UnsafeBufferPointer<UInt32>
}

/// Layout constants shared by the in-memory graph, its serialised forms and the mapped view.
enum GraphFormat {
    /// Level-0 rows are cut into blocks of this many nodes, one stored value each.
    static let blockNodes = 1024
    /// Bit of a level-0 row's first slot that marks a node as being in the graph; the low
    /// 16 bits are the neighbour count. Presence must survive serialisation on its own:
    /// a graph's only node, or one whose neighbours were all deleted, has no links.
    static let presentBit: UInt32 = 1 << 31
    static let countMask: UInt32 = 0xFFFF
    /// Level-0 lists hold up to 2M links, upper lists M (as in the HNSW paper).
    static func level0Width(m: Int) -> Int { 1 + 2 * m }
    static func upperWidth(m: Int) -> Int { 1 + m }
}
