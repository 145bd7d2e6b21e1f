import Foundation
import Synchronization

/// How one plan did on the sample queries of a calibration.
public struct PlanMeasurement: Equatable, Sendable {
    public var plan: SearchPlan
    /// Recall@k against exact full-dimension search for the same queries.
    public var recall: Double
    public var meanMs: Double
    public var p50Ms: Double
    public var p99Ms: Double
    public var meanDistanceComputations: Double
    /// The standard error of `recall` (the spread of the queries' own recalls over the root of
    /// their number); 0 in models measured before it was recorded.
    public var recallStandardError: Double

    public init(plan: SearchPlan, recall: Double, meanMs: Double, p50Ms: Double, p99Ms: Double, meanDistanceComputations: Double,
                recallStandardError: Double = 0) {
        self.plan = plan
        self.recall = recall
        self.meanMs = meanMs
        self.p50Ms = p50Ms
        self.p99Ms = p99Ms
        self.meanDistanceComputations = meanDistanceComputations
        self.recallStandardError = recallStandardError
    }

    /// Whether the plan reaches `target` recall beyond the noise of its measurement: one
    /// standard error below the measured recall still does. A plan chosen on a bare
    /// measurement at the target realizes less on other queries half of the time.
    public func reaches(_ target: Double) -> Bool { recall - recallStandardError >= target }
}

/// The measured latency and recall of the plans an index can run, stored with the index
/// (meta `cost_model`) by `mrl index`/`mrl tune` and read by the planner.
public struct CostModel: Equatable, Sendable {
    /// The k the plans were measured at.
    public var k: Int
    public var queries: Int
    /// The graph they were measured on (its `builtAt`): a rebuilt graph needs a new model.
    public var graphBuiltAt: String
    public var measuredAt: String
    public var measurements: [PlanMeasurement]
    /// Named plans: the built-in fast/balanced/accurate and any a user tuned for.
    public var presets: [Preset]
    /// Where it was measured (nil: before this was recorded); elsewhere its times are stale.
    public var machine: MachineFingerprint?
    /// What the queries were: "logged queries", "documents" (of the index, as queries), or "a
    /// queries file"; nil in models measured before this was recorded.
    public var querySource: String?
    /// Queries held out of the choice of presets, on which each preset's measurement (its
    /// promised recall) was taken; 0 in models measured before.
    public var heldOut = 0

    public init(k: Int, queries: Int, graphBuiltAt: String, measurements: [PlanMeasurement], presets: [Preset]? = nil) {
        self.k = k
        self.queries = queries
        self.graphBuiltAt = graphBuiltAt
        measuredAt = ISO8601DateFormatter().string(from: Date())
        self.measurements = measurements
        self.presets = presets ?? Preset.chosen(for: Preset.builtInGoals, from: measurements)
        machine = .current
    }

    /// The preset named `name`, if any.
    public func preset(_ name: String) -> Preset? { presets.first { $0.name == name } }

    /// Why its latencies may not hold here, or nil when measured on this machine.
    public var staleness: String? {
        guard let machine else { return "measured before machines were recorded" }
        return machine == .current ? nil : "measured on another machine (\(machine))"
    }

    /// The measurements no other beats on both recall and p99 latency, fastest first.
    public var frontier: [PlanMeasurement] { frontier(by: \.p99Ms) }

    /// The measurements no other beats on both recall and `latency` (p99, or the mean that
    /// peers' QPS compares with), fastest first.
    public func frontier(by latency: KeyPath<PlanMeasurement, Double>) -> [PlanMeasurement] {
        measurements.filter { m in
            !measurements.contains { o in
                (o.recall >= m.recall && o[keyPath: latency] < m[keyPath: latency])
                    || (o.recall > m.recall && o[keyPath: latency] <= m[keyPath: latency])
            }
        }.sorted { $0[keyPath: latency] < $1[keyPath: latency] }
    }
}

/// Picks a plan for a latency budget from a cost model: the best expected recall whose
/// predicted p99, scaled by how slow the machine has recently been against the model, fits
/// in the budget with a safety margin.
///
/// ```swift
/// let planner = Planner(model: model)
/// let (plan, predicted, model) = planner.plan(budgetMs: 1.5, k: 10)
/// planner.observe(measured, tookMs: took, distanceComputations: n)   // adapts to load
/// ```
public final class Planner: Sendable {
    public let model: CostModel
    /// Share of the budget a plan's predicted p99 may use: the rest absorbs noise.
    public static let margin = 0.8
    /// The recall the default plan (no budget, no preset) must reach, at least cost.
    public static let defaultRecall = 0.95
    /// Recent measured ÷ predicted latency, smoothed; 1 on an idle machine like the model's.
    private let slowdown = Mutex(1.0)

    /// The measured exact scan of every live row, if the model has one: what a filter's
    /// scan is predicted from, looked up once rather than per filtered search.
    public let exactScan: PlanMeasurement?

    public init(model: CostModel) {
        self.model = model
        exactScan = model.measurements.first { $0.plan.exact }
    }

    public var currentSlowdown: Double { slowdown.withLock { $0 } }

    /// The plan for `budgetMs` (nil: the default) and k, with its predicted time in ms (the
    /// model's mean scaled by the recent slowdown), the model's measurement of it, and its
    /// predicted recall (see `predictedRecall`).
    public func plan(budgetMs: Double?, k: Int) -> (plan: SearchPlan, predictedMs: Double, measured: PlanMeasurement, recall: Double) {
        let scale = currentSlowdown
        let choices = model.measurements
        let chosen: PlanMeasurement
        if let budgetMs {
            let fitting = choices.filter { $0.p99Ms * scale <= budgetMs * Planner.margin }
            chosen = fitting.max { ($0.recall, -$0.meanMs) < ($1.recall, -$1.meanMs) }
                ?? choices.min { $0.p99Ms < $1.p99Ms }!
        } else {
            chosen = choices.filter { $0.reaches(Planner.defaultRecall) }.min { $0.meanMs < $1.meanMs }
                ?? choices.max { $0.recall < $1.recall }!
        }
        return (chosen.plan.adapted(to: k), chosen.meanMs * scale, chosen, predictedRecall(chosen))
    }

    /// A measured plan's recall@k against exact search: as a preset's held-out half measured
    /// it when it is a preset's plan (the queries that chose it would flatter it), else as
    /// measured.
    public func predictedRecall(_ measured: PlanMeasurement) -> Double {
        model.presets.first { $0.measurement.plan == measured.plan }?.measurement.recall ?? measured.recall
    }

    /// Feeds back a search's measured time against what `measured` (its plan's measurement)
    /// predicts for the work it did, so plans shrink while the machine is loaded and grow back
    /// when it is not. The prediction is scaled by the search's distance computations against
    /// the plan's mean: a query that walks further takes longer on an idle machine too, and
    /// counting that as load gave the plans chosen after such queries more of the hard ones
    /// (on Debian titles in corpus order, ef 16 and ef 24 under a 0.2 ms budget realized
    /// 0.025-0.03 below the recall they measured on random queries).
    public func observe(_ measured: PlanMeasurement, tookMs: Double, distanceComputations: Int) {
        let work = measured.meanDistanceComputations > 0 && distanceComputations > 0
            ? Double(distanceComputations) / measured.meanDistanceComputations : 1
        let modelMs = measured.meanMs * work
        guard modelMs > 0, tookMs.isFinite else { return }
        let ratio = min(max(tookMs / modelMs, 0.5), 20)
        slowdown.withLock { $0 = max(1, 0.9 * $0 + 0.1 * ratio) }
    }
}

extension SearchPlan {
    /// The plan for another k: the walk keeps at least k candidates, the last stage exactly k.
    public func adapted(to k: Int) -> SearchPlan {
        var plan = self
        if let ef { plan.ef = max(ef, k) }
        if let widen = plan.widen, let ef = plan.ef, widen.ef <= ef { plan.widen = nil }
        for s in plan.stages.indices { plan.stages[s].keep = max(plan.stages[s].keep, k) }
        if !plan.stages.isEmpty { plan.stages[plan.stages.count - 1].keep = k }
        return plan
    }
}
