import Engine
import Foundation
import Server
import TestSupport
import XCTest

/// An index changed under the daemon by the CLI (a writer holding the lock, `mrl drop`,
/// `mrl restore`), and an index dropped while its writer is busy.
final class IndexLifecycleTests: XCTestCase {
    /// A daemon that first opened an index while `mrl index` wrote it becomes its writer once
    /// that run has ended, instead of refusing writes naming a dead pid for ever.
    func testDaemonTakesTheWriterLockOnceTheCLIWriterIsGone() throws {
        let data = scratchFolder(self)
        try createIndex("x", data: data)
        let daemon = try DaemonProcess(data: data, test: self)
        let client = try daemon.client()
        let cli = try holdWriterLock("x", data: data)
        let refused = try client.send("POST", "/indexes/x/documents", document("during"))
        XCTAssertEqual(refused.status, 409)
        XCTAssertTrue(refused.errorMessage.contains("pid \(cli.processIdentifier)"), refused.errorMessage)
        try finish(cli)

        XCTAssertEqual(try client.send("POST", "/indexes/x/documents", document("after")).status, 200)
        XCTAssertEqual(try client.send("GET", "/indexes/x/documents/after").status, 200)
        // Now the daemon writes it: a drop by another process is refused, and goes through it.
        let direct = try mrl(["drop", "--index", "x", "--data", data, "--yes"])
        XCTAssertNotEqual(direct.status, 0)
        XCTAssertTrue(direct.stderr.contains("pid \(daemon.process.processIdentifier)"), direct.stderr)
        let viaDaemon = try mrl(["drop", "--index", "x", "--socket", daemon.socket, "--yes"])
        XCTAssertEqual(viaDaemon.status, 0, viaDaemon.stderr)
        XCTAssertEqual(try client.send("GET", "/indexes/x").status, 404)
    }

    /// `mrl restore` and `mrl drop` of an index the daemon only reads: the daemon serves what
    /// is on disk afterwards, never the deleted files.
    func testDaemonServesWhatRestoreAndDropLeaveOnDisk() throws {
        let data = scratchFolder(self)
        try createIndex("x", data: data)
        try createIndex("y", data: data)
        let daemon = try DaemonProcess(data: data, test: self)
        let client = try daemon.client()
        for name in ["x", "y"] {
            let cli = try holdWriterLock(name, data: data)
            XCTAssertEqual(try client.send("GET", "/indexes/\(name)").status, 200)  // opened for reading
            try finish(cli)
        }
        let backup = try XCTUnwrap(client.send("POST", "/indexes/x/backup").json?["backup"]?.string)
        let late = folder(data) + "/late.jsonl"
        try (#"{"id":"late","vector":[0,0,1,0]}"# + "\n").write(toFile: late, atomically: true, encoding: .utf8)
        let added = try mrl(["index", "--index", "x", "--data", data, late])
        XCTAssertEqual(added.status, 0, added.stderr)
        XCTAssertEqual(try client.send("GET", "/indexes/x/documents/late").status, 200)

        let restored = try mrl(["restore", "--index", "x", "--from", backup, "--data", data])
        XCTAssertEqual(restored.status, 0, restored.stderr)
        XCTAssertEqual(try client.send("GET", "/indexes/x/documents/late").status, 404, "the daemon still serves the replaced files")
        XCTAssertEqual(try client.send("GET", "/indexes/x/documents/c1").status, 200)

        let dropped = try mrl(["drop", "--index", "y", "--data", data, "--yes"])
        XCTAssertEqual(dropped.status, 0, dropped.stderr)
        XCTAssertEqual(try client.send("GET", "/indexes/y").status, 404, "the daemon still serves the deleted files")
        XCTAssertEqual(try client.send("GET", "/indexes/y/documents/c1").status, 404)
        XCTAssertFalse(try mappedFiles(of: daemon).contains { $0.hasPrefix(data + "/y/") }, "the dropped index is still mapped")
    }

    /// `DELETE /indexes/x` while a long write runs and others wait behind it: the waiting ones
    /// fail naming the index, the drop answers once the running one has finished, so no write
    /// is acknowledged after its index is gone; the dropped index's files are let go.
    func testWritesRacingADropAreCommittedBeforeItOrRefused() throws {
        let data = scratchFolder(self)
        let daemon = try DaemonProcess(data: data, test: self)
        XCTAssertEqual(try daemon.client().send("PUT", "/indexes/x").status, 201)
        // Texts for the model to embed keep the writer busy for a while.
        let long = (0..<64).map { n in ["id": JSON.string("long\(n)"), "text": .string(String(repeating: "words to embed number \(n) ", count: 8))] as JSON }
        let running = try RawConnection(socketPath: daemon.socket)
        running.send(request("POST", "/indexes/x/documents", ["documents": .array(long)]))
        usleep(300_000)  // lets the daemon start on it, so the next writes queue behind it
        let waiting = try (0..<6).map { n in
            let connection = try RawConnection(socketPath: daemon.socket)
            connection.send(request("POST", "/indexes/x/documents", ["documents": [["id": .string("w\(n)"), "text": "short"]]]))
            return connection
        }
        let drop = try RawConnection(socketPath: daemon.socket)
        drop.send(request("DELETE", "/indexes/x"))
        let dropped = drop.receive(within: 300)
        guard case .response(200, _) = dropped else { daemon.stop(); return XCTFail("the drop was answered \(dropped): \(daemon.stderr)") }

        // Answers already sent came before the drop's; any later one must be a refusal.
        for (n, connection) in ([running] + waiting).enumerated() {
            switch connection.receive(within: 0.2) {
            case .response(let status, _) where (200..<300).contains(status) || status == 404 || status == 409:
                break  // answered before the drop (a 2xx then), or refused
            case .timedOut:
                guard case .response(let status, let body) = connection.receive(within: 300) else { return XCTFail("write \(n) was never answered") }
                XCTAssertTrue(status == 404 || status == 409, "write \(n) was acknowledged (\(status)) after its index was dropped")
                XCTAssertTrue(String(decoding: body, as: UTF8.self).contains(#"index \"x\""#), String(decoding: body, as: UTF8.self))
            case let other:
                XCTFail("write \(n): \(other)")
            }
        }
        let client = try daemon.client()
        XCTAssertEqual(try client.send("GET", "/indexes/x").status, 404)
        XCTAssertEqual(try client.send("POST", "/indexes/x/documents", ["documents": [["id": "after", "text": "too late"]]]).status, 404)
        XCTAssertFalse(try mappedFiles(of: daemon).contains { $0.hasPrefix(data + "/x/") }, "the dropped index is still mapped")
    }

    /// An index left unused is closed (its files and map let go) and reopened by the next
    /// request, with what it held.
    func testAnIdleIndexIsClosedAndReopenedOnUse() throws {
        let data = scratchFolder(self)
        let daemon = try DaemonProcess(data: data, arguments: ["--index-idle-timeout", "1"], test: self)
        let client = try daemon.client()
        XCTAssertEqual(try client.send("PUT", "/indexes/x", ["dimensions": 4]).status, 201)
        XCTAssertEqual(try client.send("POST", "/indexes/x/documents", document("kept")).status, 200)
        var open = 1
        for _ in 0..<100 where open > 0 {
            usleep(100_000)
            open = try XCTUnwrap(client.send("GET", "/health").json?["indexes_open"]?.int)
        }
        XCTAssertEqual(open, 0, "the idle index is still open")
        let files = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon.process.processIdentifier)/fd")
            .compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(daemon.process.processIdentifier)/fd/" + $0) }
        XCTAssertFalse(files.contains { $0.hasPrefix(data + "/x/") }, "\(files)")
        XCTAssertFalse(try mappedFiles(of: daemon).contains { $0.hasPrefix(data + "/x/") })

        XCTAssertEqual(try client.send("GET", "/indexes/x/documents/kept").status, 200)
        XCTAssertEqual(try client.send("POST", "/indexes/x/documents", document("later")).status, 200, "the reopened index is written again")
    }

    // MARK: - Helpers

    private func createIndex(_ name: String, data: String) throws {
        let corpus = folder(data) + "/\(name).jsonl"
        writeCorpus(corpus, count: 3, dims: 4)
        let run = try mrl(["index", "--index", name, "--data", data, corpus])
        XCTAssertEqual(run.status, 0, run.stderr)
    }

    /// The folder beside the data folder's indexes where inputs go.
    private func folder(_ data: String) -> String {
        let inputs = data + "/inputs"
        try? FileManager.default.createDirectory(atPath: inputs, withIntermediateDirectories: true)
        return inputs
    }

    /// `mrl index --index NAME -` reading standard input: it holds the writer lock until its
    /// input ends. Returns once the lock file names it.
    private func holdWriterLock(_ name: String, data: String) throws -> Process {
        let input = Pipe()
        let (process, _, _) = try launch(["index", "--index", name, "--data", data, "-"], stdin: input.fileHandleForReading)
        input.fileHandleForWriting.write(Data((#"{"id":"streamed","vector":[1,0,0,0]}"# + "\n").utf8))
        streams[process.processIdentifier] = input
        let lock = data + "/\(name)/writer.lock"
        for _ in 0..<3_000 where (try? String(contentsOfFile: lock, encoding: .utf8))?.hasPrefix("\(process.processIdentifier)\n") != true {
            guard process.isRunning else { throw UnixHTTPClient.Failure(description: "mrl index exited early") }
            usleep(10_000)
        }
        return process
    }

    private var streams: [Int32: Pipe] = [:]

    /// Ends the input of a `holdWriterLock` run and waits for it to exit.
    private func finish(_ process: Process) throws {
        try streams.removeValue(forKey: process.processIdentifier)?.fileHandleForWriting.close()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
    }

    private func document(_ id: String) -> JSON {
        ["documents": [["id": .string(id), "vector": [0, 1, 0, 0]]]]
    }

    private func request(_ method: String, _ path: String, _ body: JSON? = nil) -> [UInt8] {
        let bytes = body?.bytes ?? []
        return Array("\(method) \(path) HTTP/1.1\r\nHost: mrl\r\nContent-Length: \(bytes.count)\r\n\r\n".utf8) + bytes
    }

    /// The files the daemon has mapped (from /proc/PID/maps), once what a dropped index held
    /// has been let go: its last searches may still be finishing, so this waits up to 10 s.
    private func mappedFiles(of daemon: DaemonProcess) throws -> [String] {
        var files: [String] = []
        for _ in 0..<100 {
            let maps = try String(contentsOfFile: "/proc/\(daemon.process.processIdentifier)/maps", encoding: .utf8)
            files = maps.split(separator: "\n").compactMap { line in line.firstIndex(of: "/").map { String(line[$0...]) } }
            if !files.contains(where: { $0.hasSuffix("(deleted)") }) { break }
            usleep(100_000)
        }
        return files
    }
}
