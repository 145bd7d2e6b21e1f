import Engine
import Foundation
import Server
import Synchronization
import TestSupport
import XCTest

/// Starting and stopping: socket permissions, stale and live sockets, peer credentials,
/// slow clients, systemd socket activation, a clean SIGTERM.
final class DaemonLifecycleTests: XCTestCase {
    func testSocketIsPrivateAndALiveOneIsNotTakenOver() throws {
        let data = scratchFolder(self)
        let daemon = try DaemonProcess(data: data, test: self)
        var info = stat()
        XCTAssertEqual(stat(daemon.socket, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)

        let second = try mrl(["serve", "--data", data, "--socket", daemon.socket])
        XCTAssertNotEqual(second.status, 0)
        XCTAssertTrue(second.stderr.contains("another mrl serve is listening on \(daemon.socket)"), second.stderr)

        // kill -9 leaves the socket file behind; the next daemon sees nobody accepts and replaces it.
        daemon.kill9()
        XCTAssertTrue(FileManager.default.fileExists(atPath: daemon.socket))
        let next = try DaemonProcess(data: data, test: self)
        XCTAssertEqual(try next.client().send("GET", "/health").status, 200)
        XCTAssertEqual(next.stop(), 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.socket))

        let notASocket = data + "/plain-file"
        FileManager.default.createFile(atPath: notASocket, contents: Data("keep me".utf8))
        let refused = try mrl(["serve", "--data", data, "--socket", notASocket])
        XCTAssertTrue(refused.stderr.contains("exists and is not a socket"), refused.stderr)
        XCTAssertEqual(try String(contentsOfFile: notASocket, encoding: .utf8), "keep me")

        let group = try mrl(["serve", "--data", data, "--socket", data + "/g.sock", "--socket-group", "no-such-group-here"])
        XCTAssertTrue(group.stderr.contains("no group named no-such-group-here"), group.stderr)
    }

    func testOnlyAllowedUIDsAreServed() throws {
        let me = getuid()
        let strict = try DaemonProcess(data: scratchFolder(self), arguments: ["--allow-uid", "\(me + 1)"], test: self)
        let refused = try strict.client().send("GET", "/health")
        XCTAssertEqual(refused.status, 403)
        XCTAssertTrue(refused.errorMessage.contains("uid \(me) may not use this daemon"), refused.errorMessage)
        let open = try DaemonProcess(data: scratchFolder(self), arguments: ["--allow-uid", "\(me + 1),\(me)"], test: self)
        XCTAssertEqual(try open.client().send("GET", "/health").status, 200)
    }

    /// End to end, with short timeouts: when exactly each limit falls is `ConnectionTimerTests`'.
    func testSlowAndIdleClientsAreDropped() throws {
        let daemon = try DaemonProcess(data: scratchFolder(self), arguments: ["--request-timeout", "0.2", "--idle-timeout", "0.3"], test: self)
        // Slow loris: a request line, then nothing more.
        let slow = try RawConnection(socketPath: daemon.socket)
        slow.send(Array("POST /indexes/x/search HTTP/1.1\r\nHost: mrl\r\n".utf8))
        XCTAssertEqual(slow.receive(within: 5), .closed(received: []), "a request that never finishes is dropped")
        // Idle after a full request and answer: kept a while, then closed.
        let idle = try RawConnection(socketPath: daemon.socket)
        idle.send(Array("GET /health HTTP/1.1\r\nHost: mrl\r\n\r\n".utf8))
        guard case .response(200, _) = idle.receive(within: 5) else { return XCTFail("no answer to /health") }
        XCTAssertEqual(idle.receive(within: 5), .closed(received: []), "an idle connection is closed")
        XCTAssertEqual(try daemon.client().send("GET", "/health").status, 200)
    }

    /// SIGTERM while clients write: every write the daemon acknowledged is there after a
    /// restart, and the daemon exits 0 having removed its socket. Neither the writers' open
    /// connections nor an idle kept-alive one hold the shutdown until its deadline.
    func testSIGTERMFinishesWritesInFlight() throws {
        let data = scratchFolder(self)
        let daemon = try DaemonProcess(data: data, test: self)
        XCTAssertEqual(try daemon.client().send("PUT", "/indexes/w", ["dimensions": 4]).status, 201)
        let idle = try RawConnection(socketPath: daemon.socket)
        idle.send(UnixHTTPClient.message("GET", "/health"))
        guard case .response(200, _) = idle.receive(within: 5) else { return XCTFail("no answer to /health") }
        let acknowledged = Mutex<[String]>([])
        let writers = DispatchGroup()
        let socket = daemon.socket
        for writer in 0..<4 {
            DispatchQueue.global().async(group: writers) {
                guard let client = try? UnixHTTPClient(socketPath: socket) else { return }
                for batch in 0..<10_000 {
                    let ids = (0..<10).map { "w\(writer)-\(batch)-\($0)" }
                    let documents = JSON.array(ids.enumerated().map { i, id in
                        ["id": .string(id), "vector": [1, JSON(i), JSON(batch), JSON(writer)]]
                    })
                    guard let reply = try? client.send("POST", "/indexes/w/documents", ["documents": documents]),
                          reply.status == 200 else { return }
                    acknowledged.withLock { $0 += ids }
                }
            }
        }
        usleep(700_000)
        XCTAssertEqual(daemon.stop(), 0, daemon.stderr)
        XCTAssertFalse(daemon.stderr.contains("still in flight"), "the drain ended by its deadline: \(daemon.stderr)")
        writers.wait()
        XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.socket))
        let written = acknowledged.withLock { $0 }
        XCTAssertGreaterThan(written.count, 0)

        let restarted = try DaemonProcess(data: data, test: self)
        let client = try restarted.client()
        let count = try client.send("GET", "/indexes/w").json?["documents"]?.int
        XCTAssertGreaterThanOrEqual(count ?? 0, written.count)
        for id in written where try client.send("GET", "/indexes/w/documents/\(id)").status != 200 {
            XCTFail("acknowledged document \(id) is missing")
        }
    }

    /// systemd's socket activation: the listening socket arrives as fd 3 with LISTEN_FDS=1
    /// and LISTEN_PID = the daemon's pid (set here by a Python shim that then execs mrl).
    func testServesASocketHandedOverBySystemd() throws {
        let data = scratchFolder(self)
        let socket = data + "/activated.sock"
        let shim = """
            import os, socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(sys.argv[1]); s.listen(16)
            os.dup2(s.fileno(), 3)
            os.set_inheritable(3, True)  # dup2 onto itself (fileno 3) would keep close-on-exec
            os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
            os.execv(sys.argv[2], [sys.argv[2], "serve", "--data", sys.argv[3], "--socket", sys.argv[3] + "/unused.sock"])
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", shim, socket, mrlExecutable.path, data]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        addTeardownBlock { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        var status: Int?
        for _ in 0..<300 where status == nil {
            status = try? UnixHTTPClient(socketPath: socket).send("GET", "/health").status
            if status == nil { usleep(20_000) }
        }
        XCTAssertEqual(status, 200)
        XCTAssertFalse(FileManager.default.fileExists(atPath: data + "/unused.sock"), "no socket of its own")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        XCTAssertTrue(FileManager.default.fileExists(atPath: socket), "the socket belongs to systemd: it is left in place")
    }
}
