import ArgumentParser
import Engine
import Foundation
import Terminal

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure retrieval quality (MRR@10, recall@10/100, nDCG@10) by prefix dimensions and by preset.",
        discussion: """
            Runs known-item queries against the index with exact search at each prefix length and \
            reports how often, and how high, the relevant document comes back. The queries file is \
            JSONL: {"query": "text", "relevant_id": "ID"}, or "vector": [...] in place of "query". \
            Queries whose relevant id is not in the index are counted and reported, not scored. \
            With a graph, each preset (see `mrl tune`) is scored too: the same measures, its recall@10 \
            against exact full-dimension search, its latency and what it cost against exact search. \
            For the Debian corpus, tools/known_item.py writes such a file (query = title). \
            --compare-heads none,pca,adaptor scores exact search at each prefix under each head side by \
            side, with the shortlist a prefix search must keep to hold 95% of full-dimension search's top \
            10; a head the index does not have is fitted or trained in memory (the index is not changed).
            Examples:
              mrl eval --index debian --queries debian-titles.jsonl
              mrl eval --index debian --queries debian-titles.jsonl --presets balanced --plot quality.svg
              mrl eval --index debian --queries debian-titles.jsonl --compare-heads none,pca,adaptor
            """)

    @OptionGroup var target: IndexOptions

    @Option(help: "JSONL file of known-item queries (.jsonl, .jsonl.gz, or - for standard input).")
    var queries: String

    @Option(help: "Comma-separated prefix lengths to evaluate (default: every stored prefix).")
    var dims: String?

    @Option(help: "Comma-separated presets to score (default: all the index has; \"none\" for none).")
    var presets: String?

    @Option(help: "Write an SVG of MRR@10 and recall@10 by prefix dimensions.")
    var plot: String?

    @Option(help: "\"parent\": score chunks as the document they are of (for indexes made with --chunk or of folders).")
    var groupBy: String?

    @Option(help: "Use only the first N queries.")
    var limit: Int?

    @Option(help: "Compare heads by exact search instead: comma-separated, of none, pca, adaptor.")
    var compareHeads: String?

    @OptionGroup var training: AdaptorOptions

    @Option(help: "Score search modes instead, at their default plans: comma-separated, of semantic, lexical, hybrid.")
    var mode: String?

    @OptionGroup var filter: FilterOptions

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
        if let groupBy, groupBy != "parent" { throw ValidationError("--group-by takes \"parent\"") }
        if let dims, dims.split(separator: ",").contains(where: { Int($0) == nil }) {
            throw ValidationError("--dims must be numbers separated by commas, e.g. 32,64,128")
        }
        if let mode, mode.split(separator: ",").contains(where: { SearchMode(rawValue: String($0)) == nil }) {
            throw ValidationError("--mode takes modes separated by commas, of semantic, lexical, hybrid")
        }
        if compareHeads != nil, filter.filter != nil {
            throw ValidationError("--filter narrows the known-item evaluation; --compare-heads scores every document: give one of them")
        }
        if let compareHeads, compareHeads.split(separator: ",").contains(where: { HeadKind(rawValue: String($0)) == nil }) {
            throw ValidationError("--compare-heads takes heads separated by commas, of none, pca, adaptor")
        }
    }

    func run() throws {
        let index = try target.open(.read)
        var known = try KnownItemQuery.read(path: queries)
        if let limit { known = Array(known.prefix(limit)) }
        guard !known.isEmpty else { throw ValidationError("\(queries) holds no queries") }
        let prefixes = dims.map { $0.split(separator: ",").compactMap { Int($0) } } ?? index.manifest.segmentBoundaries.dropFirst().map { $0 }
        if let compareHeads {
            let kinds = compareHeads.split(separator: ",").compactMap { HeadKind(rawValue: String($0)) }
            return try printComparison(index, known, dims: prefixes, kinds: kinds)
        }
        let stored = try index.costModel()?.presets.map(\.name) ?? []
        let presetNames = presets == "none" ? [] : presets.map { $0.split(separator: ",").map(String.init) } ?? stored
        let modes = mode.map { $0.split(separator: ",").compactMap { SearchMode(rawValue: String($0)) } } ?? []
        let progress = ProgressDisplay()
        let evaluation = try index.evaluate(known, dims: modes.isEmpty ? prefixes : [], presets: modes.isEmpty ? presetNames : [],
                                            modes: modes, groupByParent: groupBy == "parent", filter: try filter.parsed()) { done, total in
            progress.update(fraction: Double(done) / Double(total), count: done, unit: "searches",
                            plainLine: "\(done) of \(total) searches")
        }
        progress.finish()
        if let plot { try qualityChart(evaluation).write(to: plot) }
        if json {
            printJSON(.object([
                "index": .string(target.index), "head": .string(evaluation.head), "queries": JSON(evaluation.queries),
                "missing_relevant": JSON(evaluation.missingRelevant),
                "by_dims": .array(evaluation.byDims.map(\.json)), "by_preset": .array(evaluation.byPreset.map(\.json)),
                "by_mode": .array(evaluation.byMode.map(\.json)),
            ]))
            return
        }
        if !modes.isEmpty { return printModes(evaluation) }
        let full = evaluation.byDims.max { ($0.dims ?? 0) < ($1.dims ?? 0) }?.mrrAt10 ?? 0
        var table = Table(header: ["dims", "MRR@10", "of full", "recall@10", "recall@100", "nDCG@10", "mean ms"],
                          rightAligned: Set(0..<7))
        for q in evaluation.byDims {
            table.rows.append([q.label, String(format: "%.3f", q.mrrAt10),
                               full > 0 ? String(format: "%.0f%%", q.mrrAt10 / full * 100) : "-",
                               String(format: "%.3f", q.recallAt10), String(format: "%.3f", q.recallAt100 ?? 0),
                               String(format: "%.3f", q.ndcgAt10), String(format: "%.2f", q.meanMs)])
        }
        print("\(target.index): \(evaluation.queries.formatted()) known-item queries, head \(evaluation.head), exact search")
        print(table.render())
        if let exact = evaluation.byPreset.last {
            var presets = Table(header: ["preset", "MRR@10", "of exact", "recall@10", "vs exact", "mean ms", "p99 ms", "time", "distances"],
                                rightAligned: Set(1..<9))
            for q in evaluation.byPreset {
                presets.rows.append([q.label, String(format: "%.3f", q.mrrAt10),
                                     String(format: "%.1f%%", q.mrrAt10 / max(exact.mrrAt10, 1e-12) * 100),
                                     String(format: "%.3f", q.recallAt10), String(format: "%.3f", q.recallVsExact ?? 0),
                                     String(format: "%.3f", q.meanMs), String(format: "%.3f", q.p99Ms),
                                     String(format: "%.0f%%", q.meanMs / max(exact.meanMs, 1e-12) * 100),
                                     String(format: "%.1f%%", q.meanDistanceComputations / max(exact.meanDistanceComputations, 1) * 100)])
            }
            print("\nby preset (k = 10; time and distance computations as a share of exact 384-d search's):")
            print(presets.render())
        }
        printMissing(evaluation)
        if let plot { print("wrote \(plot)") }
    }

    private func printModes(_ evaluation: Evaluation) {
        var table = Table(header: ["mode", "MRR@10", "recall@10", "recall@100", "nDCG@10", "mean ms"], rightAligned: Set(1..<6))
        for q in evaluation.byMode {
            table.rows.append([q.label, String(format: "%.3f", q.mrrAt10), String(format: "%.3f", q.recallAt10),
                               String(format: "%.3f", q.recallAt100 ?? 0), String(format: "%.3f", q.ndcgAt10), String(format: "%.2f", q.meanMs)])
        }
        print("\(target.index): \(evaluation.queries.formatted()) known-item queries, head \(evaluation.head), by search mode (default plans)")
        print(table.render())
        printMissing(evaluation)
    }

    private func printMissing(_ evaluation: Evaluation) {
        if evaluation.missingRelevant > 0 {
            print("\(evaluation.missingRelevant) queries skipped: their relevant id is not in the index (e.g. \(evaluation.missingExamples.joined(separator: ", ")))")
        }
    }

    private func printComparison(_ index: Index, _ known: [KnownItemQuery], dims: [Int], kinds: [HeadKind]) throws {
        let progress = ProgressDisplay()
        let comparison = try index.compareHeads(known, dims: dims, kinds: kinds, adaptor: training.options,
                                                pairs: try training.trainingPairs(), trainingQueries: try training.queryGuidance(for: index),
                                                training: progress.trainingStep)
        progress.finish()
        if json {
            printJSON(.object([
                "index": .string(target.index), "queries": JSON(comparison.queries), "missing_relevant": JSON(comparison.missingRelevant),
                "fitted_for_comparison": comparison.fittedForComparison.json,
                "rows": .array(comparison.rows.map { ["head": .string($0.head), "dims": JSON($0.dims), "mrr_at_10": .number($0.mrrAt10),
                                                      "recall_at_10": .number($0.recallAt10), "shortlist_for_95": JSON($0.shortlistFor95)] }),
            ]))
            return
        }
        let heads = kinds.map(\.rawValue)
        let full = Dictionary(comparison.rows.filter { $0.dims == index.manifest.dimensions }.map { ($0.head, $0.mrrAt10) }) { a, _ in a }
        var table = Table(header: ["dims"] + heads.map { "MRR@10 \($0)" } + heads.map { "recall@10 \($0)" } + heads.map { "shortlist \($0)" },
                          rightAligned: Set(0...(3 * heads.count)))
        for m in dims {
            let row = heads.map { head in comparison.rows.first { $0.head == head && $0.dims == m }! }
            table.rows.append(["\(m)"]
                + row.map { r in String(format: "%.3f", r.mrrAt10) + (full[r.head].map { String(format: " (%.0f%%)", r.mrrAt10 / max($0, 1e-12) * 100) } ?? "") }
                + row.map { String(format: "%.3f", $0.recallAt10) } + row.map { $0.shortlistFor95.formatted() })
        }
        print("\(target.index): \(comparison.queries.formatted()) known-item queries, exact search under each head"
              + " (full dimensions score the raw vectors under any head)")
        if !comparison.fittedForComparison.isEmpty {
            print("fitted for this comparison only: \(comparison.fittedForComparison.joined(separator: ", "))")
        }
        print(table.render())
        print("shortlist: candidates a search at that prefix must keep to hold 95% of full-dimension search's top 10")
        if comparison.missingRelevant > 0 { print("\(comparison.missingRelevant) queries skipped: their relevant id is not in the index") }
    }

    private func qualityChart(_ evaluation: Evaluation) -> SVGChart {
        var chart = SVGChart(title: "\(target.index): known-item quality by prefix dimensions (head \(evaluation.head))",
                             xLabel: "prefix dimensions", yLabel: "score")
        chart.series.append(.init(name: "MRR@10", points: evaluation.byDims.map { (Double($0.dims ?? 0), $0.mrrAt10, nil) }, style: .line, color: "#1f4e9c"))
        chart.series.append(.init(name: "recall@10", points: evaluation.byDims.map { (Double($0.dims ?? 0), $0.recallAt10, nil) }, style: .line, color: "#c0392b"))
        return chart
    }
}

extension Quality {
    var json: JSON {
        .object(dropping: ["label": .string(label), "mrr_at_10": .number(mrrAt10), "recall_at_10": .number(recallAt10),
                           "ndcg_at_10": .number(ndcgAt10), "mean_ms": .number(meanMs), "p99_ms": .number(p99Ms),
                           "mean_distance_computations": .number(meanDistanceComputations), "dims": dims.map { JSON($0) },
                           "recall_at_100": recallAt100.map(JSON.number), "recall_vs_exact": recallVsExact.map(JSON.number),
                           "plan": plan?.json])
    }
}
