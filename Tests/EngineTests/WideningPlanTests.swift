import Engine
import Foundation
import Search
import TestSupport
import XCTest

/// Plans that widen their beam per query: the narrow beam's answer for a query it serves
/// well, the wide beam's for one whose k-th hit is far; offered by calibration, and taken by
/// a preset only where they measure better.
final class WideningPlanTests: XCTestCase {
    /// Queries near the documents (a narrow beam finds them) and queries the graph's prefix
    /// says little of (it does not).
    private func mixedQueries(_ docs: [DocumentInput], count: Int) -> [[Float]] {
        docs.prefix(count / 2).map { $0.vector!.map { $0 + 0.01 } } + ClusteredCorpus.blindQueries(count - count / 2, seed: 31)
    }

    /// Stores a cost model whose only plan is `plan`, preset "w".
    private func presetW(_ plan: SearchPlan, in index: Index) throws {
        let builtAt = try XCTUnwrap(try index.store.read { try $0.graphRecord() }?.builtAt)
        let measured = PlanMeasurement(plan: plan, recall: 0.9, meanMs: 0.1, p50Ms: 0.1, p99Ms: 0.2, meanDistanceComputations: 500)
        try index.store.putMeta("cost_model", CostModel(k: 10, queries: 1, graphBuiltAt: builtAt, measurements: [measured],
                                                        presets: [Preset(name: "w", goal: .recall(0.9), measurement: measured)]))
    }

    func testAWideningPlanAnswersWithItsNarrowBeamOrItsWideOne() throws {
        let docs = ClusteredCorpus.documents(6_000)
        let index = try makeClusteredIndex(docs)
        try buildClusteredGraph(index)
        let queries = mixedQueries(docs, count: 60)
        let kth = try queries.map { Double(try index.search(SearchRequest(vector: $0, k: 10, ef: 16)).hits[9].score) }
        let below = kth.sorted()[kth.count / 2]
        try presetW(SearchPlan(graphDims: ClusteredCorpus.graphDims, ef: 16, stages: [.init(dims: ClusteredCorpus.dims, keep: 10)],
                               earlyExit: nil, exact: false, widen: .init(ef: 96, below: below)), in: index)
        var widened = 0
        for (q, query) in queries.enumerated() {
            let answer = try index.search(SearchRequest(vector: query, k: 10, preset: "w"))
            let narrow = try index.search(SearchRequest(vector: query, k: 10, ef: 16))
            let wide = try index.search(SearchRequest(vector: query, k: 10, ef: 96))
            XCTAssertEqual(answer.widened, kth[q] < below, "query \(q): widened exactly when its k-th hit scores below the threshold")
            let expected = answer.widened ? wide : narrow
            XCTAssertEqual(answer.hits.map(\.id), expected.hits.map(\.id), "query \(q)")
            XCTAssertEqual(answer.hits.map(\.score), expected.hits.map(\.score), "query \(q)")
            if answer.widened {
                XCTAssertLessThanOrEqual(answer.distanceComputations, wide.distanceComputations + 16, "query \(q): the wide walk goes on from the narrow one")
            } else {
                XCTAssertEqual(answer.distanceComputations, narrow.distanceComputations, "query \(q): a narrow answer costs the narrow plan")
            }
            // The answer says whether it widened, and says so through a daemon's client too.
            XCTAssertEqual(answer.json["plan"]?["widened"], .bool(answer.widened))
            let relayed = try XCTUnwrap(SearchResult(json: answer.json))
            XCTAssertEqual([relayed.plan, "\(relayed.widened)"] as [AnyHashable], [answer.plan, "\(answer.widened)"])
            widened += answer.widened ? 1 : 0
        }
        XCTAssertEqual(widened, kth.filter { $0 < below }.count)
        XCTAssertGreaterThan(widened, 0)
        XCTAssertLessThan(widened, queries.count)
        let fixed = try index.search(SearchRequest(vector: queries[0], k: 10, ef: 16))
        XCTAssertNil(fixed.json["plan"]?["widened"], "a plan that cannot widen does not say it did not")
    }

    func testCalibrationOffersWideningPlansAndPresetsTakeThemOnlyWhereTheyMeasureBetter() throws {
        let docs = ClusteredCorpus.documents(5_000)
        let index = try makeClusteredIndex(docs)
        try buildClusteredGraph(index)
        let queries = mixedQueries(docs, count: 200)
        let model = try XCTUnwrap(try index.tune(queries: queries, seed: 2))
        let widening = model.measurements.filter { $0.plan.widen != nil }
        XCTAssertFalse(widening.isEmpty, "calibration measures widening plans")
        let (choosing, _) = Index.heldOutSplit(queries, seed: 2)
        for m in widening {
            let plan = m.plan, widen = try XCTUnwrap(plan.widen)
            XCTAssertEqual([plan.stages.count, widen.ef > (plan.ef ?? 0) ? 1 : 0], [1, 1], "\(plan)")
            // The threshold is a quantile of the choosing queries' k-th scores under the narrow walk.
            let kth = try choosing.map { Double(try index.search(SearchRequest(vector: $0, k: 10, ef: plan.ef)).hits[9].score) }
            let share = Double(kth.filter { $0 < widen.below }.count) / Double(kth.count)
            XCTAssertTrue((0.2...0.55).contains(share), "\(share) of the choosing queries widen under \(plan)")
        }
        // A preset's plan is the cheapest walk that meets its goal: a widening one only when no fixed beam is cheaper.
        // Compared on the choosing half's measurements, which chose it (the preset's own is the held-out half's).
        for preset in model.presets where preset.measurement.plan.widen != nil {
            guard case .recall(let target) = preset.goal else { continue }
            let chosen = try XCTUnwrap(model.measurements.first { $0.plan == preset.measurement.plan })
            let cheaperFixed = model.measurements.filter { !$0.plan.exact && $0.plan.widen == nil && $0.reaches(target) && $0.meanMs < chosen.meanMs }
            XCTAssertEqual(cheaperFixed, [], preset.name)
        }
    }

    func testAWideningPlanRoundTripsThroughJSON() throws {
        let plan = SearchPlan(graphDims: 128, ef: 64, stages: [.init(dims: 384, keep: 10)], earlyExit: nil, exact: false,
                              widen: .init(ef: 192, below: 0.4375))
        XCTAssertEqual(plan.json["widen"], ["ef": 192, "below": 0.4375])
        XCTAssertEqual(try SearchPlan(json: try JSON.parse(plan.json.serialized)), plan)
        var narrow = plan
        narrow.widen = nil
        XCTAssertNil(narrow.json["widen"], "plans that do not widen read and write as before")
        XCTAssertEqual(plan.adapted(to: 200).widen, nil, "a beam raised to k past the wide one has nothing to widen to")
        XCTAssertEqual(plan.adapted(to: 100).widen, plan.widen)
    }
}
