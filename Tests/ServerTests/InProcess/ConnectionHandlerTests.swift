import Engine
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Server
import XCTest

@testable import Server

/// `ConnectionHandler` and the pipeline around it, in process: parsing, keep-alive and
/// pipelining, the body cap and the daemon's body budget, backpressure, admission, quiescing.
final class ConnectionHandlerTests: XCTestCase {
    func testRequestsOnOneConnectionAreAnsweredInOrderAndItStaysOpen() throws {
        let connection = try InProcessDaemon(test: self).connect()
        try connection.send("GET", "/health")
        let health = try connection.reply()
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.json?["status"], "ok")
        XCTAssertFalse(health.closes)
        XCTAssertTrue(connection.isOpen)

        // Pipelined, in one write: answered one after another, in the order sent.
        try connection.send(UnixHTTPClient.message("GET", "/health") + UnixHTTPClient.message("GET", "/nowhere")
            + UnixHTTPClient.message("DELETE", "/health"))
        XCTAssertEqual(try connection.replies().map(\.status), [200, 404, 405])
        XCTAssertTrue(connection.isOpen)

        try connection.send("GET /health HTTP/1.1\r\nHost: mrl\r\nConnection: close\r\n\r\n")
        XCTAssertTrue(try connection.reply().closes)
        XCTAssertFalse(connection.isOpen, "the client asked to close")
    }

    func testMalformedRequestsGetA400AndTheConnectionCloses() throws {
        let connection = try InProcessDaemon(test: self).connect()
        try connection.send("GET /health HTTP/1.1\r\nHost mrl\r\n\r\n")
        XCTAssertEqual(try connection.reply().status, 400)
        XCTAssertFalse(connection.isOpen)
    }

    func testTargetsArePercentDecodedPerSegment() {
        let (path, query) = RequestTarget.parse("/indexes/a%2Fb/search?k=1&flag&bad=%zz")
        XCTAssertEqual(path, ["indexes", "a/b", "search"])
        XCTAssertEqual(query, ["k": "1", "flag": "", "bad": "%zz"])
    }

    func testABodyOverTheCapGets413BeforeItIsRead() throws {
        let daemon = InProcessDaemon(test: self) { $0.maxBodyBytes = 1_000 }
        let announced = try daemon.connect()
        try announced.send(searchHead(length: 1_001))
        try expectRefusal(announced, 413, naming: "the request body is 1001 bytes; the limit is 1000 bytes (mrl serve --max-body)")

        // A chunked body announces nothing: it is refused once its chunks pass the cap.
        let chunked = try daemon.connect()
        try chunked.send(searchHead(length: nil) + chunk(1_000))
        XCTAssertEqual(try chunked.replies().count, 0, "1000 bytes are within the cap")
        try chunked.send(chunk(1))
        try expectRefusal(chunked, 413, naming: "the request body is over the limit")
        XCTAssertEqual(daemon.application.bodies.holding, 0, "refused bodies hold nothing")
    }

    /// Bodies held by all connections together stay within `--max-bodies-in-flight`: past it a
    /// request gets 503 from its head alone; an answered body gives its bytes back.
    func testBodiesInFlightShareTheDaemonsBudget() throws {
        let daemon = InProcessDaemon(test: self) { $0.maxBodyBytes = 1_000; $0.maxBodyBytesInFlight = 1_500 }
        let slow = try daemon.connect()
        try slow.send(searchHead(length: 1_000) + "{")
        XCTAssertEqual(daemon.application.bodies.holding, 1_000, "the announced length is taken at the head")

        let over = try daemon.connect()
        try over.send(searchHead(length: 600))
        try expectRefusal(over, 503, naming: "(mrl serve --max-bodies-in-flight)")

        let chunked = try daemon.connect()
        try chunked.send(searchHead(length: nil) + chunk(500))
        XCTAssertEqual(daemon.application.bodies.holding, 1_500, "a chunk takes from the budget as it comes")
        try chunked.send(chunk(1))
        try expectRefusal(chunked, 503, naming: "(mrl serve --max-bodies-in-flight)")
        XCTAssertEqual(daemon.application.bodies.holding, 1_000)

        try slow.send(String(repeating: " ", count: 998) + "}")
        XCTAssertEqual(try slow.reply().status, 404, "the whole body is answered")
        XCTAssertEqual(daemon.application.bodies.holding, 0, "an answered body gives its bytes back")
        let next = try daemon.connect()
        try next.send("POST", "/indexes/none/search", ["vector": [1]])
        XCTAssertEqual(try next.reply().status, 404)
    }

    /// A peer that does not read its answers is not read either: a request that arrives while
    /// the channel is not writable is held unanswered, and the one pipelined behind it is
    /// not even handed over, until the peer reads again.
    func testARequestWaitsWhileThePeerDoesNotReadItsAnswers() throws {
        let connection = try InProcessDaemon(test: self).connect()
        connection.setWritable(false)
        try connection.send(UnixHTTPClient.message("GET", "/health") + UnixHTTPClient.message("GET", "/nowhere"))
        XCTAssertEqual(try connection.replies().count, 0, "answered while the peer does not read")
        connection.setWritable(true)
        XCTAssertEqual(try connection.replies().map(\.status), [200, 404])
    }

    func testConnectionsPastTheLimitOrDuringAShutdownAreRefusedUnread() throws {
        let daemon = InProcessDaemon(test: self) { $0.maxConnections = 1 }
        let first = try daemon.connect()
        try expectRefusal(try daemon.connect(), 503, naming: "(limit 1, mrl serve --max-connections)")

        try first.close()
        let third = try daemon.connect()
        try third.send("GET", "/health")
        XCTAssertEqual(try third.reply().status, 200, "a closed connection frees its place")

        try third.close()
        daemon.admission.stopAdmitting()
        try expectRefusal(try daemon.connect(), 503, naming: "the daemon is shutting down")
    }

    /// A shutdown tells each connection to quiesce: an idle one closes at once; one answering a
    /// request closes after that answer, marked `Connection: close`, and what was pipelined
    /// behind it is not answered.
    func testQuiescingClosesIdleConnectionsAndOthersAfterTheirAnswer() throws {
        let daemon = InProcessDaemon(test: self)
        let idle = try daemon.connect()
        try idle.send("GET", "/health")
        XCTAssertEqual(try idle.reply().status, 200)
        idle.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        XCTAssertFalse(idle.isOpen)

        let busy = try daemon.connect()
        busy.setWritable(false)
        try busy.send(UnixHTTPClient.message("GET", "/health") + UnixHTTPClient.message("GET", "/health"))
        busy.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        XCTAssertTrue(busy.isOpen, "closed before its answer")
        busy.setWritable(true)
        let replies = try busy.replies()
        XCTAssertEqual(replies.map(\.status), [200])
        XCTAssertEqual(replies.map(\.closes), [true])
        XCTAssertFalse(busy.isOpen)
    }

    // MARK: - Helpers

    /// The head of a search whose body is `length` bytes, or chunked (nil).
    private func searchHead(length: Int?) -> String {
        "POST /indexes/none/search HTTP/1.1\r\nHost: mrl\r\n" + (length.map { "Content-Length: \($0)" } ?? "Transfer-Encoding: chunked") + "\r\n\r\n"
    }

    /// One chunk of a chunked body: `size` spaces.
    private func chunk(_ size: Int) -> String {
        String(size, radix: 16) + "\r\n" + String(repeating: " ", count: size) + "\r\n"
    }

    /// The connection's one reply is a refusal with `status` whose message contains `text`,
    /// and the daemon has closed the connection.
    private func expectRefusal(_ connection: InProcessConnection, _ status: Int, naming text: String, line: UInt = #line) throws {
        let reply = try connection.reply(line: line)
        XCTAssertEqual(reply.status, status, line: line)
        XCTAssertTrue(reply.errorMessage.contains(text), reply.errorMessage, line: line)
        XCTAssertFalse(connection.isOpen, "open after a refusal", line: line)
    }
}
