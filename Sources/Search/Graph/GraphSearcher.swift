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
    private let drainedBuffer = ScratchBuffer<Hit>()
    private var hits: [Hit] = []
    /// The width a paused walk may widen to (see `widen`).
    private var paused: Int?

    public init() {}

    /// The best `ef` nodes for `query` (unit length, `vectors.dimensions` floats) that
    /// `allow` accepts, e.g. a live-row check. Rejected nodes still route the walk. The
    /// walk stops at `deadline` (checked every 64 expanded nodes) and reports `partial`.
    ///
    /// With `widening` (> ef), the walk keeps what a beam that wide needs, so that `widen`
    /// can go on from where it stopped to exactly the hits of a walk of that width.
    public func search<Graph: GraphAdjacency>(
        _ query: [Float], ef: Int, widening: Int? = nil, in graph: Graph, vectors: GraphVectors,
        deadline: DispatchTime = .distantFuture, allow: (UInt32) -> Bool = { _ in true }
    ) -> GraphSearchResult {
        precondition(query.count == vectors.dimensions, "query has \(query.count) components, vectors \(vectors.dimensions)")
        precondition(ef > 0)
        paused = nil
        hits.removeAll(keepingCapacity: true)
        guard let entry = graph.entryPoint else { return GraphSearchResult(hits: hits, distanceComputations: 0, partial: false) }
        let q = prepared.reserve(vectors.dimensions)
        query.withUnsafeBufferPointer { vectors.prepare(query: $0.baseAddress!, into: q) }
        var cost = 1
        var current = Hit(id: entry, score: vectors.similarity(q, entry))
        for level in stride(from: graph.maxLevel, to: 0, by: -1) {
            current = scratch.greedyClosest(graph, vectors, q, from: current, level: level, cost: &cost)
        }
        let widens = (widening ?? 0) > ef
        let partial = scratch.beam(graph, vectors, q, entry: current, level: 0, ef: ef, settingAside: widens,
                                   deadline: deadline.uptimeNanoseconds, cost: &cost, allow: allow)
        let result = drained(cost: cost, partial: partial)
        if widens && !partial {
            paused = widening
            scratch.evicted.append(contentsOf: result.hits)  // the narrow beam's best, for the wide one's results
        }
        return result
    }

    /// Goes on with the walk of the last `search` given `widening` (same graph, vectors and
    /// `allow`) to that width: its hits, as a walk that wide from the start finds them, and the
    /// distance computations this part took. Nil when there is no such walk to go on with
    /// (the last search did not widen, stopped at its deadline, or was widened already).
    public func widen<Graph: GraphAdjacency>(
        in graph: Graph, vectors: GraphVectors, deadline: DispatchTime = .distantFuture,
        allow: (UInt32) -> Bool = { _ in true }
    ) -> GraphSearchResult? {
        guard let width = paused else { return nil }
        paused = nil
        hits.removeAll(keepingCapacity: true)
        var cost = 0
        let partial = scratch.widen(graph, vectors, prepared.pointer, level: 0, ef: width,
                                    deadline: deadline.uptimeNanoseconds, cost: &cost, allow: allow)
        return drained(cost: cost, partial: partial)
    }

    /// The walk's best nodes as a result, best first.
    private func drained(cost: Int, partial: Bool) -> GraphSearchResult {
        let out = drainedBuffer.reserve(scratch.results.count)
        let count = scratch.drainResults(into: out)
        sortBestFirst(out, count: count)  // equal scores by id, as the exact search orders them
        hits.append(contentsOf: UnsafeBufferPointer(start: out, count: count))
        return GraphSearchResult(hits: hits, distanceComputations: cost, partial: partial)
    }
}
