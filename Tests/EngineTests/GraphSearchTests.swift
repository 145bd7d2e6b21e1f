import Engine
import Foundation
import Search
import Store
import TestSupport
import XCTest

/// The ANN graph inside an index: searched through the funnel, kept current by writes,
/// planned by budget, cut by deadlines, made stale by a change of head.
final class GraphSearchTests: XCTestCase {
    static let dims = ClusteredCorpus.dims

    /// recall@10 of the planned (or `ef`) search against exact full-dimension search.
    private func recall(_ index: Index, _ queries: [[Float]], ef: Int? = 128, excluding gone: Set<String> = []) throws -> Double {
        var found = 0
        for q in queries {
            let exact = Set(try index.search(SearchRequest(vector: q, k: 10, dims: GraphSearchTests.dims)).hits.map(\.id))
            let result = try index.search(SearchRequest(vector: q, k: 10, ef: ef))
            XCTAssertFalse(result.plan.exact, "the graph is used")
            XCTAssertTrue(gone.isDisjoint(with: result.hits.map(\.id)), "a deleted document came back")
            found += result.hits.filter { exact.contains($0.id) }.count
        }
        return Double(found) / Double(queries.count * 10)
    }

    func testGraphSearchFindsWhatExactSearchFindsAndSaysItsPlan() throws {
        let docs = ClusteredCorpus.documents(6_000)
        let index = try makeClusteredIndex(docs)
        let q = docs[17].vector!
        XCTAssertTrue(try index.search(SearchRequest(vector: q, k: 5)).plan.exact, "no graph yet: exact scan")
        try buildClusteredGraph(index)
        XCTAssertEqual(try index.store.read { try $0.graphRecord() }?.nodes, 6_000)

        let result = try index.search(SearchRequest(vector: q, k: 5, ef: 64))
        XCTAssertEqual(result.plan.graphDims, 32)
        XCTAssertEqual(result.plan.ef, 64)
        XCTAssertEqual(result.plan.stages, [.init(dims: 64, keep: 5)])
        XCTAssertEqual(result.hits.first?.id, "d17")
        XCTAssertLessThan(result.distanceComputations, 6_000 / 2, "the walk touches a fraction of the index")
        XCTAssertTrue(try index.search(SearchRequest(vector: q, k: 5, dims: 32)).plan.exact, "dims asks for an exact scan")
        XCTAssertGreaterThan(try recall(index, docs.prefix(150).map { $0.vector!.map { $0 * 1.01 + 0.05 } }), 0.9)
    }

    func testWritesAndDeletesKeepTheGraphCurrent() throws {
        let index = try makeClusteredIndex(ClusteredCorpus.documents(5_000))
        try buildClusteredGraph(index)
        let late = ClusteredCorpus.documents(500, from: 5_000)
        _ = try index.upsert(late)
        XCTAssertEqual(try index.store.read { try $0.graphRecord() }?.nodes, 5_500)
        for doc in late.prefix(50) {
            XCTAssertEqual(try index.search(SearchRequest(vector: doc.vector, k: 1, ef: 64)).hits.first?.id, doc.id)
        }
        // A changed vector moves its node: it is found at its new place.
        var moved = late[0]
        moved.vector = late[1].vector!.map { -$0 }
        _ = try index.upsert([moved])
        XCTAssertEqual(try index.search(SearchRequest(vector: moved.vector, k: 1, ef: 64)).hits.first?.id, moved.id)

        var rng = SplitMix64(seed: 9)
        let all = ClusteredCorpus.documents(5_000) + late
        let gone = Set(all.filter { _ in rng.next() % 10 < 3 }.map(\.id))
        for chunk in stride(from: 0, to: gone.count, by: 500) {
            _ = try index.delete(ids: Array(Array(gone)[chunk..<min(chunk + 500, gone.count)]))
        }
        XCTAssertEqual(try index.store.read { try $0.graphRecord() }?.nodes, 5_500 - gone.count)
        let queries = all.filter { !gone.contains($0.id) }.prefix(150).map { $0.vector!.map { $0 + 0.02 } }
        XCTAssertGreaterThan(try recall(index, Array(queries), excluding: gone), 0.9, "recall holds after deleting 30%")
    }

    /// Plans are calibrated on the index's documents until the query log holds enough real
    /// queries, then on the most recent of those; either way the presets' promises are measured
    /// on a held-out half, not on the queries that chose them, and `info` says which.
    func testCalibrationTakesLoggedQueriesOnceThereAreEnoughAndHoldsHalfOut() throws {
        let docs = ClusteredCorpus.documents(3_000)
        let index = try makeClusteredIndex(docs)
        try buildClusteredGraph(index)
        let fromDocuments = try XCTUnwrap(try index.calibrate(queryCount: 100))
        XCTAssertEqual([fromDocuments.querySource, "\(fromDocuments.heldOut)"], ["documents", "50"])

        // Queries unlike the documents: each between two centres' documents.
        for n in 0..<Index.loggedQueriesForCalibration {
            let a = docs[n].vector ?? [], b = docs[n + 1].vector ?? []
            index.logQuery(vector: zip(a, b).map { ($0 + $1) / 2 }, k: 10, text: nil)
        }
        try index.flushQueryLog()
        let fromLog = try XCTUnwrap(try index.calibrate(queryCount: 200))
        XCTAssertEqual([fromLog.querySource, "\(fromLog.queries)", "\(fromLog.heldOut)"], ["logged queries", "200", "100"])
        let info = try index.info()
        XCTAssertTrue(info.presetsDescription.contains("calibrated on 200 logged queries, 100 of them held out"), info.presetsDescription)
        XCTAssertEqual(info.json["calibration"]?["queries_from"], "logged queries")

        // What a preset promises is its plan's recall on the held-out half.
        let queries = (0..<400).map { n in zip(docs[n].vector ?? [], docs[n + 7].vector ?? []).map { ($0 + $1) / 2 } }
        let tuned = try XCTUnwrap(try index.tune(queries: queries, seed: 3))
        XCTAssertEqual(tuned.querySource, "a queries file")
        let heldOut = try index.measurePlans(rawQueries: Index.heldOutSplit(queries, seed: 3).heldOut, k: 10)
        for preset in tuned.presets {
            let measured = try XCTUnwrap(heldOut.first { $0.plan == preset.measurement.plan })
            XCTAssertEqual(preset.measurement.recall, measured.recall, preset.name)
            // And each answer says what its plan promises.
            let answer = try index.search(SearchRequest(vector: queries[0], k: 10, preset: preset.name))
            XCTAssertEqual(answer.predictedRecall, measured.recall, preset.name)
        }
        XCTAssertEqual(try index.search(SearchRequest(vector: queries[0], k: 10, dims: GraphSearchTests.dims)).predictedRecall, 1)
        XCTAssertNil(try index.search(SearchRequest(vector: queries[0], k: 10, ef: 77)).predictedRecall, "a beam nobody measured")
        XCTAssertNotNil(try index.search(SearchRequest(vector: queries[0], k: 10)).predictedRecall)
    }

    /// Calibration walks once for the plans of one beam and times each plan's stages on that
    /// walk: what it measures of each plan is what the plan answers when a search runs it.
    func testCalibrationMeasuresEachPlanAsASearchRunsIt() throws {
        // 128 dimensions (each vector followed by half of itself), so that plans rescore through
        // the 64-d prefix between the walk's 32 and the full dimensions too.
        func longer(_ v: [Float]) -> [Float] { v + v.map { $0 / 2 } }
        let docs = ClusteredCorpus.documents(4_000).map { var d = $0; d.vector = d.vector.map(longer); return d }
        let index = try makeClusteredIndex(docs)
        try buildClusteredGraph(index)
        let queries = (docs.prefix(20).map { $0.vector!.map { $0 + 0.02 } } + ClusteredCorpus.blindQueries(20, seed: 41).map(longer))
        let measured = try index.measurePlans(rawQueries: queries, k: 10)
        let walks = measured.filter { !$0.plan.exact }
        XCTAssertGreaterThan(Set(walks.map(\.plan.ef)).count, 5)
        XCTAssertLessThan(Set(walks.map(\.plan.ef)).count, walks.count, "some plans share a beam")
        // Each plan as the only preset of a stored model, searched for every query.
        let builtAt = try XCTUnwrap(try index.store.read { try $0.graphRecord() }?.builtAt)
        try index.store.putMeta("cost_model", CostModel(k: 10, queries: queries.count, graphBuiltAt: builtAt, measurements: walks,
                                                        presets: walks.enumerated().map { Preset(name: "p\($0)", goal: .recall(0.5), measurement: $1) }))
        let truths = try queries.map { Set(try index.search(SearchRequest(vector: $0, k: 10, dims: 2 * ClusteredCorpus.dims)).hits.map(\.id)) }
        for (p, measurement) in walks.enumerated() {
            var found = 0, computations = 0
            for (query, truth) in zip(queries, truths) {
                let answer = try index.search(SearchRequest(vector: query, k: 10, preset: "p\(p)"))
                XCTAssertEqual(answer.plan, measurement.plan)
                found += answer.hits.filter { truth.contains($0.id) }.count
                computations += answer.distanceComputations
            }
            XCTAssertEqual(measurement.recall, Double(found) / Double(10 * queries.count), accuracy: 1e-9, "\(measurement.plan)")
            XCTAssertEqual(measurement.meanDistanceComputations, Double(computations) / Double(queries.count), accuracy: 1e-9, "\(measurement.plan)")
        }
    }

    func testThePlannerFollowsTheBudgetAndADeadlineGivesAPartialAnswer() throws {
        let docs = ClusteredCorpus.documents(5_000)
        let index = try makeClusteredIndex(docs)
        try buildClusteredGraph(index)
        let model = try XCTUnwrap(try index.calibrate(queryCount: 100))
        XCTAssertEqual(model.queries, 100)
        XCTAssertEqual(model.heldOut, 50)
        XCTAssertTrue(model.measurements.contains { $0.plan.exact && $0.recall == 1 }, "exact search is a plan too")
        XCTAssertEqual(try index.costModel(), model)

        // The index's planner scales plans by the slowdown it observes, which a busy machine
        // changes from one search to the next: the budget rule itself is a fresh planner's.
        let unloaded = Planner(model: model)
        var lastRecall = -1.0
        for budget in [0.001, 0.05, 0.2, 1, 50] {
            let chosen = unloaded.plan(budgetMs: budget, k: 10).plan
            let expected = try XCTUnwrap(model.measurements.first { $0.plan == chosen }, "a measured plan: \(chosen)")
            XCTAssertGreaterThanOrEqual(expected.recall, lastRecall, "recall never falls as the budget grows")
            lastRecall = expected.recall
            let result = try index.search(SearchRequest(vector: docs[3].vector, k: 10, budgetMs: budget))
            XCTAssertTrue(model.measurements.contains { $0.plan == result.plan }, "a measured plan: \(result.plan)")
            XCTAssertNotNil(result.predictedMs)
        }
        XCTAssertEqual(lastRecall, 1, "a generous budget buys the best plan")

        let cut = try index.search(SearchRequest(vector: docs[3].vector, k: 10, ef: 200, deadlineMs: 1e-6))
        XCTAssertTrue(cut.partial, "past the deadline the answer is partial, not an error")
        XCTAssertFalse(cut.hits.isEmpty)
    }

    func testAChangeOfHeadRebuildsTheGraphInTheSameTransaction() throws {
        let docs = ClusteredCorpus.documents(5_000)
        let index = try makeClusteredIndex(docs)
        try buildClusteredGraph(index)
        XCTAssertNotNil(try index.calibrate(queryCount: 50))
        let change = try index.changeHead(to: .pca, automatic: false)
        let graph = try XCTUnwrap(try index.store.read { try $0.graphRecord() })
        XCTAssertEqual(graph.headVersion, change.version, "the graph is over the new head from the moment it is current")
        XCTAssertEqual(graph.dims, 32, "rebuilt alike")
        XCTAssertNil(try index.buildGraphIfDue(), "nothing stale to rebuild")
        XCTAssertNil(try index.costModel(), "plans measured on the old graph no longer apply")
        let result = try index.search(SearchRequest(vector: docs[0].vector, k: 3, ef: 64))
        XCTAssertFalse(result.plan.exact)
        XCTAssertEqual(result.hits.first?.id, "d0")
        XCTAssertNotNil(try index.calibrateIfDue())
        XCTAssertNil(try index.calibrateIfDue(), "measured once")
    }

    func testBadPlanningFieldsNameTheField() throws {
        let index = try makeClusteredIndex(ClusteredCorpus.documents(100))
        let v = ClusteredCorpus.documents(1)[0].vector!
        let cases: [(SearchRequest, String)] = [
            (SearchRequest(vector: v, budgetMs: 0), #"field "budget_ms": must be a positive number"#),
            (SearchRequest(vector: v, budgetMs: .nan), #"field "budget_ms""#),
            (SearchRequest(vector: v, deadlineMs: -1), #"field "deadline_ms""#),
            (SearchRequest(vector: v, ef: 0), #"field "ef": must be between 1 and 10000"#),
            (SearchRequest(vector: v, dims: 32, ef: 10), #"field "dims": asks for an exact scan"#),
        ]
        for (request, expected) in cases {
            XCTAssertThrowsError(try index.search(request)) { XCTAssertTrue("\($0)".contains(expected), "\($0) should say \(expected)") }
        }
        var options = Index.GraphOptions()
        options.dims = 48
        XCTAssertThrowsError(try index.buildGraph(options)) { XCTAssertTrue("\($0)".contains("one of the stored prefixes 32, 64"), "\($0)") }
        let exact = try index.search(SearchRequest(vector: v, k: 3, budgetMs: 1))
        XCTAssertTrue(exact.plan.exact, "without a graph a budgeted search scans exactly and says so")
    }
}
