import Engine
import Foundation
import Store
import XCTest

final class IndexTests: XCTestCase {
    private func smallIndex(_ data: DataDirectory) throws -> Index {
        let index = try Index.create(name: "small", in: data, dimensions: 4, model: nil)
        _ = try index.upsert([
            DocumentInput(id: "x", text: "along x", meta: #"{"axis":"x"}"#, vector: [1, 0, 0, 0]),
            DocumentInput(id: "y", text: "along y", vector: [0, 1, 0, 0]),
            DocumentInput(id: "xy", text: "between", vector: [1, 1, 0, 0]),
            DocumentInput(id: "z-only-late", text: "late dims", vector: [0, 0, 0, 1]),
        ])
        return index
    }

    func testSearchRanksByCosineOverThePrefix() throws {
        let index = try smallIndex(temporaryData(self))
        let full = try index.search(SearchRequest(vector: [1, 0.2, 0, 0], k: 2, includeText: true))
        XCTAssertEqual(full.hits.map(\.id), ["x", "xy"])
        XCTAssertEqual(full.hits[0].text, "along x")
        XCTAssertEqual(full.hits[0].meta, #"{"axis":"x"}"#)
        XCTAssertEqual(full.plan.stages.map(\.dims), [4])
        XCTAssertTrue(full.plan.exact)
        XCTAssertFalse(full.partial)
        XCTAssertEqual(full.distanceComputations, 4)
        // At 2 dims "z-only-late" has a zero prefix: it matches nothing rather than everything.
        let prefix = try index.search(SearchRequest(vector: [0, 1, 0, 1], k: 10, dims: 2))
        XCTAssertEqual(prefix.hits.map(\.id), ["y", "xy", "x"])
        XCTAssertEqual(prefix.bytesTouched, 4 * 2 * 4)
    }

    func testBadRequestsNameTheField() throws {
        let index = try smallIndex(temporaryData(self))
        let cases: [(SearchRequest, String)] = [
            (SearchRequest(vector: [1, 0, 0, 0], k: 0), #"field "k": must be between 1 and 10000, got 0"#),
            (SearchRequest(vector: [1, 0, 0, 0], k: 10_001), #"field "k""#),
            (SearchRequest(vector: [1, 0, 0, 0], dims: 0), #"field "dims": must be between 1 and 4"#),
            (SearchRequest(vector: [1, 0, 0, 0], dims: 5), #"field "dims""#),
            (SearchRequest(vector: [1, 0, 0]), #"field "vector": has 3 dimensions, the index has 4"#),
            (SearchRequest(vector: [1, .nan, 0, 0]), "not finite"),
            (SearchRequest(vector: [0, 0, 0, 0]), "all zero"),
            (SearchRequest(vector: [0, 0, 1, 0], dims: 2), "its first 2 dimensions are all zero"),
            (SearchRequest(), #"give exactly one of "query" (text) and "vector""#),
            (SearchRequest(query: "hello", vector: [1, 0, 0, 0]), "exactly one"),
            (SearchRequest(query: "hello"), "search it with a vector"),
        ]
        for (request, expected) in cases {
            XCTAssertThrowsError(try index.search(request)) { XCTAssertTrue("\($0)".contains(expected), "\($0) should say \(expected)") }
        }
        XCTAssertThrowsError(try index.upsert([DocumentInput(id: "t", text: "text only")])) {
            XCTAssertTrue("\($0)".contains("give each document a vector"), "\($0)")
        }
    }

    func testIndexNamesCannotEscapeTheDataDirectory() throws {
        let data = temporaryData(self)
        for name in ["", "../etc", "a/b", ".", "..", "name with space", String(repeating: "a", count: 65), "é"] {
            XCTAssertThrowsError(try Index.create(name: name, in: data, dimensions: 4, model: nil)) {
                XCTAssertEqual($0 as? EngineError, .invalidIndexName(name))
            }
        }
        XCTAssertNoThrow(try Index.create(name: String(repeating: "a", count: 64), in: data, dimensions: 4, model: nil))
        XCTAssertNoThrow(try Index.create(name: "A-z_09", in: data, dimensions: 4, model: nil))
    }

    func testListDropAndMissingIndex() throws {
        let data = temporaryData(self)
        XCTAssertThrowsError(try Index.open(name: "nope", in: data, mode: .read)) {
            XCTAssertTrue("\($0)".contains("create it with `mrl index"), "\($0)")
        }
        let writer = try smallIndex(data)
        _ = try Index.create(name: "other", in: data, dimensions: 8, model: nil)
        XCTAssertEqual(data.indexNames(), ["other", "small"])
        XCTAssertThrowsError(try data.drop("small"), "a writer holds it") {
            XCTAssertTrue("\($0)".contains("is being written by pid"), "\($0)")
        }
        withExtendedLifetime(writer) {}
    }

    func testDropRemovesAClosedIndex() throws {
        let data = temporaryData(self)
        _ = try Index.create(name: "gone", in: data, dimensions: 4, model: nil)
        try data.drop("gone")
        XCTAssertEqual(data.indexNames(), [])
    }

    func testDeleteThenSearchNeverReturnsDeleted() throws {
        let index = try smallIndex(temporaryData(self))
        XCTAssertEqual(try index.delete(ids: ["x", "nope"]), 1)
        let result = try index.search(SearchRequest(vector: [1, 0, 0, 0], k: 10))
        XCTAssertEqual(Set(result.hits.map(\.id)), ["xy", "y", "z-only-late"])
        XCTAssertNil(try index.document(id: "x"))
    }
}
