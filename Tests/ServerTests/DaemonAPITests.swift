import Engine
import Foundation
import Server
import TestSupport
import XCTest

/// The API over a real socket to a real daemon, every answer checked against api/openapi.json.
final class DaemonAPITests: XCTestCase {
    let spec = try! OpenAPISpec()

    /// Asserts `reply` has `status` and a body that the spec's schema for `route` accepts.
    @discardableResult
    func check(_ reply: UnixHTTPClient.Reply, _ method: String, _ route: String, _ status: Int,
               file: StaticString = #filePath, line: UInt = #line) throws -> JSON {
        XCTAssertEqual(reply.status, status, "\(method) \(route): \(reply.errorMessage)", file: file, line: line)
        let body = try XCTUnwrap(reply.json, "\(method) \(route): not JSON: \(String(decoding: reply.body, as: UTF8.self))", file: file, line: line)
        let schema = try XCTUnwrap(spec.responseSchema(method, route, status: status), "the spec has no \(status) for \(method) \(route)",
                                   file: file, line: line)
        let problems = spec.problems(body, schema)
        XCTAssertEqual(problems, [], "\(method) \(route) \(status): \(body.serialized.prefix(300))", file: file, line: line)
        return body
    }

    func testOwnVectorsRoundTripThroughEveryRoute() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), test: self)
        let client = try daemon.client()
        try check(client.send("GET", "/health"), "GET", "/health", 200)
        try check(client.send("PUT", "/indexes/vec", ["dimensions": 8]), "PUT", "/indexes/{name}", 201)
        try check(client.send("PUT", "/indexes/vec", ["dimensions": 8]), "PUT", "/indexes/{name}", 409)
        let documents: [JSON] = (0..<50).map { n in
            ["id": .string("d\(n)"), "text": .string("document \(n)"), "meta": ["n": JSON(n)],
             "vector": .array(vector(n, dims: 8).map(JSON.float))]
        }
        let written = try check(client.send("POST", "/indexes/vec/documents", ["documents": .array(documents)]),
                                "POST", "/indexes/{name}/documents", 200)
        XCTAssertEqual(written, ["added": 50, "changed": 0, "unchanged": 0])
        let again = try check(client.send("POST", "/indexes/vec/documents", ["documents": .array(Array(documents.prefix(5)))]),
                              "POST", "/indexes/{name}/documents", 200)
        XCTAssertEqual(again, ["added": 0, "changed": 0, "unchanged": 5])

        let query = JSON.array(vector(7, dims: 8).map(JSON.float))
        let found = try check(client.send("POST", "/indexes/vec/search", ["vector": query, "k": 3, "include_text": true]),
                              "POST", "/indexes/{name}/search", 200)
        XCTAssertEqual(found["hits"]?.array?.first?["id"], "d7")
        XCTAssertEqual(found["hits"]?.array?.first?["text"], "document 7")
        XCTAssertEqual(found["hits"]?.array?.first?["meta"], ["n": 7])
        XCTAssertEqual(found["hits"]?.array?.count, 3)
        let batch = try check(client.send("POST", "/indexes/vec/search/batch", ["queries": [["vector": query, "k": 1], ["vector": query, "dims": 4, "k": 2]]]),
                              "POST", "/indexes/{name}/search/batch", 200)
        XCTAssertEqual(batch["results"]?.array?.map { $0["hits"]?.array?.count }, [1, 2])
        XCTAssertEqual(batch["results"]?.array?[1]["plan"]?["stages"], [["dims": 4, "keep": 2]])

        let document = try check(client.send("GET", "/indexes/vec/documents/d3"), "GET", "/indexes/{name}/documents/{id}", 200)
        XCTAssertEqual(document, ["id": "d3", "text": "document 3", "meta": ["n": 3]])
        try check(client.send("DELETE", "/indexes/vec/documents/d3"), "DELETE", "/indexes/{name}/documents/{id}", 200)
        try check(client.send("DELETE", "/indexes/vec/documents/d3"), "DELETE", "/indexes/{name}/documents/{id}", 404)
        try check(client.send("GET", "/indexes/vec/documents/d3"), "GET", "/indexes/{name}/documents/{id}", 404)

        let info = try check(client.send("GET", "/indexes/vec"), "GET", "/indexes/{name}", 200)
        XCTAssertEqual(info["documents"], 49)
        let list = try check(client.send("GET", "/indexes"), "GET", "/indexes", 200)
        XCTAssertEqual(list["indexes"]?.array?.compactMap { $0["name"]?.string }, ["vec"])
        let metrics = try client.send("GET", "/metrics")
        XCTAssertEqual(metrics.status, 200)
        let text = String(decoding: metrics.body, as: UTF8.self)
        XCTAssertTrue(text.contains(#"mrl_requests_total{route="/indexes/{name}/search",status="200"} 1"#), text)
        XCTAssertTrue(text.contains(#"mrl_search_duration_seconds_count{dims="8"} 2"#), text)
        XCTAssertTrue(text.contains(#"mrl_index_documents{index="vec"} 49.0"#), text)

        let backup = try check(client.send("POST", "/indexes/vec/backup"), "POST", "/indexes/{name}/backup", 200)
        try check(client.send("DELETE", "/indexes/vec"), "DELETE", "/indexes/{name}", 200)
        try check(client.send("GET", "/indexes/vec"), "GET", "/indexes/{name}", 404)
        XCTAssertEqual(daemon.stop(), 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.socket), "the socket file is removed on SIGTERM")

        // The backup comes back with `mrl restore` while no daemon holds the index.
        let restored = try mrl(["restore", "--data", daemon.data, "--index", "vec", "--from", backup["backup"]!.string!])
        XCTAssertEqual(restored.status, 0, restored.stderr)
        let got = try mrl(["get", "--data", daemon.data, "--index", "vec", "d5"])
        XCTAssertTrue(got.stdout.contains("document 5"), got.stdout + got.stderr)
    }

    func testBadRequestsGetJSONErrorsWithTheRightStatus() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), arguments: ["--max-body", "64K"], test: self)
        let client = try daemon.client()
        try check(client.send("PUT", "/indexes/v", ["dimensions": 4]), "PUT", "/indexes/{name}", 201)
        let search = "/indexes/{name}/search"
        let cases: [(String, String, [UInt8]?, Int, String, String)] = [
            ("POST", "/indexes/v/search", Array(#"{"vector": [1, 2, 3, 4]"#.utf8), 400, search, "line 1, column 24"),
            ("POST", "/indexes/v/search", Array(#"{"vector": [1, 2, 3]}"#.utf8), 400, search, "has 3 dimensions, the index has 4"),
            ("POST", "/indexes/v/search", Array(#"{"vector": [1, 2, 3, 4], "k": 0}"#.utf8), 400, search, "\"k\" must be between 1 and 10000"),
            ("POST", "/indexes/v/search", Array(#"{"vector": [1, 2, 3, 4], "k": 10001}"#.utf8), 400, search, "\"k\" must be between"),
            ("POST", "/indexes/v/search", Array(#"{"vector": [1, 2, 3, 4], "budget_ms": -1}"#.utf8), 400, search, "\"budget_ms\" must be a positive"),
            ("POST", "/indexes/v/search", Array(#"{"vector": [1, 2, 3, 4], "k": "ten"}"#.utf8), 400, search, "\"k\" must be a whole number"),
            ("POST", "/indexes/v/search", Array(#"{"vector": [1, 2, 3, 4], "kk": 1}"#.utf8), 400, search, "\"kk\" is not a field"),
            ("POST", "/indexes/v/search", Array(#"{"query": "text"}"#.utf8), 400, search, "holds vectors of your own model"),
            ("POST", "/indexes/v/search", Array(#"{"vector": [1, 2, 3, 4], "preset": "fast"}"#.utf8), 400, search, "has no measured plans yet"),
            ("POST", "/indexes/v/search", Array(#"{"vector": [1, 2, 3, 4], "preset": "fast", "ef": 5}"#.utf8), 400, search, "\"preset\" names a plan"),
            ("POST", "/indexes/v/search", Array(#"{"vector": [1e999, 0, 0, 0]}"#.utf8), 400, search, "out of range"),
            ("POST", "/indexes/v/search", Array(#"{"vector": [0, 0, 0, 0]}"#.utf8), 400, search, "all zero"),
            ("POST", "/indexes/v/search", [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D], 400, search, "invalid UTF-8"),
            ("POST", "/indexes/v/search", Array((String(repeating: "[", count: 40) + String(repeating: "]", count: 40)).utf8), 400, search, "nesting deeper than 32"),
            ("POST", "/indexes/v/search", Array("[1]".utf8), 400, search, "must be a JSON object"),
            ("POST", "/indexes/v/search", nil, 400, search, "needs a JSON object body"),
            ("POST", "/indexes/v/search", Array(repeating: 0x20, count: 70_000), 413, search, "the limit is 65536 bytes"),
            ("POST", "/indexes/nope/search", Array(#"{"vector": [1, 2, 3, 4]}"#.utf8), 404, search, "no index named \"nope\""),
            ("POST", "/indexes/..%2F..%2Fetc/search", Array(#"{"vector": [1, 2, 3, 4]}"#.utf8), 400, search, "invalid index name"),
            ("GET", "/indexes/v/search", nil, 405, search, "takes POST"),
            ("POST", "/indexes/v/documents", Array(#"{"documents": [{"id": "a", "vector": [1, 2]}]}"#.utf8), 400, "/indexes/{name}/documents", "documents[0].vector\" has 2 dimensions"),
            ("POST", "/indexes/v/documents", Array(#"{"documents": [{"id": "a", "text": "no vector"}]}"#.utf8), 400, "/indexes/{name}/documents", "each document needs one"),
            ("POST", "/indexes/v/documents", Array(#"{"documents": [{"text": "x"}]}"#.utf8), 400, "/indexes/{name}/documents", "documents[0].id\" is missing"),
            ("POST", "/indexes/v/documents", Array(#"{"documents": []}"#.utf8), 400, "/indexes/{name}/documents", "is empty"),
            ("POST", "/indexes/v/documents", Array(#"{"documents": [{"id": "\#(String(repeating: "i", count: 512))", "vector": [1, 2, 3, 4]}]}"#.utf8), 400,
             "/indexes/{name}/documents", "documents[0].id\" is 512 bytes: ids may be at most 511"),
            ("GET", "/indexes/v/documents/\(String(repeating: "i", count: 600))", nil, 404, "/indexes/{name}/documents/{id}", "has no document"),
            ("GET", "/health?=&&==", nil, 200, "/health", "\"status\":\"ok\""),
            ("PUT", "/indexes/backups", nil, 400, "/indexes/{name}", "invalid index name"),
            ("PUT", "/indexes/w", Array(#"{"dimensions": 0}"#.utf8), 400, "/indexes/{name}", "between 1 and 4096"),
            ("PUT", "/indexes/w", Array(#"{"precision": "int4"}"#.utf8), 400, "/indexes/{name}", #""precision" must be one of fp32, int8, got "int4""#),
            ("PUT", "/indexes/w", Array(#"{"dimensions": 8, "precision": "int8"}"#.utf8), 400, "/indexes/{name}", "your own model's vectors, which mrl does not embed"),
            ("POST", "/embed", Array(#"{"texts": ["a"], "precision": "bf16"}"#.utf8), 400, "/embed", #""precision" must be one of fp32, int8"#),
        ]
        for (method, path, body, status, route, message) in cases {
            let reply = try client.request(method, path, body: body)
            XCTAssertEqual(reply.status, status, "\(method) \(path): \(reply.errorMessage)")
            XCTAssertTrue(reply.errorMessage.contains(message), "\(method) \(path): expected “\(message)” in “\(reply.errorMessage)”")
            if let schema = spec.responseSchema(method, route, status: status), let json = reply.json {
                XCTAssertEqual(spec.problems(json, schema), [], "\(method) \(path)")
            } else if route != search || status != 405 {
                XCTFail("\(method) \(path) \(status): the spec does not describe this answer, or it is not JSON")
            }
        }
        let tooMany = try client.send("POST", "/indexes/v/search/batch", ["queries": .array(Array(repeating: ["vector": [1, 2, 3, 4]], count: 1_025))])
        XCTAssertEqual(tooMany.status, 413, tooMany.errorMessage)
        XCTAssertTrue(tooMany.errorMessage.contains("\"queries\" has 1025 items, over the limit of 1024"), tooMany.errorMessage)
        let unknown = try client.request("GET", "/nowhere")
        XCTAssertEqual(unknown.status, 404)
        XCTAssertTrue(daemon.process.isRunning)
    }
    /// Issue 16's cases 1–4: single requests that each used to trap the daemon, against an
    /// index with a graph (built by the daemon from 5,000 documents), answered 400.
    func testRequestsThatOnceKilledTheDaemonAreRefused() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), test: self)
        let client = try daemon.client()
        try check(client.send("PUT", "/indexes/g", ["dimensions": 8]), "PUT", "/indexes/{name}", 201)
        let documents: [JSON] = (0..<5_000).map { n in ["id": .string("d\(n)"), "vector": .array(vector(n, dims: 8).map(JSON.float))] }
        try check(client.send("POST", "/indexes/g/documents", ["documents": .array(documents)]), "POST", "/indexes/{name}/documents", 200)
        let waitUntil = Date().addingTimeInterval(120)
        while try client.send("GET", "/indexes/g").json?["graph"] == .null, Date() < waitUntil { Thread.sleep(forTimeInterval: 0.2) }
        XCTAssertNotEqual(try client.send("GET", "/indexes/g").json?["graph"], .null, "the daemon builds a graph from 5,000 documents")

        let search = "/indexes/{name}/search", write = "/indexes/{name}/documents"
        let cases: [(String, String, Int, String, String)] = [
            ("/indexes/g/search", #"{"vector": [1, 0, 0, 0, 0, 0, 0, 0], "deadline_ms": 1e300}"#, 400, search, "\"deadline_ms\" must be a positive number of milliseconds up to"),
            ("/indexes/g/search", #"{"vector": [1, 0, 0, 0, 0, 0, 0, 0], "budget_ms": 1e300}"#, 400, search, "\"budget_ms\" must be"),
            ("/indexes/g/search", #"{"vector": [1e-30, 0, 0, 0, 0, 0, 0, 0]}"#, 400, search, "\"vector\" is too small"),
            ("/indexes/g/search", #"{"vector": [1e-30, 0, 0, 0, 0, 0, 0, 0], "dims": 8}"#, 400, search, "\"vector\" is too small"),
            ("/indexes/g/search", #"{"vector": [0, 0, 0, 0, 0, 0, 0, 0]}"#, 400, search, "\"vector\" is all zeros"),
            ("/indexes/g/search", #"{"vector": [1e30, 0, 0, 0, 0, 0, 0, 0]}"#, 400, search, "\"vector\" is too large"),
            ("/indexes/g/search/batch", #"{"queries": [{"vector": [1, 0, 0, 0, 0, 0, 0, 0], "k": 9223372036854775807}, {"vector": [1, 0, 0, 0, 0, 0, 0, 0]}]}"#,
             400, "/indexes/{name}/search/batch", "\"queries[0].k\" must be between 1 and 10000"),
            // A batch of one still names the query's position: the field is where the client wrote it.
            ("/indexes/g/search/batch", #"{"queries": [{"vector": [1, 0, 0, 0, 0, 0, 0, 0], "k": 0}]}"#,
             400, "/indexes/{name}/search/batch", "\"queries[0].k\" must be between 1 and 10000"),
            ("/indexes/g/documents", #"{"documents": [{"id": "z", "vector": [0, 0, 0, 0, 0, 0, 0, 0]}]}"#, 400, write, "\"documents[0].vector\" is all zeros"),
            ("/indexes/g/documents", #"{"documents": [{"id": "t", "vector": [1e-30, 0, 0, 0, 0, 0, 0, 0]}]}"#, 400, write, "\"documents[0].vector\" is too small"),
            ("/indexes/g/documents", #"{"documents": [{"id": "d", "vector": [1, 0, 0, 0, 0, 0, 0, 0]}, {"id": "d", "vector": [0, 1, 0, 0, 0, 0, 0, 0]}]}"#,
             200, write, #""added":1,"changed":1"#),
        ]
        for (path, body, status, route, message) in cases {
            let reply = try client.request("POST", path, body: Array(body.utf8))
            XCTAssertEqual(reply.status, status, "\(body): \(reply.errorMessage)")
            let answer = status == 200 ? String(decoding: reply.body, as: UTF8.self) : reply.errorMessage
            XCTAssertTrue(answer.contains(message), "\(body): expected “\(message)” in “\(answer)”")
            if let schema = spec.responseSchema("POST", route, status: status), let json = reply.json {
                XCTAssertEqual(spec.problems(json, schema), [], body)
            } else {
                XCTFail("\(body) \(status): the spec does not describe this answer, or it is not JSON")
            }
        }
        // The repeated id was written once, as its last occurrence, and the graph holds it once.
        let found = try client.send("POST", "/indexes/g/search", ["vector": [0, 1, 0, 0, 0, 0, 0, 0], "k": 1, "ef": 64])
        XCTAssertEqual(found.json?["hits"]?.array?.first?["id"], "d")
        XCTAssertEqual(try client.send("GET", "/indexes/g").json?["documents"], 5_001)
        XCTAssertEqual(try client.send("GET", "/health").status, 200)
        XCTAssertTrue(daemon.process.isRunning)
    }
    /// A batch's work is bounded as a whole (issue 16, case 6), not only per query.
    func testABatchIsBoundedByTheHitsItAsksFor() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), test: self)
        let client = try daemon.client()
        try check(client.send("PUT", "/indexes/b", ["dimensions": 4]), "PUT", "/indexes/{name}", 201)
        let documents: [JSON] = (0..<20).map { n in ["id": .string("d\(n)"), "text": .string("text \(n)"), "vector": .array(vector(n, dims: 4).map(JSON.float))] }
        try check(client.send("POST", "/indexes/b/documents", ["documents": .array(documents)]), "POST", "/indexes/{name}/documents", 200)
        let query: JSON = ["vector": [1, 0.5, 0, 0], "k": 10_000, "include_text": true]
        let tooMuch = try check(client.send("POST", "/indexes/b/search/batch", ["queries": .array(Array(repeating: query, count: 11))]),
                                "POST", "/indexes/{name}/search/batch", 413)
        XCTAssertTrue(tooMuch.serialized.contains("ask for 110000 hits in all (the sum of their k), over the limit of 100000"), tooMuch.serialized)
        let within = try check(client.send("POST", "/indexes/b/search/batch", ["queries": .array(Array(repeating: query, count: 10))]),
                               "POST", "/indexes/{name}/search/batch", 200)
        XCTAssertEqual(within["results"]?.array?.map { $0["hits"]?.array?.count }, Array(repeating: 20, count: 10))
        XCTAssertEqual(within["results"]?.array?[9]["hits"]?.array?.first?["text"]?.string?.hasPrefix("text "), true)
    }
}
