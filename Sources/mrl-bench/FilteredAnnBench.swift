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

/// What one row of the table runs: the planner's choice, one strategy, or the queries without
/// their filters (what a filtered search's time is compared with).
private enum Arm {
    case planner, forced(FilterChoice.Strategy), unfiltered

    static let all = [planner] + FilterChoice.Strategy.allCases.map(forced) + [unfiltered]

    var name: String {
        switch self {
        case .planner: "planner"
        case .forced(let strategy): strategy.rawValue
        case .unfiltered: "unfiltered"
        }
    }
}

extension AnnBench {
    /// The strategies' table for the queries of `path`: per kind and strategy (the planner's
    /// choice first, the unfiltered plan last), the median of matching rows, QPS, mean, p50
    /// and p99 ms, recall@k. The p50 is what to compare on a shared machine: a neighbour's
    /// burst moves the mean of a few hundred searches by tens of percent.
    func runFiltered(_ index: Index, path: String) throws {
        let queries = try FilteredQuery.read(path: path, limit: limit)
        var rows: [JSON] = []
        var table = Table(header: ["filter", "matching", "strategy", "QPS", "mean ms", "p50 ms", "p99 ms", "recall@\(k)", "chosen"],
                          rightAligned: [1, 3, 4, 5, 6, 7])
        for kind in queries.map(\.kind).uniqued() {
            let picked = queries.indices.filter { queries[$0].kind == kind }
            func search(_ q: Int, _ arm: Arm) throws -> SearchResult {
                var request = SearchRequest(vector: queries[q].vector, k: k)
                if case .unfiltered = arm {} else { request.filter = queries[q].filter }
                if case .forced(let strategy) = arm { return try index.search(request, matching: nil, strategy: strategy) }
                return try index.search(request)
            }
            let exact = try picked.map { q in  // the exact 384-d scan of the matching rows
                var request = SearchRequest(vector: queries[q].vector, k: k, dims: index.manifest.dimensions)
                request.filter = queries[q].filter
                return try index.search(request)
            }
            let truth = exact.map { Set($0.hits.map(\.id)) }
            let counts = exact.map { Double($0.plan.filter?.matching ?? 0) }.sorted()
            for arm in Arm.all {
                // Untimed: what a search makes once per field and committed state (the field
                // columns, a field's ordered codes), which the daemon's upkeep makes after a write.
                _ = try picked.first.map { try search($0, arm) }
                var times: [Double] = [], found = 0, expected = 0, chosen: [String: Int] = [:]
                for (i, q) in picked.enumerated() {
                    let result = try search(q, arm)
                    times.append(result.tookMs)
                    found += result.hits.filter { truth[i].contains($0.id) }.count
                    expected += truth[i].count
                    chosen[result.plan.filter?.strategy.rawValue ?? "-", default: 0] += 1
                }
                times.sort()
                let mean = times.reduce(0, +) / Double(max(times.count, 1))
                // The unfiltered plan answers another question: its recall against the filtered truth means nothing.
                let recall: Double? = if case .unfiltered = arm { nil } else { Double(found) / Double(max(expected, 1)) }
                let name = arm.name
                let mix = chosen.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                table.rows.append([kind, String(format: "%.0f", quantile(counts, 0.5)), name, String(format: "%.0f", 1000 / mean),
                                   String(format: "%.3f", mean), String(format: "%.3f", quantile(times, 0.5)), String(format: "%.3f", quantile(times, 0.99)),
                                   recall.map { String(format: "%.3f", $0) } ?? "-", name == "planner" ? mix : ""])
                rows.append(["kind": .string(kind), "matching_median": .number(quantile(counts, 0.5)), "strategy": .string(name),
                             "qps": .number(1000 / mean), "mean_ms": .number(mean), "p50_ms": .number(quantile(times, 0.5)),
                             "p99_ms": .number(quantile(times, 0.99)),
                             "recall": JSON(recall), "chosen": .string(mix)])
            }
        }
        if json { return printJSON(["index": .string(name), "queries": JSON(queries.count), "k": JSON(k), "filtered": .array(rows)]) }
        print("\(name): \(queries.count) filtered queries, recall@\(k) against the exact \(index.manifest.dimensions)-d scan of the matching rows, 1 query at a time")
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
