import Engine
import Foundation
import Server
import TestSupport
import XCTest

/// Limits that hold for the whole daemon: answers a peer does not read, connections in total
/// and per uid, bodies in flight, `--allow-uid` when a connection is accepted, and batches of
/// more texts than the queue holds.
final class DaemonLimitsTests: XCTestCase {
    let spec = try! OpenAPISpec()

    /// A peer that pipelines searches and never reads the answers: the daemon stops reading
    /// it instead of piling answers up in memory, keeps serving others, and closes it.
    func testAnswersThatAreNotReadStopTheReadingAndEndTheConnection() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), arguments: ["--request-timeout", "1", "--idle-timeout", "60"], test: self)
        let client = try daemon.client()
        XCTAssertEqual(try client.send("PUT", "/indexes/big", ["dimensions": 4]).status, 201)
        let text = JSON.string(String(repeating: "x", count: 1_000))
        let documents = JSON.array((0..<200).map { n in
            ["id": .string("d\(n)"), "text": text, "vector": .array(vector(n, dims: 4).map(JSON.float))]
        })
        XCTAssertEqual(try client.send("POST", "/indexes/big/documents", ["documents": documents]).status, 200)
        let search: JSON = ["vector": [1, 0, 0, 0], "k": 200, "include_text": true]
        XCTAssertEqual(try client.send("POST", "/indexes/big/search", search).status, 200)
        let baseline = try anonymousMemory(of: daemon)

        // Each ~100-byte request asks for a ~200 KB answer: 600 answers kept would be 120 MB.
        let request = UnixHTTPClient.message("POST", "/indexes/big/search", body: search.bytes)
        let attacker = try RawConnection(socketPath: daemon.socket)
        attacker.send(Array(repeatElement(request, count: 600).joined()))
        var peak = baseline
        for _ in 0..<30 {
            usleep(100_000)
            peak = max(peak, try anonymousMemory(of: daemon))
        }
        XCTAssertLessThan(peak - baseline, 16 << 20, "the daemon's anonymous memory grew from \(baseline >> 20) MB to \(peak >> 20) MB")
        XCTAssertEqual(try client.send("GET", "/health").status, 200)
        XCTAssertEqual(try client.send("POST", "/indexes/big/search", search).status, 200)
        XCTAssertTrue(attacker.closedByPeer(within: 10), "a connection whose answers are not read is closed")
    }

    /// Past the total, or past one uid's share, a connection is answered 503 when accepted; a
    /// connection of another uid is still served, and a closed one frees its place.
    func testConnectionsAreLimitedInTotalAndPerUID() throws {
        let perUID = try DaemonProcess(data: scratchFolder(self), arguments: ["--max-connections-per-uid", "3", "--socket-group", "nogroup"], test: self)
        var held = try (0..<3).map { _ in try served(perUID) }
        try expectRefused(perUID, naming: "--max-connections-per-uid")
        if let status = try asNobody(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", perUID.socket, "http://mrl/health"]) {
            XCTAssertEqual(status, "200", "another uid is not locked out")
        }
        held.removeFirst()
        try waitUntilServed(perUID)

        let total = try DaemonProcess(data: scratchFolder(self), arguments: ["--max-connections", "3"], test: self)
        held = try (0..<3).map { _ in try served(total) }
        try expectRefused(total, naming: "--max-connections")
        held.removeAll()
        try waitUntilServed(total)
    }

    /// `--allow-uid` is checked when the connection is accepted: the answer comes before the
    /// peer has sent a byte.
    func testAllowUIDIsCheckedBeforeAnyByteIsRead() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), arguments: ["--allow-uid", "\(getuid() + 1)"], test: self)
        let silent = try RawConnection(socketPath: daemon.socket)
        guard case .response(403, let body) = silent.receive(within: 5) else { return XCTFail("no 403 before the request") }
        XCTAssertTrue(String(decoding: body, as: UTF8.self).contains("uid \(getuid()) may not use this daemon"))
    }

    /// Bodies announced over the daemon's budget get 503 before they are sent; once a body is
    /// answered its bytes are free again.
    func testBodiesInFlightAreLimitedForTheWholeDaemon() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), arguments: ["--max-body", "1M", "--max-bodies-in-flight", "2M"], test: self)
        let head = "POST /indexes/none/search HTTP/1.1\r\nHost: mrl\r\nContent-Length: 1048576\r\n\r\n"
        let slow = try (0..<2).map { _ in
            let connection = try RawConnection(socketPath: daemon.socket)
            connection.send(Array(head.utf8) + Array(repeating: UInt8(ascii: " "), count: 1_000))
            return connection
        }
        // The two heads reach the daemon's event loops a moment after they are sent; a probe sent
        // before then could take the bytes the second one needs, so wait until both are held.
        try waitUntil(daemon, shows: "mrl_request_body_bytes_in_flight", 2 << 20)
        let next = try RawConnection(socketPath: daemon.socket)
        next.send(UnixHTTPClient.message("POST", "/indexes/none/search", body: Array(#"{"vector":[1]}"#.utf8)))
        guard case .response(503, let body) = next.receive(within: 5) else { return XCTFail("a body over the budget is not refused") }
        XCTAssertTrue(String(decoding: body, as: UTF8.self).contains("--max-bodies-in-flight"))
        XCTAssertEqual(spec.problems(try JSON.parse(body), try XCTUnwrap(spec.responseSchema("POST", "/indexes/{name}/search", status: 503))), [])

        // A chunked body announces nothing: its chunks take from the budget as they come.
        let chunked = try RawConnection(socketPath: daemon.socket)
        chunked.send(Array("POST /indexes/none/search HTTP/1.1\r\nHost: mrl\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n{\"k\": 10 }\r\n".utf8))
        guard case .response(503, _) = chunked.receive(within: 5) else { return XCTFail("a chunked body over the budget is not refused") }

        slow[0].send(Array(repeating: UInt8(ascii: " "), count: 1_048_576 - 1_000))
        guard case .response(404, _) = slow[0].receive(within: 5) else { return XCTFail("the whole body is not answered") }
        try waitUntil(daemon, shows: "mrl_request_body_bytes_in_flight", 1 << 20)
        XCTAssertEqual(try daemon.client().request("POST", "/indexes/none/search", body: Array(#"{"vector":[1]}"#.utf8)).status, 404,
                       "an answered body gives its bytes back")
        // The second slow body holds its bytes only while its connection is open: an optimised
        // build would close it after its last use above.
        withExtendedLifetime(slow) {}
    }

    /// Waits (5 s at most) until `GET /metrics` shows `metric` at `value`: the daemon learns of
    /// a head, or of a closed connection, a moment after it happens.
    private func waitUntil(_ daemon: DaemonProcess, shows metric: String, _ value: Int, line: UInt = #line) throws {
        var shown: Substring?
        for _ in 0..<500 {
            let metrics = String(decoding: try daemon.client().send("GET", "/metrics").body, as: UTF8.self)
            shown = metrics.split(separator: "\n").first { $0.hasPrefix(metric + " ") }
            if shown.flatMap({ $0.split(separator: " ").last }).flatMap({ Double($0) }) == Double(value) { return }
            usleep(10_000)
        }
        XCTFail("the daemon's \(metric) never came to \(value): \(shown ?? "not shown")", line: line)
    }

    /// A batch of more text queries than --max-queued is served on an idle daemon (it used to
    /// get 503 however often it was retried).
    func testABatchOfMoreTextsThanTheQueueIsServed() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), arguments: ["--max-queued", "4"], test: self)
        let client = try daemon.client()
        XCTAssertEqual(try client.send("PUT", "/indexes/t").status, 201)
        XCTAssertEqual(try client.send("POST", "/indexes/t/documents", ["documents": [["id": "a", "text": "a pdf viewer"]]]).status, 200)
        let queries = JSON.array((0..<10).map { n in ["query": .string("viewer \(n)"), "k": 1] })
        let reply = try client.send("POST", "/indexes/t/search/batch", ["queries": queries])
        XCTAssertEqual(reply.status, 200, reply.errorMessage)
        XCTAssertEqual(reply.json?["results"]?.array?.count, 10)
    }

    /// The daemon raises its descriptor limit to fit --max-connections, and the shipped
    /// systemd unit allows that many for the default.
    func testTheDescriptorLimitFitsTheConnections() throws {
        // The daemon inherits a low soft limit, as from a login shell.
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var saved = rlimit()
        XCTAssertEqual(getrlimit(resource, &saved), 0)
        var lowered = saved
        lowered.rlim_cur = min(saved.rlim_cur, 1_024)
        setrlimit(resource, &lowered)
        let started = Result { try DaemonProcess(data: scratchFolder(self), arguments: ["--max-connections", "3000"], test: self) }
        setrlimit(resource, &saved)
        let daemon = try started.get()
        let limits = try String(contentsOfFile: "/proc/\(daemon.process.processIdentifier)/limits", encoding: .utf8)
        let line = try XCTUnwrap(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") })
        let numbers = line.split(separator: " ").compactMap { Int($0) }
        XCTAssertEqual(numbers.count, 2, String(line))
        if let soft = numbers.first, let hard = numbers.last {
            XCTAssertGreaterThanOrEqual(soft, min(3000 + 256, hard), String(line))
        }
        let unit = try String(contentsOf: OpenAPISpec.repositoryRoot.appendingPathComponent("tools/systemd/mrl.service"), encoding: .utf8)
        let declared = unit.split(separator: "\n").first { $0.hasPrefix("LimitNOFILE=") }.flatMap { Int($0.dropFirst("LimitNOFILE=".count)) }
        XCTAssertGreaterThanOrEqual(declared ?? 0, ServerConfiguration(socketPath: "", data: DataDirectory(path: "")).maxConnections + 256)
    }

    // MARK: - helpers

    /// RssAnon of the daemon, in bytes.
    private func anonymousMemory(of daemon: DaemonProcess) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(daemon.process.processIdentifier)/status", encoding: .utf8)
        let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("RssAnon:") })
        return try XCTUnwrap(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])) << 10
    }

    /// A connection the daemon has accepted and answered once (then held open by the caller).
    /// A 503 is retried for 5 s: a connection this test closed (the one that saw the daemon
    /// start, say) may still count until the daemon learns of its close.
    private func served(_ daemon: DaemonProcess) throws -> RawConnection {
        for _ in 0..<100 {
            let connection = try RawConnection(socketPath: daemon.socket)
            connection.send(Array("GET /health HTTP/1.1\r\nHost: mrl\r\n\r\n".utf8))
            switch connection.receive(within: 5) {
            case .response(200, _): return connection
            case .response(503, _): usleep(50_000)
            case let other: XCTFail("a connection within the limits is not served: \(other)"); return connection
            }
        }
        XCTFail("a connection within the limits is refused for 5 s")
        return try RawConnection(socketPath: daemon.socket)
    }

    private func expectRefused(_ daemon: DaemonProcess, naming option: String, line: UInt = #line) throws {
        let connection = try RawConnection(socketPath: daemon.socket)
        connection.send(Array("GET /health HTTP/1.1\r\nHost: mrl\r\n\r\n".utf8))
        guard case .response(503, let body) = connection.receive(within: 5) else { return XCTFail("not refused", line: line) }
        XCTAssertTrue(String(decoding: body, as: UTF8.self).contains(option + ")"), String(decoding: body, as: UTF8.self), line: line)
        XCTAssertEqual(spec.problems(try JSON.parse(body), try XCTUnwrap(spec.responseSchema("GET", "/health", status: 503))), [], line: line)
    }

    /// Waits (5 s at most) until a freed place lets a new connection in: the daemon learns of a
    /// close a moment after it happens.
    private func waitUntilServed(_ daemon: DaemonProcess, line: UInt = #line) throws {
        for _ in 0..<100 {
            if (try? daemon.client().send("GET", "/health").status) == 200 { return }
            usleep(50_000)
        }
        XCTFail("a closed connection did not free its place", line: line)
    }
}
