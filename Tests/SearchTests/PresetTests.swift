import Search
import XCTest

/// Presets are chosen from measurements by their goal; a goal no plan meets gets the closest.
final class PresetTests: XCTestCase {
    func measurement(ef: Int, recall: Double, meanMs: Double, p99Ms: Double) -> PlanMeasurement {
        PlanMeasurement(plan: SearchPlan(graphDims: 64, ef: ef, stages: [.init(dims: 384, keep: 10)], earlyExit: nil, exact: false),
                        recall: recall, meanMs: meanMs, p50Ms: meanMs, p99Ms: p99Ms, meanDistanceComputations: Double(ef * 10))
    }

    func testGoalsPickTheCheapestThatMeetsThemOrTheClosest() throws {
        let plans = [measurement(ef: 16, recall: 0.88, meanMs: 0.05, p99Ms: 0.09),
                     measurement(ef: 32, recall: 0.93, meanMs: 0.08, p99Ms: 0.12),
                     measurement(ef: 48, recall: 0.96, meanMs: 0.11, p99Ms: 0.20),
                     measurement(ef: 64, recall: 0.96, meanMs: 0.14, p99Ms: 0.18),
                     measurement(ef: 128, recall: 0.985, meanMs: 0.25, p99Ms: 0.40)]
        let exact = PlanMeasurement(plan: .exact(dims: 384, k: 10), recall: 1, meanMs: 5, p50Ms: 5, p99Ms: 9, meanDistanceComputations: 60_000)
        let all = plans + [exact]

        XCTAssertEqual(Preset.choose(.recall(0.95), among: all)?.0.plan.ef, 48, "the cheaper by mean of the two reaching 0.95")
        XCTAssertEqual(Preset.choose(.budget(0.19), among: all)?.0.plan.ef, 64, "the best recall with p99 within 0.19 ms")
        let unreachable = try XCTUnwrap(Preset.choose(.budget(0.01), among: all))
        XCTAssertEqual(unreachable.0.plan.ef, 16)
        XCTAssertFalse(unreachable.met)

        let builtIns = Preset.chosen(for: Preset.builtInGoals, from: all)
        XCTAssertEqual(builtIns.map(\.name), ["fast", "balanced", "accurate"])
        XCTAssertEqual(builtIns.map(\.measurement.plan.ef), [32, 48, nil], "graph plans where one meets the goal")
        XCTAssertTrue(builtIns[2].measurement.plan.exact, "no beam reaches 0.99: the exact scan keeps accurate's promise")
        let walksOnly = Preset.chosen(for: Preset.builtInGoals, from: plans)
        XCTAssertEqual(walksOnly.last?.measurement.plan.ef, 128, "without a plan that meets it, the closest")
        let (closest, met) = try XCTUnwrap(Preset.choose(.recall(0.99), among: plans))
        XCTAssertEqual(closest.plan.ef, 128)
        XCTAssertFalse(met)
    }

    /// A plan measured just at the target realizes less on other queries half of the time: a
    /// recall goal takes the cheapest plan that reaches it by more than its standard error.
    func testARecallGoalIsMetBeyondTheMeasurementsNoise() throws {
        var close = measurement(ef: 32, recall: 0.905, meanMs: 0.08, p99Ms: 0.12)
        close.recallStandardError = 0.01
        let sure = measurement(ef: 48, recall: 0.95, meanMs: 0.11, p99Ms: 0.20)
        XCTAssertEqual(Preset.choose(.recall(0.9), among: [close, sure])?.0.plan.ef, 48)
        close.recallStandardError = 0.004
        XCTAssertEqual(Preset.choose(.recall(0.9), among: [close, sure])?.0.plan.ef, 32)
        let model = CostModel(k: 10, queries: 100, graphBuiltAt: "now", measurements: [close, sure])
        XCTAssertEqual(try CostModel(json: model.json).measurements.first?.recallStandardError, 0.004, "stored with the model")
    }

    func testModelsStoredBeforePresetsGetTheBuiltInOnes() throws {
        let model = CostModel(k: 10, queries: 5, graphBuiltAt: "then", measurements: [measurement(ef: 48, recall: 0.96, meanMs: 0.1, p99Ms: 0.2)])
        var object = try XCTUnwrap(model.json.object)
        object["presets"] = nil
        object["machine"] = nil
        let old = try CostModel(json: .object(object))
        XCTAssertEqual(old.presets.map(\.name), ["fast", "balanced", "accurate"])
        XCTAssertEqual(old.staleness, "measured before machines were recorded")
        XCTAssertNil(model.staleness, "measured here")
    }

    /// The planner reads load from searches' times against their work: a search that walked
    /// twice its plan's mean distance computations in twice its mean time is no sign of load,
    /// one that took twice the time for the mean work is, and narrows the plans a budget buys.
    func testThePlannerTakesLoadFromTimePerWorkNotFromHardQueries() {
        let plans = [measurement(ef: 16, recall: 0.88, meanMs: 0.05, p99Ms: 0.09),
                     measurement(ef: 64, recall: 0.96, meanMs: 0.14, p99Ms: 0.18)]
        let planner = Planner(model: CostModel(k: 10, queries: 100, graphBuiltAt: "1", measurements: plans, presets: []))
        let wide = plans[1]
        XCTAssertEqual(planner.plan(budgetMs: 0.25, k: 10).plan.ef, 64)
        for _ in 0..<50 { planner.observe(wide, tookMs: 2 * wide.meanMs, distanceComputations: Int(2 * wide.meanDistanceComputations)) }
        XCTAssertEqual(planner.currentSlowdown, 1, accuracy: 1e-9, "a hard query on an idle machine")
        XCTAssertEqual(planner.plan(budgetMs: 0.25, k: 10).plan.ef, 64)
        for _ in 0..<50 { planner.observe(wide, tookMs: 2 * wide.meanMs, distanceComputations: Int(wide.meanDistanceComputations)) }
        XCTAssertGreaterThan(planner.currentSlowdown, 1.9, "the mean work in twice the time")
        XCTAssertEqual(planner.plan(budgetMs: 0.25, k: 10).plan.ef, 16, "a loaded machine buys a narrower plan")
    }
}
