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
            """)

    @Option(name: .customLong("index"), help: "Name of the index, opened in this process (beside a daemon that holds it, too).")
    var name: String

    @Option(help: "Folder holding the indexes (default: $MRL_DATA, or indexes/).")
    var data: String?

    @Option(help: "JSONL queries: {\"vector\": [...]} or {\"query\": \"text\"} (a relevant_id is not needed).")
    var queries: String

    @Option(help: "How many queries to use.")
    var limit = 1000

    @Option(name: .short, help: "Results per query.")
    var k = 10

    @Option(help: "Budgets in ms for the budget sweep, comma-separated.")
    var budgets = "0.1,0.2,0.5,1,2,5"

    @Flag(help: "Print results as JSON.")
    var json = false

    func run() throws {
        let index = try Index.open(name: name, in: DataDirectory(path: data), mode: .read)
        let budgetList = budgets.split(separator: ",").compactMap { Double($0) }
        let vectors = try KnownItemQuery.read(path: queries, requiringRelevant: false).prefix(limit).vectors()
        let plans = try index.measurePlans(rawQueries: vectors, k: k)
        guard !plans.isEmpty else { throw ValidationError("index \(name) has no graph: build one with `mrl graph --index \(name)`") }
        let truth = try vectors.map { v in Set(try index.search(SearchRequest(vector: v, k: k, dims: index.manifest.dimensions)).hits.map(\.id)) }
        let sweep = try budgetList.map { budget in try budgetRow(index, budget: budget, vectors: vectors, truth: truth) }
        if json {
            printJSON(["index": .string(name), "queries": JSON(vectors.count), "k": JSON(k),
                       "plans": .array(plans.map(\.json)), "budgets": .array(sweep.map(\.json))])
            return
        }
        print("\(name): \(vectors.count) queries, recall@\(k) against exact \(index.manifest.dimensions)-d search, 1 thread per query")
        print(planTable(plans).render())
        print("")
        var table = Table(header: ["budget ms", "recall", "p50 ms", "p99 ms", "p99 ≤ budget", "partial", "plan chosen most"],
                          rightAligned: Set(0..<6))
        for row in sweep {
            table.rows.append([String(format: "%g", row.budget), String(format: "%.3f", row.recall), String(format: "%.3f", row.p50),
                               String(format: "%.3f", row.p99), row.p99 <= row.budget ? "yes" : "no", "\(row.partial)", row.plan])
        }
        print(table.render())
    }

    private struct BudgetRow {
        var budget: Double, recall: Double, p50: Double, p99: Double, partial: Int, plan: String
        var json: JSON {
            ["budget_ms": .number(budget), "recall": .number(recall), "p50_ms": .number(p50), "p99_ms": .number(p99),
             "partial": JSON(partial), "plan": .string(plan)]
        }
    }

    private func budgetRow(_ index: Index, budget: Double, vectors: [[Float]], truth: [Set<String>]) throws -> BudgetRow {
        var times: [Double] = [], found = 0, partial = 0
        var plans: [String: Int] = [:]
        for (q, vector) in vectors.enumerated() {
            let result = try index.search(SearchRequest(vector: vector, k: k, budgetMs: budget))
            times.append(result.tookMs)
            found += result.hits.filter { truth[q].contains($0.id) }.count
            partial += result.partial ? 1 : 0
            plans[result.plan.summary, default: 0] += 1
        }
        times.sort()
        return BudgetRow(budget: budget, recall: Double(found) / Double(vectors.count * k), p50: quantile(times, 0.5),
                         p99: quantile(times, 0.99), partial: partial,
                         plan: plans.max { $0.value < $1.value }!.key)
    }
}
