import Foundation
import Search

/// Measured plans as `mrl graph`, `mrl tune` and `mrl-bench ann` show them: one row per plan.
package func planTable(_ measurements: [PlanMeasurement]) -> Table {
    var table = Table(header: ["plan", "recall", "mean ms", "p50 ms", "p99 ms", "QPS", "distances"], rightAligned: Set(1..<7))
    for m in measurements {
        table.rows.append([m.plan.summary, String(format: "%.3f", m.recall), String(format: "%.3f", m.meanMs),
                           String(format: "%.3f", m.p50Ms), String(format: "%.3f", m.p99Ms),
                           Int(1000 / max(m.meanMs, 1e-6)).formatted(), Int(m.meanDistanceComputations).formatted()])
    }
    return table
}

extension SearchPlan {
    /// One line for people: "graph 64d ef 48 → 384d keep 10", "… (widens to ef 192 below 0.548)" when
    /// it widens, or "exact 384d"; a filtered search's ends with how it served the filter.
    package var summary: String {
        let stages = self.stages.map { "\($0.dims)d keep \($0.keep)" }.joined(separator: " → ")
        let filtered = filter.map { " (filter: \($0.strategy.rawValue), \($0.matching) rows match)" } ?? ""
        guard !exact, let graphDims, let ef else { return "exact " + stages + filtered }
        return "graph \(graphDims)d ef \(ef) → " + stages + (earlyExit.map { String(format: " (exit at margin %.3f)", $0) } ?? "")
            + (widen.map { String(format: " (widens to ef %d below %.3f)", $0.ef, $0.below) } ?? "") + filtered
    }
}
