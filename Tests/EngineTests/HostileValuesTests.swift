import Engine
import Foundation
import Search
import Store
import XCTest

/// Values at the edges (issue 16, cases 1–4): each is an error naming the field, or a
/// defined result, never a trap.
final class HostileValuesTests: XCTestCase {
    static let dims = 64

    /// `value` at coordinate `at`, zero elsewhere.
    private func axis(_ at: Int, _ value: Float = 1) -> [Float] {
        var v = [Float](repeating: 0, count: HostileValuesTests.dims)
        v[at] = value
        return v
    }

    /// `count` documents around 16 directions, enough for a graph of the given prefix.
    private func corpus(_ count: Int) -> [DocumentInput] {
        (0..<count).map { n in
            var rng = SplitMix64(seed: UInt64(n) &+ 7)
            let v = (0..<HostileValuesTests.dims).map { j in Float(j == n % 16 ? 1 : 0) + Float(rng.next() % 1000) / 4000 }
            return DocumentInput(id: "d\(n)", text: "doc \(n)", vector: v)
        }
    }

    private func graphIndex(_ data: DataDirectory, documents: Int = 600) throws -> Index {
        let index = try Index.create(name: "g", in: data, dimensions: HostileValuesTests.dims, model: nil)
        _ = try index.upsert(corpus(documents))
        var options = Index.GraphOptions()
        options.dims = 32
        options.m = 8
        try index.buildGraph(options)
        return index
    }

    private func assertRefused(_ body: @autoclosure () throws -> Any, field: String, saying words: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard case EngineError.invalidRequest(let named, let message) = error else {
                return XCTFail("\(error) is not an invalid request", file: file, line: line)
            }
            XCTAssertEqual(named, field, message, file: file, line: line)
            XCTAssertTrue(message.contains(words), "\(message) should say \(words)", file: file, line: line)
        }
    }

    func testDeadlinesAndBudgetsAreBounded() throws {
        let index = try graphIndex(temporaryData(self))
        let query = axis(0)
        for huge in [1e300, .infinity, .nan, 3_600_000.5] {
            assertRefused(try index.search(SearchRequest(vector: query, deadlineMs: huge)), field: "deadline_ms", saying: "up to 3600000")
            assertRefused(try index.search(SearchRequest(vector: query, budgetMs: huge)), field: "budget_ms", saying: "up to 3600000")
            assertRefused(try index.search(SearchRequest(vector: query, dims: 64, deadlineMs: huge)), field: "deadline_ms", saying: "milliseconds")
        }
        XCTAssertEqual(try index.search(SearchRequest(vector: query, k: 3, deadlineMs: 3_600_000)).hits.count, 3)
        XCTAssertEqual(try index.search(SearchRequest(vector: query, k: 3, dims: 64, deadlineMs: 3_600_000)).hits.count, 3)
    }

    func testAnExactScanStopsAtItsDeadline() throws {
        let index = try Index.create(name: "e", in: temporaryData(self), dimensions: HostileValuesTests.dims, model: nil)
        _ = try index.upsert(corpus(5_000))  // five blocks
        let cut = try index.search(SearchRequest(vector: axis(0), k: 10, dims: 64, deadlineMs: 1e-6))
        XCTAssertTrue(cut.partial, "a nanosecond cannot cover five blocks")
        XCTAssertLessThan(cut.distanceComputations, 5_000)
        let whole = try index.search(SearchRequest(vector: axis(0), k: 10, dims: 64, deadlineMs: 60_000))
        XCTAssertFalse(whole.partial)
        XCTAssertEqual(whole.distanceComputations, 5_000)
    }

    func testARepeatedIDIsWrittenOnceAsItsLastOccurrence() throws {
        let index = try graphIndex(temporaryData(self))
        let first = DocumentInput(id: "dup", text: "first", vector: axis(0))
        let last = DocumentInput(id: "dup", text: "last", vector: axis(63))
        XCTAssertEqual(try index.upsert([first, last]), { var r = WriteReport(); r.added = 1; r.changed = 1; return r }())
        // Two requests merged by the daemon's group commit, with the same id.
        let reports = try index.upsert(groups: [[first], [last, first, last]])
        XCTAssertEqual(reports.map(\.changed), [1, 3], "each replaces what came before it")
        XCTAssertEqual(reports.map(\.unchanged), [0, 0])
        let hit = try index.search(SearchRequest(vector: axis(63), k: 1, dims: 64, includeText: true)).hits[0]
        XCTAssertEqual(hit.id, "dup")
        XCTAssertEqual(hit.text, "last")
        XCTAssertEqual(try index.store.read { try $0.document(id: "dup")?.text }, "last")
        XCTAssertEqual(try index.info().documents, 601)
    }

    func testVectorsWithoutADirectionAreRefusedAtWriteAndSearch() throws {
        let index = try graphIndex(temporaryData(self))
        let cases: [([Float], String)] = [
            (axis(0, 0), "all zeros"),
            (axis(0, 1e-30), "too small"),
            (zip(axis(0, -1e-23), axis(1, 1e-25)).map(+), "too small"),
            (axis(5, 1e20), "too large"),
            (axis(1, .nan), "element 1 is not finite"),
        ]
        for (vector, words) in cases {
            assertRefused(try index.search(SearchRequest(vector: vector)), field: "vector", saying: words)
            assertRefused(try index.search(SearchRequest(vector: vector, dims: 64)), field: "vector", saying: words)
            assertRefused(try index.upsert([DocumentInput(id: "bad", text: "", vector: vector)]), field: "vector", saying: words)
            let parsed = DocumentParser.vector(from: .array(vector.map { .number(Double($0)) }))
            XCTAssertThrowsError(try parsed.get()) { XCTAssertTrue("\($0)".contains(words) || vector.contains { $0.isNaN }, "\($0)") }
        }
        XCTAssertNil(try index.store.read { try $0.document(id: "bad") }, "nothing of a refused batch is written")
        // Small but representable directions are fine.
        XCTAssertEqual(try index.search(SearchRequest(vector: axis(0, 1e-15), k: 1)).hits.count, 1)
    }

    func testAQueryWithNoDirectionWhereTheGraphWalksIsRefused() throws {
        let index = try graphIndex(temporaryData(self))  // the graph walks the first 32 dimensions
        assertRefused(try index.search(SearchRequest(vector: axis(40))), field: "vector",
                      saying: "give \"dims\" for an exact scan")
        XCTAssertEqual(try index.search(SearchRequest(vector: axis(40), k: 2, dims: 64)).hits.count, 2)
    }

    /// An index written before zero vectors were refused still searches, builds its graph,
    /// and calibrates without drawing those rows as queries.
    func testZeroVectorsAlreadyStoredAreNeverCalibrationQueries() throws {
        let index = try Index.create(name: "old", in: temporaryData(self), dimensions: HostileValuesTests.dims, model: nil)
        let zeros = (0..<300).map { DocumentWrite(id: "zero\($0)", text: "", meta: nil, vector: axis(0, 0), contentHash: UInt64($0)) }
        _ = try index.store.upsert(zeros)  // the store below the check, as an older mrl wrote
        _ = try index.upsert(corpus(600))
        var options = Index.GraphOptions()
        options.dims = 32
        options.m = 8
        try index.buildGraph(options)
        let model = try XCTUnwrap(try index.calibrate(queryCount: 200))
        XCTAssertFalse(model.measurements.isEmpty)
        XCTAssertGreaterThan(model.measurements.map(\.recall).max() ?? 0, 0.9)
        let hits = try index.search(SearchRequest(vector: axis(0), k: 900, ef: 64)).hits
        XCTAssertFalse(hits.contains { $0.id.hasPrefix("zero") && $0.score.isNaN })
    }
}
