import Engine
import Foundation
import Store
import XCTest

/// The query log: what `answer` offers it and `search` does not, its bound, its bias to recent
/// queries, its switches, and that it lasts across a reopen.
final class QueryLogTests: XCTestCase {
    private func index(_ test: XCTestCase) throws -> (Index, DataDirectory) {
        let data = temporaryData(test)
        let index = try Index.create(name: "q", in: data, dimensions: 4, model: nil)
        _ = try index.upsert([DocumentInput(id: "a", text: "", vector: [1, 0, 0, 0]), DocumentInput(id: "b", text: "", vector: [0, 1, 0, 0])])
        return (index, data)
    }

    func testAnsweredSearchesAreLoggedAndEvaluationsAreNot() throws {
        let (index, data) = try index(self)
        _ = try index.search(SearchRequest(vector: [1, 0, 0, 0], k: 1))
        XCTAssertEqual(try index.queryLog().count, 0, "a search of tuning or evaluation is not a user's")
        _ = try index.answer(SearchRequest(vector: [1, 0.5, 0, 0], k: 2))
        let logged = try index.queryLog()
        XCTAssertEqual(logged.count, 1)
        let kept = try XCTUnwrap(logged.queries.first?.vector)
        XCTAssertEqual(kept[1] / kept[0], 0.5, accuracy: 1e-3, "the query's direction")
        XCTAssertEqual(logged.queries.first?.k, 2)
        XCTAssertNil(logged.queries.first?.text, "texts only when asked for")

        let reopened = try Index.open(name: "q", in: data, mode: .read)
        XCTAssertEqual(try reopened.queryLog().state.seen, 1, "written, not only remembered")
    }

    func testTheSwitchesAndClearing() throws {
        let (index, _) = try index(self)
        _ = try index.changeQueryLog(enabled: false)
        _ = try index.answer(SearchRequest(vector: [1, 0, 0, 0], k: 1))
        XCTAssertEqual(try index.queryLog().state.seen, 0, "off means off")
        _ = try index.changeQueryLog(enabled: true)
        for _ in 0..<3 { _ = try index.answer(SearchRequest(vector: [0, 1, 0, 0], k: 1)) }
        XCTAssertEqual(try index.queryLog().count, 3)
        let cleared = try index.changeQueryLog(clear: true)
        XCTAssertEqual([cleared.seen, cleared.stored, try index.queryLog().count], [0, 0, 0])
    }

    /// At most `capacity` queries; a uniform sample until 2 × capacity are seen, then new
    /// queries keep coming in and old ones go: the newest tenth of 300,000 queries is kept
    /// several times as densely as the oldest.
    func testTheLogIsBoundedAndBiasedToRecentQueries() throws {
        let (index, _) = try index(self)
        let total = 300_000
        for n in 0..<total {
            // The query's number rides in its vector's direction, to tell afterwards which were kept.
            index.logQuery(vector: [1, Float(n % 1_000) / 1_000, Float(n / 1_000) / 1_000, 0], k: 10, text: nil)
            if n % 500 == 499 { try index.flushQueryLog() }
        }
        try index.flushQueryLog()
        let log = try index.queryLog()
        XCTAssertEqual(log.state.seen, total)
        XCTAssertEqual(log.count, 20_000)
        let numbers = log.queries.map { q in Int((q.vector[1] / q.vector[0] * 1_000).rounded()) + 1_000 * Int((q.vector[2] / q.vector[0] * 1_000).rounded()) }
        let oldest = numbers.filter { $0 < total / 10 }.count, newest = numbers.filter { $0 >= total - total / 10 }.count
        XCTAssertGreaterThan(newest, 3 * oldest, "newest tenth \(newest), oldest tenth \(oldest)")
    }
}
