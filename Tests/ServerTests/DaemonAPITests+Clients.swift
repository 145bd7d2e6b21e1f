import Engine
import Foundation
import Server
import TestSupport
import XCTest

/// What clients of the API (the Python client, LangChain's and LlamaIndex's stores) need
/// beyond search: embeddings, stored vectors, documents by id in bulk, error codes that tell
/// what is missing, and metadata that comes back as it went in.
extension DaemonAPITests {
    private func documents(_ count: Int, dims: Int) -> [JSON] {
        (0..<count).map { n in
            ["id": .string("d\(n)"), "text": .string("document \(n)"), "meta": ["n": JSON(n)],
             "vector": .array(vector(n, dims: dims).map(JSON.float))]
        }
    }

    func testEmbedGivesTheRawVectorsAnIndexStoresForTheSameTexts() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), test: self)
        let client = try daemon.client()
        try check(client.send("PUT", "/indexes/t", [:]), "PUT", "/indexes/{name}", 201)
        let texts = ["a viewer for pdf files", "secure shell client", "a text editor"]
        let items: [JSON] = texts.enumerated().map { n, text in ["id": .string("t\(n)"), "text": .string(text)] }
        try check(client.send("POST", "/indexes/t/documents", ["documents": .array(items)]), "POST", "/indexes/{name}/documents", 200)
        let stored = try check(client.send("POST", "/indexes/t/documents/get", ["ids": ["t0", "t1", "t2"], "include_vectors": true]),
                               "POST", "/indexes/{name}/documents/get", 200)
        let storedVectors = try XCTUnwrap(stored["documents"]?.array?.compactMap { $0["vector"] })
        XCTAssertEqual(storedVectors.count, 3)
        XCTAssertEqual(storedVectors.first?.array?.count, 384)

        let ofIndex = try check(client.send("POST", "/embed", ["texts": .array(texts.map(JSON.string)), "index": "t"]), "POST", "/embed", 200)
        XCTAssertEqual(ofIndex["vectors"]?.array, storedVectors, "the same texts in the same encoder batch: the stored vectors, exactly")
        XCTAssertEqual(ofIndex["dimensions"], 384)
        XCTAssertEqual(ofIndex["model"]?["name"], .string(Model.defaultName))
        let info = try check(client.send("GET", "/indexes/t"), "GET", "/indexes/{name}", 200)
        XCTAssertEqual(ofIndex["model"], info["model"])
        // One text alone, in another encoder batch: the same vector within the encoder's
        // batching tolerance (TextEncoderTests), as the text written alone would be stored.
        let alone = try check(client.send("POST", "/embed", ["texts": .array([.string(texts[1])])]), "POST", "/embed", 200)
        let single = try XCTUnwrap(alone["vectors"]?.array?.first?.array?.compactMap(\.float))
        let stored1 = try XCTUnwrap(storedVectors[1].array?.compactMap(\.float))
        XCTAssertGreaterThan(zip(single, stored1).reduce(Float(0)) { $0 + $1.0 * $1.1 }, 0.99999)
        XCTAssertEqual(alone["model"], info["model"], "the built-in model's, without \"index\"")

        // A text search's hit carries the same stored vector.
        let found = try check(client.send("POST", "/indexes/t/search", ["query": "pdf viewer", "k": 1, "include_vectors": true]),
                              "POST", "/indexes/{name}/search", 200)
        XCTAssertEqual(found["hits"]?.array?.first?["id"], "t0")
        XCTAssertEqual(found["hits"]?.array?.first?["vector"], storedVectors[0])
    }

    func testEmbedRefusesWhatItCannotEmbed() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), test: self)
        let client = try daemon.client()
        try check(client.send("PUT", "/indexes/own", ["dimensions": 8]), "PUT", "/indexes/{name}", 201)
        let tooMany = JSON.array(Array(repeating: "text", count: 1_025))
        let cases: [(JSON, Int, String, String)] = [
            (["texts": ["a"], "index": "own"], 400, "bad_request", "\"index\" names \"own\", which holds 8-d vectors of your own model: it has no model to embed with"),
            (["texts": ["a"], "index": "nope"], 404, "index_not_found", "no index named \"nope\""),
            (["texts": ["a"], "index": "../etc"], 400, "bad_request", "\"index\" names no index: invalid index name"),
            (["texts": ["a", 5]], 400, "bad_request", "\"texts[1]\" must be a string, got number"),
            (["texts": []], 400, "bad_request", "\"texts\" is empty"),
            (["text": ["a"]], 400, "bad_request", "\"text\" is not a field of this request"),
            (["texts": tooMany], 413, "too_large", "\"texts\" has 1025 items, over the limit of 1024"),
        ]
        for (body, status, code, message) in cases {
            let answer = try check(client.send("POST", "/embed", body), "POST", "/embed", status)
            XCTAssertEqual(answer["error"]?["code"]?.string, code, body.serialized)
            XCTAssertTrue(answer["error"]?["message"]?.string?.contains(message) == true, "\(body.serialized): \(answer.serialized)")
        }
    }

    func testIncludeVectorsGivesEachHitItsStoredVectorWithinTheAnswerLimit() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), arguments: ["--max-answer", "1K"], test: self)
        let client = try daemon.client()
        try check(client.send("PUT", "/indexes/v", ["dimensions": 8]), "PUT", "/indexes/{name}", 201)
        try check(client.send("POST", "/indexes/v/documents", ["documents": .array(documents(20, dims: 8))]), "POST", "/indexes/{name}/documents", 200)
        let query = JSON.array(vector(7, dims: 8).map(JSON.float))
        let found = try check(client.send("POST", "/indexes/v/search", ["vector": query, "k": 3, "include_vectors": true]),
                              "POST", "/indexes/{name}/search", 200)
        XCTAssertEqual(found["hits"]?.array?.first?["id"], "d7")
        XCTAssertEqual(found["hits"]?.array?.first?["vector"], query, "the vector as stored")
        XCTAssertNil(found["hits"]?.array?.first?["text"], "vectors without texts")
        for hit in found["hits"]?.array ?? [] {
            let n = try XCTUnwrap(Int(hit["id"]?.string?.dropFirst() ?? ""))
            XCTAssertEqual(hit["vector"], .array(vector(n, dims: 8).map(JSON.float)))
        }
        let batch = try check(client.send("POST", "/indexes/v/search/batch", ["queries": [["vector": query, "k": 1, "include_vectors": true], ["vector": query, "k": 1]]]),
                              "POST", "/indexes/{name}/search/batch", 200)
        XCTAssertEqual(batch["results"]?.array?.map { $0["hits"]?.array?.first?["vector"] != nil }, [true, false])

        // 10 hits of 8 floats count 1,280 bytes, over 1K; without vectors the same search fits.
        let over = try check(client.send("POST", "/indexes/v/search", ["vector": query, "k": 10, "include_vectors": true]),
                             "POST", "/indexes/{name}/search", 413)
        XCTAssertTrue(over.serialized.contains("without \\\"include_text\\\" or \\\"include_vectors\\\""), over.serialized)
        try check(client.send("POST", "/indexes/v/search", ["vector": query, "k": 10]), "POST", "/indexes/{name}/search", 200)
        try check(client.send("POST", "/indexes/v/search/batch", ["queries": [["vector": query, "k": 5, "include_vectors": true], ["vector": query, "k": 5, "include_vectors": true]]]),
                  "POST", "/indexes/{name}/search/batch", 413)
        try check(client.send("POST", "/indexes/v/documents/get", ["ids": .array((0..<10).map { .string("d\($0)") }), "include_vectors": true]),
                  "POST", "/indexes/{name}/documents/get", 413)
    }

    func testBulkGetAndDeleteAnswerWhichIdsWereMissing() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), test: self)
        let client = try daemon.client()
        try check(client.send("PUT", "/indexes/v", ["dimensions": 8]), "PUT", "/indexes/{name}", 201)
        try check(client.send("POST", "/indexes/v/documents", ["documents": .array(documents(20, dims: 8))]), "POST", "/indexes/{name}/documents", 200)

        let got = try check(client.send("POST", "/indexes/v/documents/get", ["ids": ["d3", "nope", "d1", "d3", 7]]),
                            "POST", "/indexes/{name}/documents/get", 200)
        XCTAssertEqual(got["documents"]?.array?.compactMap { $0["id"]?.string }, ["d3", "d1"], "in the order asked, each once")
        XCTAssertEqual(got["documents"]?.array?.first, ["id": "d3", "text": "document 3", "meta": ["n": 3]])
        XCTAssertEqual(got["missing"], ["nope", "7"])
        let withVectors = try check(client.send("POST", "/indexes/v/documents/get", ["ids": ["d2"], "include_vectors": true]),
                                    "POST", "/indexes/{name}/documents/get", 200)
        XCTAssertEqual(withVectors["documents"]?.array?.first?["vector"], .array(vector(2, dims: 8).map(JSON.float)))

        let deleted = try check(client.send("POST", "/indexes/v/documents/delete", ["ids": ["d1", "nope", "d2", "d1"]]),
                                "POST", "/indexes/{name}/documents/delete", 200)
        XCTAssertEqual(deleted, ["deleted": 2, "missing": ["nope"]])
        let again = try check(client.send("POST", "/indexes/v/documents/delete", ["ids": ["d1"]]), "POST", "/indexes/{name}/documents/delete", 200)
        XCTAssertEqual(again, ["deleted": 0, "missing": ["d1"]])
        // A document with the id "get" is still read and deleted by its own route.
        try check(client.send("POST", "/indexes/v/documents", ["documents": [["id": "get", "vector": .array(vector(1, dims: 8).map(JSON.float))]]]),
                  "POST", "/indexes/{name}/documents", 200)
        try check(client.send("GET", "/indexes/v/documents/get"), "GET", "/indexes/{name}/documents/{id}", 200)
        try check(client.send("DELETE", "/indexes/v/documents/get"), "DELETE", "/indexes/{name}/documents/{id}", 200)

        // Durable when answered: a daemon killed at once has them gone after a restart.
        daemon.kill9()
        let restarted = try DaemonProcess(data: daemon.data, test: self)
        let after = try check(restarted.client().send("POST", "/indexes/v/documents/get", ["ids": ["d0", "d1", "d2"]]),
                              "POST", "/indexes/{name}/documents/get", 200)
        XCTAssertEqual(after["missing"], ["d1", "d2"])
        let info = try check(restarted.client().send("GET", "/indexes/v"), "GET", "/indexes/{name}", 200)
        XCTAssertEqual(info["documents"], 18)
    }

    func testBulkRequestsAreCheckedFieldByField() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), test: self)
        let client = try daemon.client()
        try check(client.send("PUT", "/indexes/v", ["dimensions": 8]), "PUT", "/indexes/{name}", 201)
        let tooMany = JSON.array((0...10_000).map { .string("d\($0)") })
        for route in ["get", "delete"] {
            let cases: [(JSON, Int, String)] = [
                (["ids": tooMany], 413, "\"ids\" has 10001 items, over the limit of 10000"),
                (["ids": ["a", ""]], 400, "\"ids[1]\" must be a non-empty string"),
                (["ids": ["a", 1.5]], 400, "\"ids[1]\" must be a non-empty string"),
                (["ids": .array([.string(String(repeating: "i", count: 512))])], 400, "\"ids[0]\" is 512 bytes"),
                (["ids": []], 400, "\"ids\" is empty"),
                ([:], 400, "\"ids\" is missing"),
                (["ids": ["a"], "id": "b"], 400, "\"id\" is not a field of this request"),
            ]
            for (body, status, message) in cases {
                let answer = try check(client.send("POST", "/indexes/v/documents/\(route)", body), "POST", "/indexes/{name}/documents/\(route)", status)
                XCTAssertTrue(answer["error"]?["message"]?.string?.contains(message) == true, "\(route) \(body.serialized.prefix(80)): \(answer.serialized)")
            }
        }
        let vectors = try check(client.send("POST", "/indexes/v/documents/delete", ["ids": ["a"], "include_vectors": true]),
                                "POST", "/indexes/{name}/documents/delete", 400)
        XCTAssertEqual(vectors["error"]?["message"]?.string?.hasPrefix("\"include_vectors\" is not a field"), true)
    }

    func testMissingIndexDocumentAndRouteHaveCodesOfTheirOwn() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), test: self)
        let client = try daemon.client()
        try check(client.send("PUT", "/indexes/v", ["dimensions": 8]), "PUT", "/indexes/{name}", 201)
        let cases: [(String, String, JSON?, String, String)] = [
            ("GET", "/indexes/nope", nil, "/indexes/{name}", "index_not_found"),
            ("POST", "/indexes/nope/search", ["vector": [1, 0, 0, 0, 0, 0, 0, 0]], "/indexes/{name}/search", "index_not_found"),
            ("POST", "/indexes/nope/documents/get", ["ids": ["a"]], "/indexes/{name}/documents/get", "index_not_found"),
            ("POST", "/indexes/nope/documents/delete", ["ids": ["a"]], "/indexes/{name}/documents/delete", "index_not_found"),
            ("GET", "/indexes/nope/documents/a", nil, "/indexes/{name}/documents/{id}", "index_not_found"),
            ("GET", "/indexes/v/documents/a", nil, "/indexes/{name}/documents/{id}", "document_not_found"),
            ("DELETE", "/indexes/v/documents/a", nil, "/indexes/{name}/documents/{id}", "document_not_found"),
        ]
        for (method, path, body, route, code) in cases {
            let answer = try check(client.send(method, path, body), method, route, 404)
            XCTAssertEqual(answer["error"]?["code"]?.string, code, "\(method) \(path)")
        }
        let noRoute = try client.send("GET", "/indexes/v/nothing/here")
        XCTAssertEqual(noRoute.status, 404)
        XCTAssertEqual(noRoute.json?["error"]?["code"], "not_found")
        // The CLI creates a missing index through the daemon by its code.
        let catalog = try DaemonCatalog(socket: daemon.socket)
        _ = try catalog.indexCreatingIfMissing("fresh", dimensions: 8, precision: .fp32)
        try check(client.send("GET", "/indexes/fresh"), "GET", "/indexes/{name}", 200)
    }

    func testMetadataNumbersComeBackAsTheyWentIn() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), test: self)
        let client = try daemon.client()
        try check(client.send("PUT", "/indexes/v", ["dimensions": 8]), "PUT", "/indexes/{name}", 201)
        // Keys sorted, as stored; 2^53 + 1 is the first whole number a Double cannot hold.
        let meta = #"{"big":12345678901234567,"half":0.5,"list":[9007199254740993,1],"max":9223372036854775807,"min":-9223372036854775808,"negative":-12345678901234567}"#
        let body = #"{"documents": [{"id": "m", "vector": [1, 0, 0, 0, 0, 0, 0, 0], "meta": \#(meta)}]}"#
        let written = try client.request("POST", "/indexes/v/documents", body: Array(body.utf8))
        XCTAssertEqual(written.status, 200, written.errorMessage)
        func metaText(_ reply: UnixHTTPClient.Reply, _ path: (JSON) -> JSON?) throws -> String? {
            try path(XCTUnwrap(reply.json)).map(\.serialized)
        }
        for client in [client, try daemon.client()] {
            XCTAssertEqual(try metaText(client.send("GET", "/indexes/v/documents/m")) { $0["meta"] }, meta)
            XCTAssertEqual(try metaText(client.send("POST", "/indexes/v/documents/get", ["ids": ["m"]])) { $0["documents"]?.array?.first?["meta"] }, meta)
            XCTAssertEqual(try metaText(client.send("POST", "/indexes/v/search", ["vector": [1, 0, 0, 0, 0, 0, 0, 0], "include_text": true])) {
                $0["hits"]?.array?.first?["meta"]
            }, meta)
        }
        // And from the record on disk, after a restart.
        XCTAssertEqual(daemon.stop(), 0)
        let restarted = try DaemonProcess(data: daemon.data, test: self)
        XCTAssertEqual(try metaText(restarted.client().send("GET", "/indexes/v/documents/m")) { $0["meta"] }, meta)
    }
}
