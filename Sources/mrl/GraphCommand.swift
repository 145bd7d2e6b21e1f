import ArgumentParser
import Engine
import Foundation
import Terminal

struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Build (or drop) the ANN graph that searches walk, and measure the plans it offers.",
        discussion: """
            The graph is an HNSW graph over a short prefix of the head-space vectors (128 dims by \
            default, int8), stored in the index. A search walks it to collect candidates, then rescores \
            them at longer prefixes (the Matryoshka funnel). `mrl index` builds one by itself from \
            5,000 documents on, and after a change of head; writes keep it current. \
            After a build, the plans (beam width, rescoring stages) are timed on documents of the index \
            used as queries, and the planner picks from them by each query's latency budget.
            Queries unlike the documents (a package name against package summaries) have true \
            neighbours that a graph of the documents leaves far apart. So once the query log holds \
            1,000 queries (or with --queries), the documents each of them finds together are linked \
            too, in the free slots of their links; `mrl index` and the daemon rebuild the graph so \
            each time the log has been offered twice as many queries as at the last such build.
            Examples:  mrl graph --index debian
                       mrl graph --index debian --dims 128 --m 24
                       mrl graph --index pypi --queries names.jsonl
                       mrl graph --index debian --drop
            """)

    @OptionGroup var target: IndexOptions

    @Option(help: "Prefix of the head-space vectors the graph links and walks (a stored prefix: 32, 64, 128, ...; default 128, or the index's size if smaller).")
    var dims: Int?

    @Option(help: "Links per node (2M on the base level): more is better recall, more memory and build time.")
    var m = 16

    @Option(help: "Beam width while building.")
    var efConstruction = 128

    @Option(help: "Threads to build with.")
    var threads = 2

    @Flag(help: "Walk float32 vectors instead of int8 (4x the memory traffic).")
    var float32 = false

    @Option(help: "JSONL queries (\"query\" text or \"vector\") like those users send, to link the documents each finds together (default: the query log, once it holds 1,000).")
    var queries: String?

    @Flag(help: "Link the documents by their own neighbours only, not by any queries.")
    var noQueries = false

    @Flag(help: "Remove the graph: searches scan exactly.")
    var drop = false

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        try check("--m", m, in: 2...1_024)  // at 1024, level 0 alone takes 8 KB a node
        try check("--ef-construction", efConstruction, in: 1...100_000)
        try check("--threads", threads, in: 1...1_024)
        if queries != nil && noQueries { throw ValidationError("give --queries or --no-queries, not both") }
    }

    func run() throws {
        let index = try target.open(.write)
        if drop {
            print(try index.dropGraph() ? "\(target.index): graph dropped" : "\(target.index): had no graph")
            return
        }
        var options = index.defaultGraphOptions
        if let dims { options.dims = dims }
        options.m = m
        options.efConstruction = efConstruction
        options.threads = threads
        options.encoding = float32 ? .float32 : .int8
        if noQueries { options.guidance = .none }
        if let queries { options.guidance = .queries(try index.queryVectors(queriesFile(queries))) }
        let build = try index.buildGraph(options)
        let model = try calibrateWithProgress(index)
        try report(build, model, index: target.index, json: json)
    }
}

/// Times the plans after a build (or, with `onlyIfDue`, when the cost model is missing or
/// stale), with a progress line.
func calibrateWithProgress(_ index: Index, onlyIfDue: Bool = false) throws -> Index.CostModel? {
    let progress = ProgressDisplay()
    defer { progress.finish() }
    let report = { (done: Int, total: Int) in
        progress.update(fraction: Double(done) / Double(total), count: done, unit: "plans",
                        plainLine: "timed \(done) of \(total) search plans")
    }
    return try onlyIfDue ? index.calibrateIfDue(progress: report) : index.calibrate(progress: report)
}

/// Prints what a graph build did and the plans' frontier (for `mrl graph` and `mrl index`).
func report(_ build: GraphBuild, _ model: Index.CostModel?, index: String, json: Bool) throws {
    let r = build.record
    if json {
        printJSON(.object([
            "index": .string(index), "dims": JSON(r.dims), "m": JSON(r.m), "ef_construction": JSON(r.efConstruction),
            "encoding": .string(r.encoding), "nodes": JSON(r.nodes), "build_seconds": .number(r.buildSeconds),
            "threads": JSON(build.threads), "guidance": JSON(r.guidance), "guided_by": JSON(r.guidedBy), "query_links": JSON(r.queryLinks),
            "frontier": (model?.frontier ?? []).json,
        ]))
        return
    }
    print(String(format: "%@: graph of %@ nodes over %d dims (%@, M=%d, ef_construction=%d) built in %.1f s on %d threads",
                 index, r.nodes.formatted(), r.dims, r.encoding, r.m, r.efConstruction, r.buildSeconds, build.threads))
    if r.guidedBy > 0 { print("linked the documents that \(r.guidedBy.formatted()) queries find together: \(r.queryLinks.formatted()) links added") }
    guard let model else { return }
    print("plans on the recall/latency frontier (\(model.queries) documents as queries, recall@\(model.k) vs exact):")
    print(planTable(model.frontier).render())
}
