import Engine
import Foundation
import Server
import TestSupport
import XCTest

/// Sends malformed, truncated and oversized requests (`MalformedRequests`) over raw
/// connections and checks that the daemon answers each with a 4xx or by closing, never a 5xx
/// and never silence; that slow senders are dropped; that it is still up at the end; and that
/// every document acknowledged before and during the fuzz is still there. `make test` sends
/// 2,000 requests; `make torture` raises MRL_FUZZ_REQUESTS. MRL_FUZZ_SEED repeats a run.
final class FuzzTests: XCTestCase {
    let index = "fuzz", dimensions = 8, maxBody = 64 << 10
    /// A request the daemon has whole is answered by then, or it hangs.
    let answerWithin = 5.0
    let requestTimeout = 1.0

    func testMalformedRequestsGetClientErrorsAndLoseNoDocument() throws {
        let environment = ProcessInfo.processInfo.environment
        let count = Int(environment["MRL_FUZZ_REQUESTS"] ?? "") ?? 2_000
        let seed = UInt64(environment["MRL_FUZZ_SEED"] ?? "") ?? 20_250_601
        let scratch = scratchFolder(self)
        // Four levels down, so a traversal name the daemon wrongly followed stays in the scratch folder.
        let data = scratch + "/a/b/c/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let daemon = try DaemonProcess(data: data, arguments: ["--max-body", "\(maxBody / 1024)K", "--request-timeout", "\(requestTimeout)"], test: self)
        let writer = try daemon.client()
        XCTAssertEqual(try writer.send("PUT", "/indexes/\(index)", ["dimensions": JSON(dimensions)]).status, 201)
        var kept = 0
        func keep(_ documents: Int) throws {
            let batch = (kept..<(kept + documents)).map { n -> JSON in
                ["id": .string("kept-\(n)"), "text": .string("kept \(n)"), "meta": ["n": JSON(n)], "vector": .array(vector(n, dims: dimensions).map(JSON.float))]
            }
            let reply = try writer.send("POST", "/indexes/\(index)/documents", ["documents": .array(batch)])
            XCTAssertEqual(reply.status, 200, "a valid write during the fuzz: \(reply.errorMessage)")
            if reply.status == 200 { kept += documents }
        }
        try keep(100)
        print("fuzz: \(count) requests, seed \(seed) (MRL_FUZZ_SEED to repeat, MRL_FUZZ_REQUESTS for more)")

        let slow = try slowSenders(daemon.socket)
        let slowSince = Date()
        var generator = MalformedRequests(seed: seed, index: index, dimensions: dimensions, maxBody: maxBody)
        // Failures by kind and problem: the first example of each, and how many there were.
        var failures: [String: (first: String, count: Int)] = [:], outcomes: [String: [String: Int]] = [:]
        func fail(_ key: String, _ example: String) { failures[key, default: (example, 0)].count += 1 }
        let started = Date()
        var previous: (Int, FuzzCase)?
        /// The request before `n`: what a daemon found gone had been sent last.
        func last() -> String {
            guard let (n, request) = previous else { return "" }
            return "; the request before, \(n) (\(request.kind)), sent: \(RawConnection.printable(request.bytes))"
        }
        for n in 0..<count {
            if n % 25 == 24 { try keep(4) }
            // One byte now and then on a request that never ends: the request timeout must still drop it.
            if n % 10 == 0 { slow.trickle.send([UInt8(ascii: "x")]) }
            let request = generator.next()
            let outcome: RawConnection.Outcome
            do {
                let connection = try RawConnection(socketPath: daemon.socket)
                connection.send(request.bytes)
                if request.finish { connection.finishSending() }
                outcome = connection.receive(within: answerWithin)
            } catch {
                fail("connect", "request \(n) (\(request.kind)): \(error); the daemon is \(daemon.process.isRunning ? "running" : "gone")\(last())")
                break
            }
            outcomes[request.kind, default: [:]][label(outcome), default: 0] += 1
            if let problem = judge(outcome, request.expectation) {
                fail("\(request.kind): \(problem)", "request \(n): \(problem)\n    sent: \(RawConnection.printable(request.bytes))\n    got: \(outcome)")
            }
            if !daemon.process.isRunning {
                fail("died", "the daemon died at request \(n) (\(request.kind)), sent: \(RawConnection.printable(request.bytes))\(last())")
                break
            }
            previous = (n, request)
        }
        let seconds = Date().timeIntervalSince(started)
        print("fuzz: \(count) requests in \(String(format: "%.1f", seconds)) s; answers by kind:")
        for (kind, answers) in outcomes.sorted(by: { $0.key < $1.key }) {
            print("  \(kind): \(answers.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))")
        }
        for (key, failure) in failures.sorted(by: { $0.key < $1.key }) {
            XCTFail("seed \(seed), \(key) (×\(failure.count)); first: \(failure.first)")
        }

        // Slow senders: each connection must have been closed by the daemon by now.
        usleep(useconds_t(max(0, requestTimeout + 1.5 - Date().timeIntervalSince(slowSince)) * 1e6))
        for (name, connection) in slow.all {
            let outcome = connection.receive(within: 2)
            if case .timedOut = outcome { XCTFail("a slow sender (\(name)) was still connected \(requestTimeout) s past its first byte") }
        }

        XCTAssertTrue(daemon.process.isRunning, "the daemon died during the fuzz:\n\(crashReport(daemon))")
        guard daemon.process.isRunning else { return }
        do {
            let reader = try daemon.client()
            XCTAssertEqual(try reader.send("GET", "/health").status, 200)
            try checkKept(kept, reader)
            let names = try XCTUnwrap(reader.send("GET", "/indexes").json?["indexes"]?.array).compactMap { $0["name"]?.string }
            XCTAssertEqual(names, [index], "only the fuzz index exists: no bad request may create one")
        } catch {
            // A daemon that crashes keeps its socket while it writes its backtrace: wait for it.
            for _ in 0..<100 where daemon.process.isRunning { usleep(100_000) }
            XCTFail("valid requests after the fuzz failed: \(error); the daemon is \(daemon.process.isRunning ? "running" : "gone:\n\(crashReport(daemon))")")
            return
        }
        XCTAssertEqual(strayFiles(scratch: scratch, data: data), [], "files outside the fuzz index appeared")
        XCTAssertEqual(daemon.stop(), 0, "the daemon stops cleanly after the fuzz: \(daemon.stderr)")
    }

    /// Every document acknowledged before and during the fuzz is there, intact, and found.
    private func checkKept(_ kept: Int, _ client: UnixHTTPClient) throws {
        XCTAssertGreaterThan(kept, 100, "valid writes went on during the fuzz")
        var missing: [String] = []
        for n in 0..<kept {
            let reply = try client.send("GET", "/indexes/\(index)/documents/kept-\(n)")
            if reply.status != 200 || reply.json?["text"] != .string("kept \(n)") || reply.json?["meta"] != ["n": JSON(n)] {
                missing.append("kept-\(n): \(reply.status) \(reply.errorMessage.prefix(100))")
            }
        }
        XCTAssertEqual(missing, [], "acknowledged documents lost or changed")
        for n in [0, kept / 2, kept - 1] {
            let reply = try client.send("POST", "/indexes/\(index)/search", ["vector": .array(vector(n, dims: dimensions).map(JSON.float)), "k": 1])
            XCTAssertEqual(reply.json?["hits"]?.array?.first?["id"], .string("kept-\(n)"), reply.errorMessage)
        }
    }

    /// The end of a dead daemon's standard error: from its fatal error on (the backtrace), or its last lines.
    private func crashReport(_ daemon: DaemonProcess) -> String {
        let lines = daemon.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        let start = lines.firstIndex { $0.contains("Fatal error") || $0.contains("crashed") } ?? max(0, lines.count - 20)
        return lines[start...].prefix(40).joined(separator: "\n")
    }

    /// What may answer a malformed request, and what may not; nil when `outcome` is fine.
    private func judge(_ outcome: RawConnection.Outcome, _ expectation: FuzzCase.Expectation) -> String? {
        switch outcome {
        case .timedOut: return "neither an answer nor a close within \(answerWithin) s"
        case .closed(let received) where !received.isEmpty: return "the connection closed in the middle of an answer"
        case .closed: return expectation == .jsonError ? "closed without the JSON error this request should get" : nil
        case .response(let status, let body):
            if status < 0 { return "an answer that is not HTTP" }
            if status >= 500 { return "a \(status): 5xx is for the server's own trouble, not a bad request" }
            if expectation == .noServerError { return nil }
            guard (400..<500).contains(status) else { return "a \(status) for a request that is not valid" }
            if expectation == .jsonError, (try? JSON.parse(body))?["error"]?["code"]?.string == nil {
                return "a \(status) without the JSON error body that names the problem"
            }
            return nil
        }
    }

    private func label(_ outcome: RawConnection.Outcome) -> String {
        switch outcome {
        case .response(let status, _): "\(status)"
        case .closed(let received): received.isEmpty ? "closed" : "closed mid-answer"
        case .timedOut: "no answer"
        }
    }

    /// Connections that start a request and never finish it, kept open during the fuzz.
    private func slowSenders(_ socket: String) throws -> (trickle: RawConnection, all: [(String, RawConnection)]) {
        let partial = [
            ("head without its end", "GET /indexes/\(index) HTTP/1.1\r\nHost: mrl\r\n"),
            ("body shorter than announced", "POST /indexes/\(index)/search HTTP/1.1\r\nHost: mrl\r\nContent-Length: 100\r\n\r\n{\"k\":"),
            ("one byte", "P"),
            ("chunks without the last", "POST /indexes/\(index)/documents HTTP/1.1\r\nHost: mrl\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"doc\r\n"),
        ]
        var all: [(String, RawConnection)] = []
        for (name, text) in partial {
            let connection = try RawConnection(socketPath: socket)
            connection.send(Array(text.utf8))
            all.append((name, connection))
        }
        let trickle = try RawConnection(socketPath: socket)
        trickle.send(Array("POST /indexes/\(index)/search HTTP/1.1\r\nHost: mrl\r\nX-Slow: ".utf8))
        all.append(("a byte every ten requests", trickle))
        return (trickle, all)
    }

    /// Paths in the scratch folder other than the folders leading to `data`, the socket, and
    /// the fuzz index's own files.
    private func strayFiles(scratch: String, data: String) -> [String] {
        let expected: Set<String> = ["a", "a/b", "a/b/c", "a/b/c/data", "a/b/c/data/mrl.sock", "a/b/c/data/\(index)"]
        let inIndex = "a/b/c/data/\(index)/"
        let all = FileManager.default.enumerator(atPath: scratch)?.compactMap { $0 as? String } ?? []
        return all.filter { !expected.contains($0) && !$0.hasPrefix(inIndex) }.sorted()
    }
}
