import Dispatch
import Search
import Store

/// Graphs guided by the queries an index receives (`GraphBuilder.addQueryEdges`): short
/// queries unlike the documents (a package name against package summaries) have true
/// neighbours that a graph of the documents alone leaves far apart; linking the documents
/// such queries find together lets a walk reach them all.
extension Index {
    /// Which queries guide a graph build.
    public enum QueryGuidance: Sendable, Equatable {
        /// The query log's, once it holds `graphGuidanceMinimum` (what an automatic build uses).
        case log
        /// These, in the model's raw space (`mrl graph --queries FILE`).
        case queries([[Float]])
        /// None: the documents' own links only.
        case none
    }

    /// Logged queries from which they guide the graph: fewer say too little about what users
    /// ask to be worth a rebuild.
    public static let graphGuidanceMinimum = 1_000

    /// Queries that guide one build, at most: their exact neighbours cost a pass over the
    /// vectors per 256 of them (2 s on 2 threads for 5,000 over 60,000 documents), and more
    /// queries add links the free slots have ever less room for. Beyond it, an even sample.
    public static let graphGuidanceLimit = 5_000

    /// Each guiding query links its nearest document with its next nearest, up to this many
    /// documents in all: 10 (the k of most searches); 32 gained 0.3 point of recall on PyPI
    /// names for twice the links.
    static let guidedNeighbors = 10

    /// What guides a build: how many queries, how the graph's record names them, and each
    /// one's exact nearest documents at full dimensions (what a search must find), as row ids,
    /// best first.
    struct GuidingQueries {
        var count: Int
        var source: String
        var neighbors: [[UInt32]]
    }

    /// The queries `guidance` stands for in `snapshot` (at most `graphGuidanceLimit`, an even
    /// sample) with their neighbours, found on `threads` (each pass single-threaded BLAS); nil
    /// for none (or a log still too short). Throws `invalidRequest` for a query of another size.
    func guidingQueries(_ guidance: QueryGuidance, in snapshot: Snapshot, threads: Int) throws -> GuidingQueries? {
        guard let (queries, source) = try queriesSample(guidance, in: snapshot) else { return nil }
        let taken = queries.count
        nonisolated(unsafe) let blocks = try snapshot.vectorBlocks(space: .raw)
        let parts = max(1, min(threads, taken / ExactBatch.width))
        var found = [[[UInt32]]](repeating: [], count: parts)
        found.withUnsafeMutableBufferPointer { found in
            nonisolated(unsafe) let found = found
            DispatchQueue.concurrentPerform(iterations: parts) { p in
                let part = Array(queries[taken * p / parts..<taken * (p + 1) / parts])
                found[p] = ExactBatch.run(queries: part, k: Index.guidedNeighbors, blocks: blocks, layout: layout, pause: {}).map { $0.map(\.id) }
            }
        }
        return GuidingQueries(count: taken, source: source, neighbors: found.flatMap { $0 })
    }

    /// The queries `guidance` stands for in `snapshot`, at most `graphGuidanceLimit` (an even
    /// sample), and how records name their source ("queries" or "log"); nil for none, or a log
    /// still too short. Throws `invalidRequest` for a query of another size.
    func queriesSample(_ guidance: QueryGuidance, in snapshot: Snapshot) throws -> (queries: [[Float]], source: String)? {
        let all: [[Float]], source: String
        switch guidance {
        case .none: return nil
        case .queries(let vectors):
            try checkDimensions(of: vectors)
            (all, source) = (vectors, "queries")
        case .log:
            guard try snapshot.loggedQueryCount() >= Index.graphGuidanceMinimum else { return nil }
            (all, source) = (try snapshot.loggedQueries().map(\.vector), "log")
        }
        guard !all.isEmpty else { return nil }
        let taken = min(all.count, Index.graphGuidanceLimit)
        return ((0..<taken).map { all[$0 * all.count / taken] }, source)
    }

    /// Queries the log has been offered since it was last cleared.
    func queriesLogSaw(_ snapshot: Snapshot) throws -> Int { try snapshot.queryLogState(as: QueryLogState.self)?.seen ?? 0 }

    /// Whether the log has grown enough since the stored graph was built to guide a rebuild
    /// (see below); false without a graph. Cheap: two reads.
    public func graphGuidanceIsDue() throws -> Bool {
        try store.read { snapshot in try snapshot.graphRecord().map { try graphGuidanceIsDue($0, in: snapshot) } ?? false }
    }

    /// Whether the log has grown enough since `record` was built to guide a rebuild: once it
    /// holds `graphGuidanceMinimum` queries, and for a guided graph once it has been offered
    /// twice as many as when that was built (the log keeps a sample of at most 20,000, so
    /// rebuilds grow rarer as traffic goes on). Never for a graph asked to have no guidance.
    func graphGuidanceIsDue(_ record: GraphRecord, in snapshot: Snapshot) throws -> Bool {
        guard record.guidance != "none", try snapshot.loggedQueryCount() >= Index.graphGuidanceMinimum else { return false }
        return try queriesLogSaw(snapshot) >= 2 * record.logSeen
    }
}
