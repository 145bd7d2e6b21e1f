import Dispatch

/// What one graph search found and spent.
public struct GraphSearchResult: Sendable {
    /// Up to `ef` hits, best first (higher similarity, then lower id).
    public var hits: [Hit]
    /// Query–vector similarities computed.
    public var distanceComputations: Int
    /// True when the deadline stopped the walk: `hits` are the best seen until then.
    public var partial: Bool
}

/// Approximate nearest neighbours on an HNSW graph: greedy descent through the upper
/// levels, then a beam of width `ef` on level 0.
///
/// ```swift
/// let searcher = GraphSearcher()                      // one per thread; reuse it
/// let result = searcher.search(query, ef: 64, in: graph, vectors: vectors, allow: { live[Int($0)] })
/// for hit in result.hits.prefix(10) { print(hit.id, hit.score) }
/// ```
/// After the first queries have grown its scratch, a search allocates nothing, provided the
/// caller has let go of the previous result's `hits` (their storage is reused).
public final class GraphSearcher: @unchecked Sendable {  // used by one thread at a time (pooled by callers)
    private let scratch = SearchScratch()
    private let prepared = ScratchBuffer<Float>()
    private let drained = ScratchBuffer<Hit>()
    private var hits: [Hit] = []

    public init() {}

    /// The best `ef` nodes for `query` (unit length, `vectors.dimensions` floats) that
    /// `allow` accepts, e.g. a live-row check. Rejected nodes still route the walk. The
    /// walk stops at `deadline` (checked every 64 expanded nodes) and reports `partial`.
    public func search<Graph: GraphAdjacency>(
        _ query: [Float], ef: Int, in graph: Graph, vectors: GraphVectors,
        deadline: DispatchTime = .distantFuture, allow: (UInt32) -> Bool = { _ in true }
    ) -> GraphSearchResult {
        precondition(query.count == vectors.dimensions, "query has \(query.count) components, vectors \(vectors.dimensions)")
        precondition(ef > 0)
        hits.removeAll(keepingCapacity: true)
        guard let entry = graph.entryPoint else { return GraphSearchResult(hits: hits, distanceComputations: 0, partial: false) }
        let q = prepared.reserve(vectors.dimensions)
        query.withUnsafeBufferPointer { vectors.prepare(query: $0.baseAddress!, into: q) }
        var cost = 1
        var current = Hit(id: entry, score: vectors.similarity(q, entry))
        for level in stride(from: graph.maxLevel, to: 0, by: -1) {
            current = scratch.greedyClosest(graph, vectors, q, from: current, level: level, cost: &cost)
        }
        let partial = scratch.beam(graph, vectors, q, entry: current, level: 0, ef: ef,
                                   deadline: deadline.uptimeNanoseconds, cost: &cost, allow: allow)
        let out = drained.reserve(scratch.results.count)
        let count = scratch.drainResults(into: out)
        sortBestFirst(out, count: count)  // equal scores by id, as the exact search orders them
        hits.append(contentsOf: UnsafeBufferPointer(start: out, count: count))
        return GraphSearchResult(hits: hits, distanceComputations: cost, partial: partial)
    }
}
