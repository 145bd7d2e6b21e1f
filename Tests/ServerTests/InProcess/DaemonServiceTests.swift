import Engine
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOPosix
import ServiceLifecycle
import TestSupport
import XCTest

@testable import Server

/// `DaemonService`'s graceful shutdown, in process: the service on a real socket in a scratch
/// folder, in a `ServiceGroup` the test tells to shut down (no signal).
final class DaemonServiceTests: XCTestCase {
    /// Idle connections close at once; a request still arriving is answered, then its connection
    /// closes; the service then ends by itself and removes its socket file.
    func testAShutdownAnswersTheRequestInFlightAndClosesIdleConnections() async throws {
        let daemon = try await StartedService(test: self)
        let idle = try RawConnection(socketPath: daemon.socket)
        idle.send(UnixHTTPClient.message("GET", "/health"))
        guard case .response(200, _) = idle.receive(within: 5) else { return XCTFail("no answer to /health") }
        let midway = try RawConnection(socketPath: daemon.socket)
        let body = Array(#"{"vector": [1]}"#.utf8)
        let request = UnixHTTPClient.message("POST", "/indexes/none/search", body: body)
        midway.send(Array(request.dropLast(4)))
        try await daemon.waitUntilHolding(body.count)

        await daemon.services.triggerGracefulShutdown()
        XCTAssertTrue(idle.closedByPeer(within: 5), "an idle connection is kept open by a shutdown")
        XCTAssertTrue(FileManager.default.fileExists(atPath: daemon.socket), "the socket went before the request in flight was answered")
        midway.send(Array(request.suffix(4)))
        guard case .response(404, _) = midway.receive(within: 5) else { return XCTFail("the request in flight was not answered") }
        XCTAssertTrue(midway.closedByPeer(within: 5))
        try await daemon.finished()
        XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.socket))
    }

    /// Past the service group's deadline the drain is cut short: a request that never finishes
    /// arriving does not keep the daemon from stopping.
    func testTheDeadlineCutsTheDrainShort() async throws {
        let daemon = try await StartedService(test: self, deadline: .milliseconds(200))
        let stuck = try RawConnection(socketPath: daemon.socket)
        stuck.send(Array("POST /indexes/none/search HTTP/1.1\r\nHost: mrl\r\nContent-Length: 10\r\n\r\n{".utf8))
        try await daemon.waitUntilHolding(10)
        await daemon.services.triggerGracefulShutdown()
        try await daemon.finished()
        XCTAssertTrue(stuck.closedByPeer(within: 5))
        XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.socket))
    }

    /// A shutdown waits for the requests in flight: told when the last one ends.
    func testRequestsInFlightTellWhenTheLastEnds() throws {
        let requests = RequestsInFlight()
        let loop = EmbeddedEventLoop()
        var drained = false
        requests.drained(on: loop).assumeIsolated().whenSuccess { drained = true }
        XCTAssertTrue(drained, "none in flight: drained at once")

        drained = false
        requests.begin()
        requests.begin()
        requests.drained(on: loop).assumeIsolated().whenSuccess { drained = true }
        requests.end()
        XCTAssertFalse(drained, "one is still in flight")
        requests.end()
        XCTAssertTrue(drained)
    }
}

/// A `DaemonService` serving a socket in a scratch folder, in a `ServiceGroup` of its own.
private struct StartedService {
    let socket: String
    let application: Application
    let services: ServiceGroup
    private let group: MultiThreadedEventLoopGroup
    private let running: Task<Void, Error>

    /// Returns once the socket accepts connections; `deadline` bounds a graceful shutdown.
    init(test: XCTestCase, deadline: Duration = .seconds(10)) async throws {
        let data = scratchFolder(test)
        socket = data + "/mrl.sock"
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let logger = Logger(label: "mrl-in-process")
        application = Application(configuration: ServerConfiguration(socketPath: socket, data: DataDirectory(path: data)), logger: logger)
        let (ready, readied) = AsyncStream.makeStream(of: String.self)
        var configuration = ServiceGroupConfiguration(
            services: [DaemonService(application: application, group: group, ready: { readied.yield($0) })], logger: logger)
        configuration.maximumGracefulShutdownDuration = deadline
        let services = ServiceGroup(configuration: configuration)
        self.services = services
        running = Task {
            defer { readied.finish() }  // a service that failed to start ends the wait below
            try await services.run()
        }
        for await _ in ready { break }
        test.addTeardownBlock { await services.triggerGracefulShutdown() }
    }

    /// Waits (5 s at most) until the daemon holds `bytes` of request bodies: a request is under
    /// way once its head is read, and a connection the daemon has not accepted yet when it
    /// shuts down is refused (503), not drained.
    func waitUntilHolding(_ bytes: Int, line: UInt = #line) async throws {
        for _ in 0..<500 where application.bodies.holding != bytes { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertEqual(application.bodies.holding, bytes, "the request never reached the daemon", line: line)
    }

    /// Waits for the service group to end, then lets go of the event loop.
    func finished() async throws {
        try await running.value
        try await group.shutdownGracefully()
    }
}
