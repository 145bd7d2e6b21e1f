import Engine
import Foundation
import TestSupport
import XCTest

/// A filtered search over the socket: only matching documents come back, and the answer's
/// plan (checked against the spec) says how the filter was served.
extension DaemonAPITests {
    func testAFilteredSearchAnswersOnlyMatchingDocumentsAndSaysHow() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), test: self)
        let client = try daemon.client()
        try check(client.send("PUT", "/indexes/f", ["dimensions": 8]), "PUT", "/indexes/{name}", 201)
        let documents: [JSON] = (0..<60).map { n in
            ["id": .string("d\(n)"), "meta": ["n": JSON(n % 6)], "vector": .array(vector(n, dims: 8).map(JSON.float))]
        }
        try check(client.send("POST", "/indexes/f/documents", ["documents": .array(documents)]), "POST", "/indexes/{name}/documents", 200)
        let query = JSON.array(vector(7, dims: 8).map(JSON.float))
        let found = try check(client.send("POST", "/indexes/f/search", ["vector": query, "k": 20, "include_text": true,
                                                                        "filter": ["field": "n", "in": [1, 2]]]),
                              "POST", "/indexes/{name}/search", 200)
        let values = found["hits"]?.array?.compactMap { $0["meta"]?["n"]?.int }
        XCTAssertEqual(values?.count, 20, "the 20 documents with n 1 or 2")
        XCTAssertEqual(Set(values ?? []), [1, 2])
        XCTAssertEqual(found["plan"]?["filter"]?["strategy"], "exact_scan", "no graph: the matching rows are scanned")
        XCTAssertEqual(found["plan"]?["filter"]?["matching"], 20)
        let none = try check(client.send("POST", "/indexes/f/search", ["vector": query, "filter": ["field": "n", "eq": "1"]]),
                             "POST", "/indexes/{name}/search", 200)
        XCTAssertEqual(none["hits"]?.array?.count, 0, "a string never equals a number")
        XCTAssertEqual(none["plan"]?["filter"]?["why"], "no row matches the filter")
    }
}
