import Engine
import NIOCore
import NIOEmbedded
import NIOHTTP1
import XCTest

@testable import Server

/// The routes through `Application.handle`, in process: a real `Application` over a scratch
/// data folder, its writers on their own queues, answering on a thread-safe testing loop.
final class RoutesTests: XCTestCase {
    private var loop: NIOAsyncTestingEventLoop!

    override func setUp() { loop = NIOAsyncTestingEventLoop() }
    override func tearDown() async throws { await loop.shutdownGracefully() }

    func testHealthUnknownRoutesAndWrongMethods() async throws {
        let daemon = InProcessDaemon(test: self)
        let health = try await daemon.answer(.GET, "/health", on: loop)
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.json?["status"], "ok")
        XCTAssertEqual(health.json?["indexes_open"], 0)

        let unknown = try await daemon.answer(.GET, "/indexes/x/nowhere", on: loop)
        XCTAssertEqual(unknown.status, 404)
        XCTAssertEqual(unknown.json?["error"]?["code"], "not_found")
        XCTAssertTrue(unknown.json?["error"]?["message"]?.string?.contains("no route GET /indexes/x/nowhere") == true, "\(unknown)")

        let wrong = try await daemon.answer(.POST, "/health", on: loop)
        XCTAssertEqual(wrong.status, 405)
        XCTAssertEqual(wrong.json?["error"]?["message"], "/health takes GET, not POST")
        let missing = try await daemon.answer(.GET, "/indexes/none", on: loop)
        XCTAssertEqual(missing.status, 404)
        XCTAssertTrue(missing.json?["error"]?["message"]?.string?.contains("create it with PUT /indexes/none") == true, "\(missing)")
    }

    /// An index created, written, searched and dropped, in the data folder on disk.
    func testAnIndexIsCreatedWrittenSearchedAndDropped() async throws {
        let daemon = InProcessDaemon(test: self)
        let created = try await daemon.answer(.PUT, "/indexes/v", ["dimensions": 4], on: loop)
        XCTAssertEqual(created.status, 201)
        let again = try await daemon.answer(.PUT, "/indexes/v", ["dimensions": 4], on: loop)
        XCTAssertEqual(again.status, 409)
        XCTAssertTrue(FileManager.default.fileExists(atPath: daemon.application.registry.data.path + "/v"))

        let documents: JSON = ["documents": [["id": "east", "vector": [1, 0, 0, 0]], ["id": "north", "vector": [0, 1, 0, 0]],
                                             ["id": "north-east", "vector": [0.7, 0.7, 0, 0], "text": "between"]]]
        let written = try await daemon.answer(.POST, "/indexes/v/documents", documents, on: loop)
        XCTAssertEqual(written.status, 200)
        XCTAssertEqual(written.json?["added"], 3)

        let found = try await daemon.answer(.POST, "/indexes/v/search", ["vector": [0.1, 1, 0, 0], "k": 2, "include_text": true], on: loop)
        XCTAssertEqual(found.status, 200)
        XCTAssertEqual(found.json?["hits"]?.array?.compactMap { $0["id"]?.string }, ["north", "north-east"])
        let badField = try await daemon.answer(.POST, "/indexes/v/search", ["vector": [1, 0, 0, 0], "k": "two"], on: loop)
        XCTAssertEqual(badField.status, 400)
        XCTAssertTrue(badField.json?["error"]?["message"]?.string?.contains("\"k\"") == true, "\(badField)")

        let info = try await daemon.answer(.GET, "/indexes/v", on: loop)
        XCTAssertEqual(info.json?["documents"], 3)
        let document = try await daemon.answer(.GET, "/indexes/v/documents/north-east", on: loop)
        XCTAssertEqual(document.json?["text"], "between")

        let dropped = try await daemon.answer(.DELETE, "/indexes/v", on: loop)
        XCTAssertEqual(dropped.status, 200)
        let gone = try await daemon.answer(.GET, "/indexes/v", on: loop)
        XCTAssertEqual(gone.status, 404)
    }
}
