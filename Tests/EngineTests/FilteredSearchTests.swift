@testable import Engine
import Foundation
import Search
import Store
import TestSupport
import XCTest

/// Searches of the rows a filter matched (a `RowSet` of internal ids), by each strategy and by
/// the planner's choice, on real indexes and graphs.
final class FilteredSearchTests: XCTestCase {
    /// The rows of `ids`, as a filter would hand them over.
    private func rows(_ index: Index, _ ids: some Sequence<String>) throws -> RowSet {
        try index.store.read { snapshot in
            RowSet(try ids.compactMap { try snapshot.internalID(of: $0) }, capacity: try snapshot.documentCount() + 1024)
        }
    }

    /// The clustered corpus's documents, the meta of document n `meta(n)`, indexed with a graph.
    private func indexWithGraph(meta: (Int) -> String? = { _ in nil }) throws -> (docs: [DocumentInput], index: Index) {
        let docs = ClusteredCorpus.documents(6_000).map { doc in
            var tagged = doc
            tagged.meta = meta(number(doc))
            return tagged
        }
        let index = try makeClusteredIndex(docs)
        try buildClusteredGraph(index)
        return (docs, index)
    }

    /// n, of the clustered corpus's document "d<n>".
    private func number(_ doc: DocumentInput) -> Int { number(doc.id) }
    private func number(_ id: String) -> Int { Int(id.dropFirst()) ?? -1 }

    private func cosine(_ a: [Float], _ b: [Float]) -> Float {
        let dot = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        return dot / (a.reduce(0) { $0 + $1 * $1 }.squareRoot() * b.reduce(0) { $0 + $1 * $1 }.squareRoot())
    }

    func testExactScanOfTheMatchingRowsIsBruteForceOverThem() throws {
        let docs = ClusteredCorpus.documents(3_000)
        let index = try makeClusteredIndex(docs)
        let kept = docs.filter { number($0) % 7 == 3 }
        let matching = try rows(index, kept.map(\.id))
        for q in [docs[3], docs[100], docs[2_001]].map({ $0.vector!.map { $0 + 0.05 } }) {
            let result = try index.search(SearchRequest(vector: q, k: 10), matching: matching)
            XCTAssertEqual(result.plan.filter?.strategy, .exactScan, "no graph: the matching rows are scanned")
            XCTAssertEqual(result.plan.filter?.matching, kept.count)
            let expected = kept.map { ($0.id, cosine(q, $0.vector!)) }.sorted { $0.1 > $1.1 }.prefix(10)
            XCTAssertEqual(result.hits.map(\.id), expected.map(\.0))
            for (hit, want) in zip(result.hits, expected) { XCTAssertEqual(hit.score, want.1, accuracy: 1e-4) }
            XCTAssertEqual(result.distanceComputations, kept.count, "only the matching rows are scored")
        }
    }

    /// On real MiniLM vectors (4,096 Debian descriptions, title queries), the walk that keeps
    /// only matching rows, and the scan of them at the walk's prefix followed by the plan's
    /// stages, find what the exact 384-d scan of them finds, at 10% and 1% of the rows.
    func testGraphWalkReachesRecallOnDebianVectorsAtTenAndOnePercent() throws {
        let shared = "../shared/data/"
        guard FileManager.default.fileExists(atPath: shared + "minilm-debian-docs.f16.npy") else { throw XCTSkip("needs ../shared/data") }
        let docs = try NumpyMatrix(contentsOf: shared + "minilm-debian-docs.f16.npy")
        let titles = try NumpyMatrix(contentsOf: shared + "minilm-debian-titles.f16.npy")
        let count = 4_096
        let index = try Index.create(name: "debian", in: temporaryData(self), dimensions: docs.columns, model: nil)
        for start in stride(from: 0, to: count, by: 2_048) {
            _ = try index.upsert((start..<start + 2_048).map { DocumentInput(id: "row\($0)", vector: docs.row($0)) })
        }
        _ = try index.buildGraph()
        let beam = try XCTUnwrap(try index.search(SearchRequest(vector: titles.row(0), k: 10)).plan.ef)
        var rng = SplitMix64(seed: 3)
        for share in [0.1, 0.01] {
            var found: [FilterChoice.Strategy: Int] = [:], expected = 0
            for q in 0..<60 {
                let matching = try rows(index, (0..<count).filter { _ in Double(rng.next() % 10_000) < share * 10_000 }.map { "row\($0)" })
                let exact = try index.search(SearchRequest(vector: titles.row(q), k: 10, dims: docs.columns), matching: matching)
                XCTAssertTrue(exact.plan.exact)
                let truth = Set(exact.hits.map(\.id))
                expected += truth.count
                for strategy in [FilterChoice.Strategy.graphWalk, .exactScan] {
                    let answer = try index.search(SearchRequest(vector: titles.row(q), k: 10), matching: matching, strategy: strategy)
                    XCTAssertEqual(answer.plan.filter?.strategy, strategy)
                    // Rows no more than the walk's beam are scored exactly; more, at the walk's prefix, then the stages.
                    XCTAssertEqual(answer.plan.exact, strategy == .exactScan && matching.count <= beam, strategy.rawValue)
                    let answered = try rows(index, answer.hits.map(\.id))
                    XCTAssertEqual(answered.count, answer.hits.count)
                    answered.forEach { XCTAssertTrue(matching.contains($0), "only matching rows are answered") }
                    found[strategy, default: 0] += answer.hits.filter { truth.contains($0.id) }.count
                }
            }
            for (strategy, hits) in found {
                XCTAssertGreaterThanOrEqual(Double(hits) / Double(expected), 0.9, "\(strategy.rawValue)'s recall at \(share * 100)% of the rows")
            }
        }
    }

    /// A filter whose rows lie in clusters away from the query is walked to them: the walk
    /// answers as the exact scan of its rows does.
    func testAWalkForAFilterFarFromTheQueryFindsItsNearestRows() throws {
        let (docs, index) = try indexWithGraph()
        let far = docs.filter { (1...4).contains(number($0) % 60) }.map(\.id)  // 4 of the 60 clusters
        let matching = try rows(index, far)
        var found = 0
        for q in stride(from: 0, to: 600, by: 60) {  // documents of cluster 0
            let query = docs[q].vector!.map { $0 + 0.01 }
            let truth = Set(try index.search(SearchRequest(vector: query, k: 10, dims: ClusteredCorpus.dims), matching: matching).hits.map(\.id))
            let answer = try index.search(SearchRequest(vector: query, k: 10), matching: matching, strategy: .graphWalk)
            XCTAssertEqual(answer.hits.count, 10)
            XCTAssertTrue(answer.hits.allSatisfy { far.contains($0.id) })
            found += answer.hits.filter { truth.contains($0.id) }.count
        }
        XCTAssertGreaterThanOrEqual(Double(found) / 100, 0.9)
    }

    func testFewerMatchesThanKAnswersThemAllAndNoMatchAnswersNothing() throws {
        let (docs, index) = try indexWithGraph()
        let few = ["d5", "d777", "d4242"]
        let q = docs[900].vector!
        for strategy in [nil] + FilterChoice.Strategy.allCases {
            let result = try index.search(SearchRequest(vector: q, k: 10), matching: try rows(index, few), strategy: strategy)
            XCTAssertEqual(Set(result.hits.map(\.id)), Set(few), "\(strategy?.rawValue ?? "the planner's choice") answers every match")
            let none = try index.search(SearchRequest(vector: q, k: 10), matching: try rows(index, []), strategy: strategy)
            XCTAssertEqual(none.hits.count, 0)
            XCTAssertEqual(none.plan.filter?.matching, 0)
        }
        let none = try index.search(SearchRequest(vector: q, k: 10), matching: try rows(index, []))
        XCTAssertEqual(none.plan.filter?.why, "no row matches the filter")
        XCTAssertEqual(none.distanceComputations, 0, "nothing to score")
    }

    /// The answer's plan carries the filter's strategy, matching count and reason, and reads
    /// back from the API's shape (what the CLI gets from a daemon).
    func testThePlanSaysHowTheFilterWasServed() throws {
        let (docs, index) = try indexWithGraph()
        let q = docs[10].vector!
        let few = try index.search(SearchRequest(vector: q, k: 10), matching: try rows(index, docs.prefix(30).map(\.id)))
        XCTAssertEqual(few.plan.filter?.strategy, .exactScan, "30 of 6,000 rows: scanned")
        let most = try index.search(SearchRequest(vector: q, k: 10), matching: try rows(index, docs.dropFirst(100).map(\.id)))
        XCTAssertEqual(most.plan.filter?.strategy, .postFilter, "nearly every row: the unfiltered plan, asked for more")
        XCTAssertEqual(most.hits.count, 10)
        XCTAssertTrue(most.hits.allSatisfy { number($0.id) >= 100 })
        let half = try index.search(SearchRequest(vector: q, k: 10), matching: try rows(index, docs.filter { number($0) % 2 == 0 }.map(\.id)))
        XCTAssertEqual(half.plan.filter?.strategy, .graphWalk, "half the rows: walked")
        for result in [few, most, half] {
            let read = try XCTUnwrap(SearchResult(json: result.json))
            XCTAssertEqual(read.plan.filter, result.plan.filter)
            XCTAssertEqual(result.json["plan"]?["filter"]?["matching"]?.int, result.plan.filter?.matching)
        }
        XCTAssertNil(try index.search(SearchRequest(vector: q, k: 10)).json["plan"]?["filter"], "no filter, no filter in the plan")
    }

    /// A request's `filter` is evaluated to its matching rows and served like them; a
    /// complement (`ne`) has no run of a field's order to read, so its rows are served as given.
    func testARequestsFilterIsServedByTheRowsItMatches() throws {
        let (docs, index) = try indexWithGraph { "{\"n\":\($0 % 10)}" }
        for share in [1, 9] {  // one value of ten (scanned in the field's order), or all but one (the post-filter)
            var request = SearchRequest(vector: docs[42].vector!, k: 10)
            request.filter = try Filter(json: share == 1 ? ["field": "n", "eq": 3] : ["field": "n", "ne": 3])
            let kept = docs.filter { (number($0) % 10 == 3) == (share == 1) }
            let filtered = try index.search(request)
            XCTAssertEqual(filtered.plan.filter?.matching, kept.count)
            XCTAssertEqual(filtered.hits.count, 10)
            XCTAssertTrue(filtered.hits.allSatisfy { (number($0.id) % 10 == 3) == (share == 1) })
            request.filter = nil
            let given = try index.search(request, matching: try rows(index, kept.map(\.id)))
            if share == 9 {
                XCTAssertEqual(filtered.hits.map(\.id), given.hits.map(\.id))
                XCTAssertEqual(filtered.plan, given.plan)
            }
        }
    }

    /// A filter of one field's values is scanned in that field's order (its rows' codes read
    /// in sequence, `OrderedCodes`): the plan says so, only matching rows are answered, and
    /// they are as good as those of scoring every matching row (the scan of a row set), also
    /// for an `and` with other tests. A field with several values a row is not read so (a row
    /// would come twice), and a write that changes the field is served at once, its codes
    /// made again by the upkeep after it.
    func testAFilterOnOneFieldIsScannedInThatFieldsOrder() throws {
        let (docs, index) = try indexWithGraph { "{\"n\":\($0 % 10),\"tags\":[\($0 % 10),\(10 + $0 % 7)]}" }
        var found = 0, expected = 0, setFound = 0
        for q in stride(from: 0, to: 3_000, by: 150) {
            var request = SearchRequest(vector: docs[q].vector!.map { $0 + 0.01 }, k: 10)
            request.filter = try Filter(json: ["field": "n", "range": ["gte": 2, "lt": 4]])  // 20% of the rows
            let answer = try index.search(request, matching: nil, strategy: .exactScan)
            XCTAssertEqual(answer.plan.filter?.matching, 1_200)
            XCTAssertTrue(answer.plan.filter?.why.contains("read in the order of field \"n\"") == true, answer.plan.filter?.why ?? "")
            XCTAssertEqual(answer.hits.count, 10)
            XCTAssertTrue(answer.hits.allSatisfy { (2..<4).contains(number($0.id) % 10) })
            request.dims = ClusteredCorpus.dims
            let truth = Set(try index.search(request).hits.map(\.id))
            expected += truth.count
            found += answer.hits.filter { truth.contains($0.id) }.count
            request.dims = nil
            request.filter = nil
            let set = try index.search(request, matching: try rows(index, docs.filter { (2..<4).contains(number($0) % 10) }.map(\.id)), strategy: .exactScan)
            setFound += set.hits.filter { truth.contains($0.id) }.count
        }
        // This corpus's 32-d graph prefix says little of the 64-d order, so both fall short of the
        // exact scan (0.7): the codes' ranking must lose nothing against scoring every row.
        XCTAssertGreaterThanOrEqual(Double(found) / Double(expected), Double(setFound) / Double(expected) - 0.02)
        XCTAssertGreaterThanOrEqual(Double(found) / Double(expected), 0.6)

        // An and: the runs of its one-value field, the rest (a field of several values) tested per position.
        var both = SearchRequest(vector: docs[33].vector!, k: 10)
        both.filter = try Filter(json: ["and": [["field": "tags", "eq": 12], ["field": "n", "range": ["gte": 2, "lt": 4]]]])
        let anded = try index.search(both, matching: nil, strategy: .exactScan)
        let passing = docs.filter { (2..<4).contains(number($0) % 10) && number($0) % 7 == 2 }
        XCTAssertEqual(anded.plan.filter?.matching, passing.count)
        XCTAssertTrue(anded.plan.filter?.why.contains("read in the order of field \"n\"") == true, anded.plan.filter?.why ?? "")
        XCTAssertEqual(anded.hits.count, 10)
        XCTAssertTrue(anded.hits.allSatisfy { (2..<4).contains(number($0.id) % 10) && number($0.id) % 7 == 2 })
        both.filter = nil
        let bothSet = try index.search(both, matching: try rows(index, passing.map(\.id)), strategy: .exactScan)
        XCTAssertGreaterThanOrEqual(Set(anded.hits.map(\.id)).intersection(bothSet.hits.map(\.id)).count, 9)

        var request = SearchRequest(vector: docs[5].vector!, k: 10)
        request.filter = try Filter(json: ["field": "tags", "eq": 3])
        let several = try index.search(request, matching: nil, strategy: .exactScan)
        XCTAssertFalse(several.plan.filter?.why.contains("order") == true, "several values a row: scanned as a set")
        XCTAssertTrue(several.hits.allSatisfy { number($0.id) % 10 == 3 })

        _ = try index.upsert([DocumentInput(id: "d5", meta: "{\"n\":99}", vector: docs[5].vector)])
        _ = try index.upkeep()
        let current = try index.store.read { snapshot in try index.loadedGraph(in: snapshot, head: try index.currentHead(in: snapshot).record) }
        let kept = index.orderedCodesCache.withLock { $0.fields["n"] }
        XCTAssertTrue(kept != nil && kept?.core === current?.core, "the upkeep after the write made the codes again, for the next search")
        request.filter = try Filter(json: ["field": "n", "in": [99, 98]])
        XCTAssertEqual(try index.search(request, matching: nil, strategy: .exactScan).hits.map(\.id), ["d5"])
        request.filter = try Filter(json: ["field": "n", "eq": 5])
        let after = try index.search(request, matching: nil, strategy: .exactScan)
        XCTAssertEqual(after.plan.filter?.matching, 599)
        XCTAssertFalse(after.hits.contains { $0.id == "d5" }, "the old value no longer matches")
    }

    func testGroupByParentAndPresetsKeepTheFilter() throws {
        let (docs, index) = try indexWithGraph { "{\"parent\":\"p\($0 / 3)\"}" }
        _ = try XCTUnwrap(try index.calibrate(queryCount: 60))
        let kept = Set(docs.filter { number($0) % 5 == 0 }.map(\.id))
        let matching = try rows(index, kept)
        var grouped = SearchRequest(vector: docs[35].vector!, k: 10)
        grouped.groupByParent = true
        let result = try index.search(grouped, matching: matching)
        XCTAssertEqual(result.hits.count, 10)
        XCTAssertTrue(result.hits.allSatisfy { kept.contains($0.id) }, "grouped hits match the filter")
        XCTAssertNotNil(result.plan.filter)
        let preset = try index.search(SearchRequest(vector: docs[35].vector!, k: 10, preset: "balanced"), matching: matching)
        XCTAssertEqual(preset.hits.count, 10)
        XCTAssertTrue(preset.hits.allSatisfy { kept.contains($0.id) }, "a preset's hits match the filter")
        XCTAssertNotNil(preset.plan.filter)
    }
}
