import ArgumentParser
import Engine
import Foundation

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure retrieval quality (MRR@10, recall@10/100, nDCG@10) by prefix dimensions.",
        discussion: """
            Runs known-item queries against the index with exact search at each prefix length and
            reports how often, and how high, the relevant document comes back. The queries file is
            JSONL: {"query": "text", "relevant_id": "ID"}, or "vector": [...] in place of "query".
            Queries whose relevant id is not in the index are counted and reported, not scored.
            For the Debian corpus, tools/known_item.py writes such a file (query = title).
            Example:  mrl eval --index debian --queries debian-titles.jsonl
            """)

    @OptionGroup var target: IndexOptions

    @Option(help: "JSONL file of known-item queries (.jsonl, .jsonl.gz, or - for standard input).")
    var queries: String

    @Option(help: "Comma-separated prefix lengths to evaluate (default: every stored prefix).")
    var dims: String?

    @Option(help: "Use only the first N queries.")
    var limit: Int?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
        if let dims, dims.split(separator: ",").contains(where: { Int($0) == nil }) {
            throw ValidationError("--dims must be numbers separated by commas, e.g. 32,64,128")
        }
    }

    func run() throws {
        let index = try target.open(.read)
        var known = try KnownItemQuery.read(path: queries)
        if let limit { known = Array(known.prefix(limit)) }
        guard !known.isEmpty else { throw ValidationError("\(queries) holds no queries") }
        let prefixes = dims.map { $0.split(separator: ",").compactMap { Int($0) } } ?? index.manifest.segmentBoundaries.dropFirst().map { $0 }
        let progress = ProgressDisplay()
        let evaluation = try index.evaluate(known, dims: prefixes) { done, total in
            progress.update(fraction: Double(done) / Double(total), count: done, unit: "searches",
                            plainLine: "\(done) of \(total) searches")
        }
        progress.finish()
        if json {
            printJSON([
                "index": target.index, "head": evaluation.head, "queries": evaluation.queries,
                "missing_relevant": evaluation.missingRelevant,
                "by_dims": evaluation.byDims.map {
                    ["dims": $0.dims, "mrr_at_10": $0.mrrAt10, "recall_at_10": $0.recallAt10,
                     "recall_at_100": $0.recallAt100, "ndcg_at_10": $0.ndcgAt10, "mean_ms": $0.meanMs]
                },
            ])
            return
        }
        let full = evaluation.byDims.max { $0.dims < $1.dims }?.mrrAt10 ?? 0
        var table = Table(header: ["dims", "MRR@10", "of full", "recall@10", "recall@100", "nDCG@10", "mean ms"],
                          rightAligned: Set(0..<7))
        for q in evaluation.byDims {
            table.rows.append(["\(q.dims)", String(format: "%.3f", q.mrrAt10),
                               full > 0 ? String(format: "%.0f%%", q.mrrAt10 / full * 100) : "-",
                               String(format: "%.3f", q.recallAt10), String(format: "%.3f", q.recallAt100),
                               String(format: "%.3f", q.ndcgAt10), String(format: "%.2f", q.meanMs)])
        }
        print("\(target.index): \(evaluation.queries.formatted()) known-item queries, head \(evaluation.head), exact search")
        print(table.render())
        if evaluation.missingRelevant > 0 {
            print("\(evaluation.missingRelevant) queries skipped: their relevant id is not in the index (e.g. \(evaluation.missingExamples.joined(separator: ", ")))")
        }
    }
}
