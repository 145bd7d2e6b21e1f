import ArgumentParser
import Engine
import Foundation
import Terminal

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Measure recall against cost for every search plan, and store presets (fast, balanced, accurate, yours); fit hybrid search's fusion weight on labelled queries.",
        discussion: """
            Times every plan of the index's graph (beam width × rescoring stages × early exit, and the exact \
            scan) on sample queries and measures its recall@k against exact search for the same query. Queries \
            are --queries (JSONL with "query" or "vector"); else the most recent --sample of the index's \
            query log (`mrl queries`) once it holds 500; else --sample documents drawn from the index \
            (--seed; a document finding itself counts like any other hit). Half the queries (drawn with \
            --seed) are held out: the plans are timed and the presets chosen on the other half, and what each \
            preset promises (its recall and latency) is measured on the held-out half. The Pareto frontier \
            gives the presets: fast (recall ≥ 0.90), balanced (≥ 0.95) and accurate (≥ 0.99), each the \
            cheapest plan that reaches it, plus one you name for --target-recall or --budget-ms. Presets are \
            stored with the index; `mrl search --preset NAME` and the daemon's "preset" field use them. \
            The plan sample is deterministic for a --seed; timings are not.
            Hybrid fusion: when --queries holds labelled text queries ("query" and "relevant_id", or \
            "relevant_ids": a list, e.g. the files or chunked documents that answer it), tune also fits how \
            a hybrid search fuses the semantic ranking with the lexical (BM25) one, and the weight w of the \
            semantic one: by reciprocal rank, w / (60 + semantic rank) + (1 − w) / (60 + lexical rank), or \
            by relative score, w × semantic score + (1 − w) × BM25 score, each scaled to 0..1 over its \
            ranking. Each query's two rankings (the semantic one by the index's default plan, as measured \
            just before) are fused by both methods at w = 0, 0.01, ..., 1, and the fusion of the best \
            MRR@10 on all of them is stored with the index (ties go to reciprocal rank, then to the w \
            nearest 0.5); hybrid searches use it ("fusion_weight", `mrl search --fusion-weight`, sets w). \
            What it promises is measured on held-out queries: each half of the queries (drawn with --seed) \
            is fitted alone and scores the other half, and the MRR@10 over all queries, each scored by a \
            fusion not fitted on it, is shown beside the semantic and lexical rankings' own and plain \
            RRF's. A hit answers a query when its id, or the document or file it is a chunk of, is a \
            relevant one. Untuned indexes fuse by reciprocal rank at w = 0.5 (plain RRF). An index \
            without a graph (under 5,000 documents) gets its fusion only.
            Examples:
              mrl tune --index debian
              mrl tune --index debian --queries labelled.jsonl
              mrl tune --index debian --name strict --target-recall 0.97 --plot frontier.svg --peers tools/bench/out/ann_peers.json
              mrl tune --index debian --name snappy --budget-ms 0.2
            """)

    @OptionGroup var target: IndexOptions

    @Option(help: "JSONL queries (\"query\" text or \"vector\"); default: documents of the index. With \"relevant_id\" (or \"relevant_ids\") beside a text, also fits the hybrid fusion weight.")
    var queries: String?

    @Option(help: "How many logged queries (the most recent) or documents to tune on when --queries is not given.")
    var sample = 500

    @Option(help: "Seed of the document draw.")
    var seed: UInt64 = 1

    @Option(name: .short, help: "Hits per query the recall is measured at.")
    var k = 10

    @Option(help: "Name of the preset to store for --target-recall or --budget-ms.")
    var name: String?

    @Option(help: "Store a preset: the cheapest plan reaching this recall@k.")
    var targetRecall: Double?

    @Option(help: "Store a preset: the best recall whose p99 fits in this many ms.")
    var budgetMs: Double?

    @Flag(help: "Rebuild the graph first (at --graph-dims), then measure.")
    var rebuildGraph = false

    @Option(help: "Prefix dimensions of the rebuilt graph (with --rebuild-graph).")
    var graphDims: Int?

    @Option(help: "Write an SVG of recall vs latency: every plan, the frontier, the presets.")
    var plot: String?

    @Option(help: "Peers' ANN benchmark JSON to draw beside ours ({system, params, recall_at_10, qps}).")
    var peers: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        try check("--sample", sample, in: 1...1_000_000)
        try check("-k", k, in: 1...1_000)
        guard targetRecall == nil || budgetMs == nil else { throw ValidationError("give --target-recall or --budget-ms, not both") }
        if let targetRecall, !(targetRecall > 0 && targetRecall <= 1) { throw ValidationError("--target-recall must be in (0, 1]") }
        if let budgetMs, !(budgetMs > 0 && budgetMs.isFinite) { throw ValidationError("--budget-ms must be a positive number") }
        if name != nil, targetRecall == nil, budgetMs == nil { throw ValidationError("--name needs --target-recall or --budget-ms") }
        if graphDims != nil, !rebuildGraph { throw ValidationError("--graph-dims needs --rebuild-graph") }
        if let name, Index.Preset.builtIn.contains(where: { $0.name == name }) {
            throw ValidationError("\(name) is a built-in preset, chosen by its own target: give your preset another name")
        }
    }

    func run() throws {
        let index = try target.open(.write)
        if rebuildGraph {
            // Keep the stored graph's other settings; change only its prefix when asked.
            var options = try index.storedGraphOptions() ?? index.defaultGraphOptions
            if let graphDims { options.dims = graphDims }
            let build = try index.buildGraph(options)
            note("rebuilt the graph over \(build.record.dims) dims in \(String(format: "%.1f", build.record.buildSeconds)) s")
        }
        let goal: Index.Preset.Goal? = targetRecall.map { .recall($0) } ?? budgetMs.map { .budget($0) }
        let presetName = name ?? (targetRecall.map { String(format: "recall-%g", $0) } ?? budgetMs.map { String(format: "budget-%gms", $0) })
        let known = try queries.map { try queriesFile($0) }
        let vectors = try known.map { try index.queryVectors($0) }
        let labelled = (known ?? []).contains { $0.query != nil && !$0.relevantIDs.isEmpty }
        if labelled, let known { _ = try index.fusionQueries(known) }  // before any plan is measured and stored
        let progress = ProgressDisplay()
        let model = try index.tune(queries: vectors, sampleCount: sample, seed: seed, k: k,
                                   goals: goal.map { [(presetName!, $0)] } ?? []) { done, total in
            progress.update(fraction: Double(done) / Double(total), count: done, unit: "plans", plainLine: "timed \(done) of \(total) plans")
        }
        progress.finish()
        // After the plans: the semantic rankings it fuses are the new default plan's.
        let fusion = try known.flatMap { known in try labelled ? index.fitFusion(known, vectors: vectors ?? [], seed: seed) : nil }
        guard model != nil || fusion != nil else {
            let documents = try index.info().documents
            throw ValidationError("index \(target.index) has \(documents) documents and no graph to tune: a graph is built from \(Index.automaticGraphMinimum.formatted()) documents on, or by `mrl graph --index \(target.index)` (or --rebuild-graph here); a hybrid fusion weight is fitted on --queries with \"relevant_id\"")
        }
        if let plot, let model { try frontierChart(model).write(to: plot) }
        if json { return printJSON(TuneCommand.json(model, fusion: fusion, index: target.index)) }
        if let fusion { printFusion(fusion) }
        guard let model else {
            return print("no graph (it is built from \(Index.automaticGraphMinimum.formatted()) documents on): searches scan exactly, no plans to measure")
        }
        print("\(target.index): \(model.measurements.count) plans timed on \(model.queries - model.heldOut) of \(model.queries) \(model.querySource ?? "queries"), recall@\(model.k) against exact search; the presets measured on the other \(model.heldOut)")
        print("frontier (no other plan is both faster at p99 and better in recall):")
        print(planTable(model.frontier).render())
        let exact = model.measurements.first { $0.plan.exact }
        for preset in model.presets {
            let m = preset.measurement
            var line = String(format: "%@: recall %.3f, p50 %.3f ms, p99 %.3f ms (%@)", preset.name, m.recall, m.p50Ms, m.p99Ms, m.plan.summary)
            if let exact { line += String(format: "; %.0f%% of exact search's time, %.1f%% of its distance computations",
                                          m.meanMs / exact.meanMs * 100, m.meanDistanceComputations / exact.meanDistanceComputations * 100) }
            print(line)
            if let chosen = Index.Preset.choose(preset.goal, among: model.measurements), !chosen.met {
                print("  no plan meets \(preset.goal): this is the closest there is")
            }
        }
        if let plot { print("wrote \(plot)") }
    }

    static func json(_ model: Index.CostModel?, fusion: FusionTuning?, index: String) -> JSON {
        var fields: [String: JSON] = ["index": .string(index), "fusion": fusion?.json ?? .null]
        if let model {
            fields.merge(["k": JSON(model.k), "queries": JSON(model.queries), "plans": model.measurements.json,
                          "frontier": model.frontier.json, "presets": .array(model.presets.map(\.report))]) { $1 }
        }
        return .object(fields)
    }

    /// The fitted fusion, and MRR@10 by mode on held-out queries.
    private func printFusion(_ tuning: FusionTuning) {
        let halves = tuning.halves.map(\.description).joined(separator: "; ")
        print("hybrid fusion: \(tuning.fusion.description), the best MRR@10 on all \(tuning.queries) labelled queries (each half alone chose \(halves))")
        var table = Table(header: ["mode (held out)", "MRR@10"], rightAligned: [1])
        table.rows = [["hybrid, as fitted", String(format: "%.3f", tuning.heldOut.fitted)],
                      ["hybrid, plain reciprocal rank (untuned)", String(format: "%.3f", tuning.heldOut.equal)],
                      ["semantic", String(format: "%.3f", tuning.heldOut.semantic)],
                      ["lexical", String(format: "%.3f", tuning.heldOut.lexical)]]
        print(table.render())
        print("(each query scored by the fusion fitted on the other half; the other rows fit nothing)")
    }

    /// Recall vs mean latency (what the peers' QPS gives): all plans, their frontier, the
    /// presets (one label for presets on the same plan), and the peers if given.
    private func frontierChart(_ model: Index.CostModel) throws -> SVGChart {
        var chart = SVGChart(title: "\(target.index): recall@\(model.k) vs mean latency, one thread", xLabel: "mean latency per query, ms (log)",
                             yLabel: "recall@\(model.k) vs exact search", logX: true)
        let frontier = model.frontier(by: \.meanMs)
        chart.series.append(.init(name: "mrl plans", points: model.measurements.map { ($0.meanMs, $0.recall, nil) }, style: .dots, color: "#7a9cc6"))
        chart.series.append(.init(name: "mrl frontier", points: frontier.map { ($0.meanMs, $0.recall, nil) }, style: .line, color: "#1f4e9c"))
        let byPlan = Dictionary(grouping: model.presets, by: \.measurement.plan)
        chart.series.append(.init(name: "presets", points: byPlan.values.map { presets in
            (presets[0].measurement.meanMs, presets[0].measurement.recall, presets.map(\.name).joined(separator: ", "))
        }, style: .markers, color: "#c0392b"))
        if let peers {
            guard let data = FileManager.default.contents(atPath: peers), case .array(let rows) = try JSON.parse(data) else {
                throw ValidationError("\(peers): expected a JSON list of {system, params, recall_at_10, qps}")
            }
            // Peers report QPS over a query set on one thread: 1000 / QPS is their mean latency.
            let colors = ["#27ae60", "#8e44ad", "#d35400", "#16a085", "#7f8c8d"]
            let systems = Array(Set(rows.compactMap { $0["system"]?.string })).sorted()
            for (i, system) in systems.enumerated() {
                let points = rows.filter { $0["system"]?.string == system }.compactMap { row -> (Double, Double, String?)? in
                    guard let qps = row["qps"]?.number, qps > 0, let recall = row["recall_at_10"]?.number else { return nil }
                    return (1000 / qps, recall, nil)
                }
                chart.series.append(.init(name: system, points: points, style: .points, color: colors[i % colors.count]))
            }
        }
        return chart
    }
}

extension Index.Preset {
    /// The preset as `mrl tune --json` shows it: its measurement's fields beside its name and
    /// goal, the goal in words.
    var report: JSON {
        var fields = measurement.json.object ?? [:]
        fields["name"] = .string(name)
        fields["goal"] = .string(goal.description)
        return .object(fields)
    }
}
