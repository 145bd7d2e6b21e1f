import Engine
import Foundation
import Search
import Store
import TestSupport
import XCTest

/// Graphs guided by queries (`Index.QueryGuidance`): a file's queries or the query log's link
/// the documents each finds together, on a real index; the log guides rebuilds as it grows,
/// unless the graph was asked to have no guidance.
final class GraphGuidanceTests: XCTestCase {
    private func graphOptions(_ guidance: Index.QueryGuidance) -> Index.GraphOptions {
        var options = Index.GraphOptions()
        options.dims = ClusteredCorpus.graphDims
        options.guidance = guidance
        options.threads = 1  // the same graph on every run
        return options
    }

    /// Logs `count` queries as searches would, written as the daemon writes them (at most
    /// `QueryLog.pendingLimit` between writes).
    private func log(_ index: Index, _ count: Int, seed: UInt64) throws {
        for (n, query) in ClusteredCorpus.blindQueries(count, seed: seed).enumerated() {
            index.logQuery(vector: query, k: 10, text: nil)
            if n % 256 == 255 { try index.flushQueryLog() }
        }
        try index.flushQueryLog()
    }

    /// Queries halfway between two clusters (pairs of the corpus's centres): their true
    /// neighbours lie in both, which a graph of the documents keeps apart, so a narrow walk
    /// finds one cluster's. Seeds draw the noise; the pairs are the same.
    private func pairQueries(_ count: Int, seed: UInt64) -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { n in
            let a = ClusteredCorpus.centres[(n % 30) * 2], b = ClusteredCorpus.centres[(n % 30) * 2 + 1]
            return (0..<ClusteredCorpus.dims).map { j in a[j] + b[j] + 0.2 * ClusteredCorpus.uniform(&rng) }
        }
    }

    private func record(_ index: Index) throws -> GraphRecord { try XCTUnwrap(try index.store.read { try $0.graphRecord() }) }

    /// Recall@10 of a narrow walk for `queries` against the exact scan.
    private func recall(_ index: Index, _ queries: [[Float]]) throws -> Double {
        var found = 0, total = 0
        for query in queries {
            let walked = try index.search(SearchRequest(vector: query, k: 10, ef: 16))
            XCTAssertFalse(walked.plan.exact, "the search did not walk the graph")
            let exact = try index.search(SearchRequest(vector: query, k: 10, dims: ClusteredCorpus.dims))
            found += Set(walked.hits.map(\.id)).intersection(exact.hits.map(\.id)).count
            total += exact.hits.count
        }
        return Double(found) / Double(total)
    }

    /// Links that queries between two clusters found together lead a walk from one cluster
    /// to the other; queries of another seed measure it.
    func testQueriesOfAFileLinkTheDocumentsTheyFindAndHelpLikeQueries() throws {
        let index = try makeClusteredIndex(ClusteredCorpus.documents(3_000))
        try index.buildGraph(graphOptions(.none))
        let held = pairQueries(200, seed: 77)
        let before = try recall(index, held)
        XCTAssertEqual(try record(index).guidance, "none")

        let guiding = pairQueries(1_500, seed: 76)
        try index.buildGraph(graphOptions(.queries(guiding)))
        let stored = try record(index)
        XCTAssertEqual(stored.guidance, "queries")
        XCTAssertEqual(stored.guidedBy, 1_500)
        XCTAssertGreaterThan(stored.queryLinks, 0)
        let after = try recall(index, held)
        print("graph guidance: recall@10 at ef 16 of 200 held-out queries between clusters \(before) unguided, \(after) guided by 1,500 others")
        XCTAssertGreaterThan(after, before + 0.03, "links guided by like queries did not help")

        // The record reads back, and `mrl info` and the API show it.
        let info = try index.info()
        XCTAssertEqual(info.graph?.guidedBy, 1_500)
        XCTAssertTrue(info.graphDescription.contains("links guided by 1,500 queries of a file"), info.graphDescription)
        XCTAssertEqual(info.json["graph"]?["guidance"], "queries")
    }

    func testALargeFileIsSampledToTheLimit() throws {
        let index = try makeClusteredIndex(ClusteredCorpus.documents(1_000))
        let guiding = ClusteredCorpus.blindQueries(Index.graphGuidanceLimit + 700, seed: 78)
        try index.buildGraph(graphOptions(.queries(guiding)))
        XCTAssertEqual(try record(index).guidedBy, Index.graphGuidanceLimit)
        // A query of another size is refused naming it, before anything is built.
        XCTAssertThrowsError(try index.buildGraph(graphOptions(.queries(guiding + [[1, 2, 3]])))) { error in
            XCTAssertTrue("\(error)".contains("has 3 dimensions"), "\(error)")
        }
        XCTAssertEqual(try record(index).guidedBy, Index.graphGuidanceLimit, "a refused build replaced the graph")
    }

    /// The log guides no build until it holds `graphGuidanceMinimum` queries; then the upkeep
    /// rebuilds the graph by it, and again once the log has been offered twice as many.
    func testTheLogGuidesRebuildsAsItGrows() throws {
        let index = try makeClusteredIndex(ClusteredCorpus.documents(2_000))
        _ = try index.upkeep()  // the automatic head, so that no later upkeep fits one
        try index.buildGraph(graphOptions(.log))
        func log(_ count: Int, seed: UInt64) throws { try self.log(index, count, seed: seed) }
        try log(Index.graphGuidanceMinimum - 1, seed: 79)
        XCTAssertNil(try record(index).guidance, "a log below the minimum guided the build")
        XCTAssertFalse(try index.graphGuidanceIsDue())
        XCTAssertNil(try index.upkeep().graph)

        try log(1, seed: 80)
        XCTAssertTrue(try index.graphGuidanceIsDue())
        XCTAssertNotNil(try index.upkeep().graph, "the upkeep did not rebuild the graph by the log")
        var stored = try record(index)
        XCTAssertEqual(stored.guidance, "log")
        XCTAssertEqual(stored.guidedBy, Index.graphGuidanceMinimum)
        XCTAssertEqual(stored.logSeen, Index.graphGuidanceMinimum)
        XCTAssertEqual(stored.dims, ClusteredCorpus.graphDims, "the rebuild changed the graph's options")
        XCTAssertFalse(try index.graphGuidanceIsDue(), "due again right after a guided build")
        XCTAssertNil(try index.upkeep().graph)

        try log(Index.graphGuidanceMinimum - 1, seed: 81)
        XCTAssertFalse(try index.graphGuidanceIsDue(), "due before the log was offered twice as many queries")
        try log(1, seed: 82)
        XCTAssertNotNil(try index.upkeep().graph)
        stored = try record(index)
        XCTAssertEqual([stored.guidedBy, stored.logSeen], [2 * Index.graphGuidanceMinimum, 2 * Index.graphGuidanceMinimum])
    }

    func testAGraphAskedForNoGuidanceKeepsNone() throws {
        let index = try makeClusteredIndex(ClusteredCorpus.documents(2_000))
        try log(index, Index.graphGuidanceMinimum, seed: 83)
        try index.buildGraph(graphOptions(.none))
        XCTAssertEqual(try record(index).guidedBy, 0)
        XCTAssertFalse(try index.graphGuidanceIsDue())
        XCTAssertEqual(try index.storedGraphOptions()?.guidance, Index.QueryGuidance.none, "a rebuild would add the log's links")
        // Without a choice, a build takes the log's.
        try index.buildGraph(graphOptions(.log))
        XCTAssertEqual(try record(index).guidance, "log")
    }

    /// A graph rebuilt by the log (or a head refit) has no timings until the upkeep measures
    /// them: the model of the graph before stands in, if its plans walk the same prefix.
    func testPresetsStayUsableWhileARebuiltGraphAwaitsItsTimings() throws {
        let index = try makeClusteredIndex(ClusteredCorpus.documents(3_000))
        try index.buildGraph(graphOptions(.none))
        XCTAssertNotNil(try index.calibrate(queryCount: 60))
        var request = SearchRequest(vector: ClusteredCorpus.blindQueries(1, seed: 90)[0], k: 10)
        request.preset = "fast"
        XCTAssertFalse(try index.search(request).plan.exact)

        try index.buildGraph(graphOptions(.none))
        XCTAssertNil(try index.costModel(), "the new graph has no timings of its own")
        XCTAssertFalse(try index.search(request).plan.exact, "the old timings did not stand in")
        XCTAssertNotNil(try index.calibrateIfDue(), "the stand-in kept the new graph from being measured")

        // Plans of another prefix cannot stand in.
        var wider = graphOptions(.none)
        wider.dims = ClusteredCorpus.dims
        try index.buildGraph(wider)
        XCTAssertThrowsError(try index.search(request)) { error in
            XCTAssertTrue("\(error)".contains("has no measured plans yet"), "\(error)")
        }
    }
}
