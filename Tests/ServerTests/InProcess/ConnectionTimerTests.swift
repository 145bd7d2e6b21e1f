import NIOCore
import NIOEmbedded
import Server
import XCTest

@testable import Server

/// `ConnectionTimer` on virtual time: a connection's loop is an `EmbeddedEventLoop`, whose
/// clock moves only by `advanceTime`, so each limit is checked to the millisecond: kept just
/// before it, closed at it.
final class ConnectionTimerTests: XCTestCase {
    private func daemon(request: Double, idle: Double) -> InProcessDaemon {
        InProcessDaemon(test: self) { $0.requestTimeout = request; $0.idleTimeout = idle }
    }

    /// Slow loris: a request must arrive whole within `--request-timeout` of its first byte,
    /// however often more bytes trickle in.
    func testARequestThatTakesTooLongToArriveIsDropped() throws {
        let connection = try daemon(request: 1, idle: 60).connect()
        connection.loop.advanceTime(by: .milliseconds(500))
        try connection.send("POST /indexes/x/search HTTP/1.1\r\n")
        for _ in 0..<2 {
            connection.loop.advanceTime(by: .milliseconds(400))
            try connection.send("X-Slow: y\r\n")
        }
        connection.loop.advanceTime(by: .milliseconds(199))
        XCTAssertTrue(connection.isOpen, "dropped before its request timeout")
        connection.loop.advanceTime(by: .milliseconds(1))
        XCTAssertFalse(connection.isOpen, "kept past its request timeout")
        XCTAssertEqual(try connection.replies().count, 0)
    }

    /// Between requests a connection may idle for `--idle-timeout`, counted from its last
    /// answer; a request answered meanwhile starts the count again.
    func testAnIdleConnectionIsClosedAfterTheIdleTimeoutFromItsLastAnswer() throws {
        let connection = try daemon(request: 1, idle: 2).connect()
        try connection.send("GET", "/health")
        XCTAssertEqual(try connection.reply().status, 200)
        connection.loop.advanceTime(by: .milliseconds(1_500))
        try connection.send("GET", "/health")
        XCTAssertEqual(try connection.reply().status, 200)
        connection.loop.advanceTime(by: .milliseconds(1_999))
        XCTAssertTrue(connection.isOpen, "closed before its idle timeout")
        connection.loop.advanceTime(by: .milliseconds(1))
        XCTAssertFalse(connection.isOpen, "kept past its idle timeout")
    }

    /// A peer that stops reading its answers is dropped once the connection has stayed
    /// unwritable for `--request-timeout`; one that reads again in time is kept.
    func testAPeerThatDoesNotReadItsAnswersIsDroppedAfterTheRequestTimeout() throws {
        let daemon = daemon(request: 1, idle: 60)
        let stuck = try daemon.connect()
        stuck.loop.advanceTime(by: .milliseconds(200))
        stuck.setWritable(false)
        try stuck.send("GET", "/health")
        stuck.loop.advanceTime(by: .milliseconds(999))
        XCTAssertTrue(stuck.isOpen, "dropped before the request timeout")
        stuck.loop.advanceTime(by: .milliseconds(1))
        XCTAssertFalse(stuck.isOpen, "kept unwritable past the request timeout")

        let reading = try daemon.connect()
        reading.setWritable(false)
        try reading.send("GET", "/health")
        reading.loop.advanceTime(by: .milliseconds(900))
        reading.setWritable(true)
        XCTAssertEqual(try reading.reply().status, 200)
        reading.loop.advanceTime(by: .seconds(5))
        XCTAssertTrue(reading.isOpen, "a peer that read again in time was dropped")
    }
}
