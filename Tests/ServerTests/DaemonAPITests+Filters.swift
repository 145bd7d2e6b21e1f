import Engine
import Foundation
import TestSupport
import XCTest

/// The `filter` field over the socket: a bad filter is a 400 naming its part, in a search and
/// in each query of a batch; the spec's examples are filters the daemon reads.
extension DaemonAPITests {
    func testABadFilterIsA400NamingItsPart() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), test: self)
        let client = try daemon.client()
        try check(client.send("PUT", "/indexes/f", ["dimensions": 8]), "PUT", "/indexes/{name}", 201)
        let query = JSON.array(vector(1, dims: 8).map(JSON.float))
        let good: JSON = ["field": "n", "eq": 1]
        let cases: [(JSON, String)] = [
            (["and": [good, ["field": "n", "range": ["gte": nil]]]], #""filter.and[1].range.gte" must be a number or a string, got null"#),
            (["field": "n", "eq": 1, "in": [1]], #""filter" must have exactly one of eq, ne, in"#),
            (["not": ["field": "n", "like": "x"]], #""filter.not.like" is not part of a filter"#),
            ("ext", #""filter" must be an object"#),
        ]
        for (filter, message) in cases {
            let answer = try check(client.send("POST", "/indexes/f/search", ["vector": query, "filter": filter]),
                                   "POST", "/indexes/{name}/search", 400)
            XCTAssertTrue(answer["error"]?["message"]?.string?.contains(message) == true, "\(filter.serialized): \(answer.serialized)")
        }
        let batch = try check(client.send("POST", "/indexes/f/search/batch",
                                          ["queries": [["vector": query], ["vector": query, "filter": ["field": "n", "in": []]]]]),
                              "POST", "/indexes/{name}/search/batch", 400)
        XCTAssertTrue(batch["error"]?["message"]?.string?.contains(#""queries[1].filter.in" must hold 1 to 1024"#) == true, batch.serialized)
    }

    func testTheSpecsFilterExamplesAreFilters() throws {
        let media = spec.root["paths"]?["/indexes/{name}/search"]?["post"]?["requestBody"]?["content"]?["application/json"]
        let examples = try XCTUnwrap(media?["examples"]?.object).values.compactMap { $0["value"]?["filter"] }
        XCTAssertGreaterThanOrEqual(examples.count, 3)
        for filter in examples + [try XCTUnwrap(spec.root["components"]?["schemas"]?["Filter"]?["example"])] {
            XCTAssertNoThrow(try Filter(json: filter), filter.serialized)
        }
    }
}
