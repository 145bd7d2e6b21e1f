import Engine
import Foundation
import Server
import TestSupport
import XCTest

extension DaemonAPITests {
    /// `mode` over the socket: a lexical search of an index of your own vectors needs no
    /// model; a vector query is semantic only, and bad modes are 400s naming the field.
    func testSearchModesOverTheSocket() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), test: self)
        let client = try daemon.client()
        try check(client.send("PUT", "/indexes/vec", ["dimensions": 8]), "PUT", "/indexes/{name}", 201)
        let documents: [JSON] = (0..<40).map { n in
            ["id": .string("d\(n)"), "text": .string(n % 10 == 3 ? "a zlib_inflate wrapper" : "document \(n)"),
             "vector": .array(vector(n, dims: 8).map(JSON.float))]
        }
        try check(client.send("POST", "/indexes/vec/documents", ["documents": .array(documents)]), "POST", "/indexes/{name}/documents", 200)
        let found = try check(client.send("POST", "/indexes/vec/search", ["query": "ZLIB", "mode": "lexical", "k": 10]),
                              "POST", "/indexes/{name}/search", 200)
        XCTAssertEqual(Set(found["hits"]?.array?.compactMap { $0["id"]?.string } ?? []), ["d3", "d13", "d23", "d33"])
        XCTAssertEqual(found["plan"]?["mode"], "lexical")
        XCTAssertEqual(found["plan"]?["lexical"], ["terms": 1, "postings": 4])
        let semantic = try check(client.send("POST", "/indexes/vec/search", ["vector": .array(vector(3, dims: 8).map(JSON.float))]),
                                 "POST", "/indexes/{name}/search", 200)
        XCTAssertEqual(semantic["plan"]?["mode"], "semantic")

        let query = JSON.array(vector(7, dims: 8).map(JSON.float))
        let cases: [(JSON, String, String)] = [
            (["vector": query, "mode": "lexical"], "/indexes/vec/search", #""mode" "lexical" needs a text "query""#),
            (["query": "zlib", "mode": "fuzzy"], "/indexes/vec/search", #""mode" can be "semantic", "lexical" or "hybrid", got "fuzzy""#),
            (["query": "zlib", "mode": "hybrid"], "/indexes/vec/search", #""query" cannot be used: index "vec" holds vectors of your own model"#),
            (["queries": [["query": "zlib", "mode": "lexical"], ["vector": query, "mode": "hybrid"]]], "/indexes/vec/search/batch",
             #""queries[1].mode" "hybrid" needs a text "query""#),
            // A hybrid search's weight: a number from 0 to 1, and hybrid only.
            (["query": "zlib", "mode": "lexical", "fusion_weight": 0.5], "/indexes/vec/search",
             #""fusion_weight" weighs the two rankings of a hybrid search"#),
            (["query": "zlib", "mode": "lexical", "fusion_weight": 1.5], "/indexes/vec/search", #""fusion_weight" must be a number from 0"#),
            (["query": "zlib", "mode": "hybrid", "fusion_weight": "high"], "/indexes/vec/search", #""fusion_weight" must be a number, got string"#),
            (["queries": [["query": "zlib", "mode": "lexical"], ["query": "zlib", "mode": "lexical", "fusion_weight": -1]]],
             "/indexes/vec/search/batch", #""queries[1].fusion_weight" must be a number from 0"#),
        ]
        for (body, path, message) in cases {
            let reply = try client.send("POST", path, body)
            XCTAssertEqual(reply.status, 400, "\(body.serialized): \(reply.errorMessage)")
            XCTAssertTrue(reply.errorMessage.contains(message), "expected “\(message)” in “\(reply.errorMessage)”")
        }
    }
}
