import ArgumentParser
import Engine
import Foundation
import Search
import Terminal

/// `mrl-bench ann --filtered FILE`: each filtered query answered by every strategy and by the
/// planner's choice, timed one at a time; recall@k against the exact scan of the matching rows
/// (the exact 384-d search the strategies approximate), per kind of filter.
struct FilteredQuery {
    var vector: [Float]
    var filter: Filter
    /// The line's "kind" (e.g. "random-1%", "correlated"), what the table groups by.
    var kind: String

    /// JSONL lines of {"vector": [...], "filter": {...}}, "kind" optional; the first `limit` of each kind.
    static func read(path: String, limit: Int) throws -> [FilteredQuery] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var queries: [FilteredQuery] = [], perKind: [String: Int] = [:]
        for (number, line) in text.split(separator: "\n").enumerated() {
            let json = try JSON.parse(String(line))
            guard let vector = json["vector"]?.array?.compactMap(\.float), let given = json["filter"] else {
                throw ValidationError("\(path):\(number + 1): a line needs \"vector\" (numbers) and \"filter\"")
            }
            let filter: Filter
            do {
                filter = try Filter(json: given)
            } catch {
                throw ValidationError("\(path):\(number + 1): \(error)")
            }
            let kind = json["kind"]?.string ?? "all"
            let seen = perKind[kind, default: 0] + 1
            perKind[kind] = seen
            if seen <= limit { queries.append(FilteredQuery(vector: vector, filter: filter, kind: kind)) }
        }
        return queries
    }
}

/// What one row of the table runs: the planner's choice, one strategy, the exact scan of the
/// matching rows at full dimensions (the truth), or the queries without their filters. The
/// last two are what a filtered search's time is compared with.
private enum Arm: Equatable {
    case planner, forced(FilterChoice.Strategy), exact, unfiltered

    static let all = [planner] + FilterChoice.Strategy.allCases.map(forced) + [exact, unfiltered]

    var name: String {
        switch self {
        case .planner: "planner"
        case .forced(let strategy): strategy.rawValue
        case .exact: "exact 384-d"
        case .unfiltered: "unfiltered"
        }
    }
}

/// One arm's searches of a kind: their times, and the hits of the truth they found.
private struct ArmRecord {
    var times: [Double] = [], found = 0, expected = 0, chosen: [String: Int] = [:]

    mutating func record(_ result: SearchResult, truth: Set<String>) {
        times.append(result.tookMs)
        found += result.hits.filter { truth.contains($0.id) }.count
        expected += truth.count
        chosen[result.plan.filter?.strategy.rawValue ?? "-", default: 0] += 1
    }
}

extension AnnBench {
    /// The strategies' table for the queries of `path`: per kind and strategy (the planner's
    /// choice first, the baselines last), the median of matching rows, QPS, mean, p50 and p99
    /// ms, recall@k, and the median over queries of the search's time over the better
    /// baseline's for the same query (the exact scan of the matching rows, or the unfiltered
    /// plan). The planner's search takes turns with each baseline, query by query in a
    /// shuffled order, so that a neighbour's burst on a shared machine falls on both alike (run
    /// one after the other, their p50s moved by up to a third between runs): first with the
    /// unfiltered plan (the planner's row shows those times), then with the exact scan, and
    /// its ratio is over the baseline it compares worst with. Apart, as no search of a daemon
    /// reads 9 MB of vectors between two others (the exact scan of 10% of the Debian rows),
    /// nor the walk of a forced strategy. The other arms run one after another, after them.
    func runFiltered(_ index: Index, path: String) throws {
        let queries = try FilteredQuery.read(path: path, limit: limit)
        var rows: [JSON] = []
        var table = Table(header: ["filter", "matching", "strategy", "QPS", "mean ms", "p50 ms", "p99 ms", "recall@\(k)", "× baseline", "chosen"],
                          rightAligned: [1, 3, 4, 5, 6, 7, 8])
        var rng = SplitMix64(seed: 20)
        for kind in queries.map(\.kind).uniqued() {
            let picked = queries.indices.filter { queries[$0].kind == kind }
            func search(_ q: Int, _ arm: Arm) throws -> SearchResult {
                var request = SearchRequest(vector: queries[q].vector, k: k)
                switch arm {
                case .unfiltered: return try index.search(request)
                case .exact: request.dims = index.manifest.dimensions
                default: break
                }
                request.filter = queries[q].filter
                if case .forced(let strategy) = arm { return try index.search(request, matching: nil, strategy: strategy) }
                return try index.search(request)
            }
            let truth = try picked.map { q in Set(try search(q, .exact).hits.map(\.id)) }
            // Untimed: what a search makes once per field and committed state (the field
            // columns, a field's ordered codes), which the daemon's upkeep makes after a write.
            for arm in Arm.all { _ = try picked.first.map { try search($0, arm) } }
            var records: [String: ArmRecord] = [:], counts: [Double] = [], plannerBesideExact: [Double] = []
            func run(_ arm: Arm, _ i: Int) throws {
                let result = try search(picked[i], arm)
                records[arm.name, default: ArmRecord()].record(result, truth: truth[i])
                if arm == .exact { counts.append(Double(result.plan.filter?.matching ?? 0)) }
            }
            for i in picked.indices {
                for arm in [Arm.planner, .unfiltered].shuffled(using: &rng) { try run(arm, i) }
            }
            for i in picked.indices {
                for arm in [Arm.planner, .exact].shuffled(using: &rng) {
                    if arm == .planner { plannerBesideExact.append(try search(picked[i], .planner).tookMs) } else { try run(arm, i) }
                }
            }
            for arm in Arm.all where ![.planner, .unfiltered, .exact].contains(arm) {
                for i in picked.indices { try run(arm, i) }
            }
            counts.sort()
            let (exact, unfiltered) = (records[Arm.exact.name, default: ArmRecord()].times, records[Arm.unfiltered.name, default: ArmRecord()].times)
            for arm in Arm.all {
                let record = records[arm.name, default: ArmRecord()]
                let times = record.times.sorted()
                let mean = times.reduce(0, +) / Double(max(times.count, 1))
                let ratios = arm == .planner
                    ? picked.indices.map { max(record.times[$0] / max(unfiltered[$0], 1e-9), plannerBesideExact[$0] / max(exact[$0], 1e-9)) }
                    : picked.indices.map { record.times[$0] / max(min(unfiltered[$0], exact[$0]), 1e-9) }
                let ratio = quantile(ratios.sorted(), 0.5)
                // The unfiltered plan answers another question: its recall against the filtered truth means nothing.
                let recall: Double? = arm == .unfiltered ? nil : Double(record.found) / Double(max(record.expected, 1))
                let mix = record.chosen.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                table.rows.append([kind, String(format: "%.0f", quantile(counts, 0.5)), arm.name, String(format: "%.0f", 1000 / mean),
                                   String(format: "%.3f", mean), String(format: "%.3f", quantile(times, 0.5)), String(format: "%.3f", quantile(times, 0.99)),
                                   recall.map { String(format: "%.3f", $0) } ?? "-", String(format: "%.2f", ratio), arm == .planner ? mix : ""])
                rows.append(["kind": .string(kind), "matching_median": .number(quantile(counts, 0.5)), "strategy": .string(arm.name),
                             "qps": .number(1000 / mean), "mean_ms": .number(mean), "p50_ms": .number(quantile(times, 0.5)),
                             "p99_ms": .number(quantile(times, 0.99)), "recall": JSON(recall), "ratio_to_baseline_median": .number(ratio),
                             "chosen": .string(mix)])
            }
        }
        if json { return printJSON(["index": .string(name), "queries": JSON(queries.count), "k": JSON(k), "filtered": .array(rows)]) }
        print("\(name): \(queries.count) filtered queries, recall@\(k) against the exact \(index.manifest.dimensions)-d scan of the matching rows, 1 query at a time")
        print("× baseline: the median over queries of the time over the better of the exact scan and the unfiltered plan on the same query (the planner's timed in turns with each)")
        print(table.render())
    }
}

extension Sequence where Element: Hashable {
    /// The elements in order of first appearance, each once.
    fileprivate func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
