import ArgumentParser
import Engine
import Foundation
import Search
import Terminal

struct AnnBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ann",
        abstract: "Recall@k against exact search versus speed, for every plan and for a sweep of budgets.",
        discussion: """
            One query at a time, single-threaded walks, as a daemon serves them. Recall is against \
            exact full-dimension search for the same query vector. The queries file is JSONL with \
            "vector" (model space) or "query" (text) per line, e.g. tools/known_item.py's title queries.

            Example:  mrl-bench ann --index debian-ref --queries tools/bench/out/debian-titles.jsonl
                      mrl-bench ann --index filter-debian --filtered tools/bench/out/filter-debian-eval.jsonl --limit 200
            """)

    @Option(name: .customLong("index"), help: "Name of the index, opened in this process (beside a daemon that holds it, too).")
    var name: String

    @Option(help: "Folder holding the indexes (default: $MRL_DATA, or indexes/).")
    var data: String?

    @Option(help: "JSONL queries: {\"vector\": [...]} or {\"query\": \"text\"} (a relevant_id is not needed).")
    var queries: String = ""

    @Option(help: "How many queries to use (with --filtered: of each kind).")
    var limit = 1000

    @Option(help: "How many queries of the file to skip first (to keep apart the queries that choose and those that measure).")
    var skip = 0

    @Option(help: "Instead of the tables, write per query the exact top k and, per beam of --efs, the hits, scores and distance computations, as JSONL to this file (what tools/bench/adaptive_beam.py reads).")
    var perQuery: String?

    @Option(help: "Beam widths for --per-query.")
    var efs = IntList(argument: "10,16,24,32,48,64,96,128,192,256,384")!

    @Option(help: "JSONL filtered queries: {\"vector\": [...], \"filter\": {...}} (\"kind\" groups them), e.g. tools/bench/filter_data.py's. Instead of the plan sweep, every filter strategy and the planner's choice on each, QPS and recall@k per kind.")
    var filtered: String?

    @Option(name: .short, help: "Results per query.")
    var k = 10

    @Option(help: "Budgets in ms for the budget sweep, comma-separated.")
    var budgets = "0.1,0.2,0.5,1,2,5"

    @Flag(help: "Print results as JSON.")
    var json = false

    func validate() throws {
        if queries.isEmpty == (filtered == nil) { throw ValidationError("give one of --queries and --filtered") }
    }

    func run() throws {
        let index = try Index.open(name: name, in: DataDirectory(path: data), mode: .read)
        if let filtered { return try runFiltered(index, path: filtered) }
        let budgetList = budgets.split(separator: ",").compactMap { Double($0) }
        let vectors = try index.queryVectors(Array(KnownItemQuery.read(path: queries, requiringRelevant: false).dropFirst(skip).prefix(limit)))
        if let perQuery { return try writePerQuery(index, vectors: vectors, to: perQuery) }
        let plans = try index.measurePlans(rawQueries: vectors, k: k)
        guard !plans.isEmpty else { throw ValidationError("index \(name) has no graph: build one with `mrl graph --index \(name)`") }
        let truth = try vectors.map { v in Set(try index.search(SearchRequest(vector: v, k: k, dims: index.manifest.dimensions)).hits.map(\.id)) }
        let presets = try index.costModel()?.presets.map(\.name) ?? []
        let asks = budgetList.map { Ask(label: String(format: "%g ms", $0), budget: $0, preset: nil) }
            + presets.map { Ask(label: $0, budget: nil, preset: $0) }
        var byPlan: [String: PlanTally] = [:]
        let sweep = try asks.map { ask in try row(index, ask, vectors: vectors, truth: truth, byPlan: &byPlan) }
        let planRows = byPlan.sorted { $0.value.queries > $1.value.queries }
        if json {
            printJSON(["index": .string(name), "queries": JSON(vectors.count), "k": JSON(k),
                       "plans": .array(plans.map(\.json)), "budgets": .array(sweep.map(\.json)),
                       "plans_run": .array(planRows.map { ["plan": .string($0.key), "queries": JSON($0.value.queries),
                                                          "predicted_recall": JSON($0.value.predicted), "realized_recall": .number($0.value.realized)] })])
            return
        }
        print("\(name): \(vectors.count) queries, recall@\(k) against exact \(index.manifest.dimensions)-d search, 1 thread per query")
        print(planTable(plans).render())
        print("")
        var table = Table(header: ["asked", "recall", "predicted", "p50 ms", "p99 ms", "p99 ≤ budget", "partial", "plan chosen most"],
                          rightAligned: Set(0..<7))
        for row in sweep {
            table.rows.append([row.ask.label, String(format: "%.3f", row.recall), row.predicted.map { String(format: "%.3f", $0) } ?? "-",
                               String(format: "%.3f", row.p50), String(format: "%.3f", row.p99),
                               row.ask.budget.map { row.p99 <= $0 ? "yes" : "no" } ?? "", "\(row.partial)", row.plan])
        }
        print(table.render())
        print("")
        var predictions = Table(header: ["plan run", "queries", "predicted recall", "realized recall", "difference"], rightAligned: Set(1..<5))
        for (plan, tally) in planRows {
            predictions.rows.append([plan, "\(tally.queries)", tally.predicted.map { String(format: "%.3f", $0) } ?? "-",
                                     String(format: "%.3f", tally.realized),
                                     tally.predicted.map { String(format: "%+.3f", tally.realized - $0) } ?? "-"])
        }
        print(predictions.render())
    }

    /// What a row of the sweep asks for: a budget, or a preset.
    private struct Ask {
        var label: String, budget: Double?, preset: String?
    }

    /// The answers of one plan over the whole sweep: what it predicted, what it realized.
    private struct PlanTally {
        var queries = 0, found = 0, k = 10
        var predicted: Double?
        var realized: Double { Double(found) / Double(max(queries * k, 1)) }
    }

    private struct Row {
        var ask: Ask, recall: Double, predicted: Double?, p50: Double, p99: Double, partial: Int, plan: String
        var json: JSON {
            .object(dropping: ["budget_ms": ask.budget.map(JSON.number), "preset": ask.preset.map(JSON.string), "recall": .number(recall),
                               "predicted_recall": predicted.map(JSON.number), "p50_ms": .number(p50), "p99_ms": .number(p99),
                               "partial": JSON(partial), "plan": .string(plan)])
        }
    }

    private func row(_ index: Index, _ ask: Ask, vectors: [[Float]], truth: [Set<String>], byPlan: inout [String: PlanTally]) throws -> Row {
        var times: [Double] = [], found = 0, partial = 0, predicted: [Double] = []
        var plans: [String: Int] = [:]
        for (q, vector) in vectors.enumerated() {
            let result = try index.search(SearchRequest(vector: vector, k: k, budgetMs: ask.budget, preset: ask.preset))
            times.append(result.tookMs)
            let hits = result.hits.filter { truth[q].contains($0.id) }.count
            found += hits
            partial += result.partial ? 1 : 0
            plans[result.plan.summary, default: 0] += 1
            if let p = result.predictedRecall { predicted.append(p) }
            byPlan[result.plan.summary, default: PlanTally(k: k)].queries += 1
            byPlan[result.plan.summary]?.found += hits
            byPlan[result.plan.summary]?.predicted = result.predictedRecall
        }
        times.sort()
        return Row(ask: ask, recall: Double(found) / Double(vectors.count * k),
                   predicted: predicted.isEmpty ? nil : predicted.reduce(0, +) / Double(predicted.count),
                   p50: quantile(times, 0.5), p99: quantile(times, 0.99), partial: partial,
                   plan: plans.max { $0.value < $1.value }?.key ?? "-")
    }

    /// One JSONL line per query: the exact top k, and each fixed beam's answer (full-dimension
    /// rescored hits with their scores, and the distance computations it took).
    private func writePerQuery(_ index: Index, vectors: [[Float]], to path: String) throws {
        var lines: [String] = []
        for vector in vectors {
            let exact = try index.search(SearchRequest(vector: vector, k: k, dims: index.manifest.dimensions))
            let walks: [JSON] = try efs.values.map { ef in
                let result = try index.search(SearchRequest(vector: vector, k: k, ef: ef))
                return ["ef": JSON(ef), "ids": .array(result.hits.map { .string($0.id) }),
                        "scores": .array(result.hits.map { .float($0.score) }), "dc": JSON(result.distanceComputations)]
            }
            lines.append(JSON.object(["exact": .array(exact.hits.map { .string($0.id) }), "walks": .array(walks)]).serialized)
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}
