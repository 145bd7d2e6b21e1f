import Foundation
import TestSupport
import XCTest

/// What the CLI promises, whether a command opens the index itself or goes through a daemon:
/// each check runs through both transports (CLITests, CLIThroughDaemonTests).
struct CLIContract {
    let test: XCTestCase
    let transport: Transport

    /// A daemon is started with `serveArguments`.
    init(_ test: XCTestCase, _ kind: Transport.Kind, serveArguments: [String] = []) {
        self.test = test
        transport = Transport(kind, test: test, serveArguments: serveArguments)
    }

    /// Hitting the size cap is a clear error; the index opens with every committed batch. The
    /// cap is set where the index is opened: `mrl index --max-size`, or `mrl serve --max-size`.
    func sizeCapStopsCleanly(_ indexOptions: [String]) throws {
        let dir = scratchFolder(test)
        writeCorpus(dir + "/docs.jsonl", count: 6000, dims: 64)
        let run = try mrl(["index"] + transport.at(dir) + indexOptions + ["--index", "t", "--batch-size", "500", dir + "/docs.jsonl"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("reached its size cap of 1 MiB"), run.stderr)
        let committed = run.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("committed lines") }.count * 500
        let info = try json(try mrl(["info"] + transport.at(dir) + ["--index", "t", "--json"]).stdout)
        XCTAssertEqual(info["documents"] as? Int, committed)
    }

    /// The upkeep after writes is the same wherever the index is held: from 2,000 documents a
    /// PCA head is fitted (a daemon does it by itself after the commit, so it is waited for).
    func upkeepFitsAHeadAfterWrites() throws {
        let dir = scratchFolder(test)
        writeCorpus(dir + "/docs.jsonl", count: 2_100, dims: 48)
        let run = try mrl(["index"] + transport.at(dir) + ["--index", "t", dir + "/docs.jsonl"])
        XCTAssertEqual(run.status, 0, run.stderr)
        var head: String?
        for _ in 0..<600 where head != "pca" {
            let info = try json(try mrl(["info"] + transport.at(dir) + ["--index", "t", "--json"]).stdout)
            head = (info["head"] as? [String: Any])?["kind"] as? String
            if head != "pca" { usleep(100_000) }
        }
        XCTAssertEqual(head, "pca")
    }

    /// Searches users send are logged, hybrid ones too (a daemon writes its log every few seconds, so it is
    /// waited for); texts only once asked for; the log exports as --queries lines, clears and
    /// switches off.
    func queryLogRecordsSearches() throws {
        let dir = scratchFolder(test)
        try (#"{"id": "a", "text": "a pdf viewer"}"# + "\n" + #"{"id": "b", "text": "a tiling window manager"}"# + "\n")
            .write(toFile: dir + "/docs.jsonl", atomically: true, encoding: .utf8)
        let at = try transport.at(dir) + ["--index", "t"]
        XCTAssertEqual(try mrl(["index"] + at + [dir + "/docs.jsonl"]).status, 0)
        func logged(_ count: Int) throws -> [String: Any] {
            var state: [String: Any] = [:]
            for _ in 0..<100 {
                state = try json(try mrl(["queries", "--json"] + at).stdout)
                if state["count"] as? Int == count { break }
                usleep(100_000)
            }
            XCTAssertEqual(state["count"] as? Int, count)
            return state
        }
        // A hybrid search's semantic stage is calibrated like a semantic search: its query is logged too.
        for query in [["read a pdf"], ["--mode", "hybrid", "windows"]] { XCTAssertEqual(try mrl(["search"] + at + query).status, 0) }
        XCTAssertEqual(try logged(2)["include_text"] as? Bool, false)
        XCTAssertEqual(try mrl(["queries", "--keep-text"] + at).status, 0)
        XCTAssertEqual(try mrl(["search"] + at + ["a third query"]).status, 0)
        _ = try logged(3)
        let exported = try mrl(["queries", "--export", "-"] + at).stdout.split(separator: "\n").map { try json(String($0)) }
        XCTAssertEqual(exported.count, 3)
        XCTAssertEqual(exported.compactMap { $0["query"] as? String }, ["a third query"])
        XCTAssertEqual((exported.first?["vector"] as? [Any])?.count, 384)

        XCTAssertEqual(try mrl(["queries", "--clear", "--disable-logging"] + at).status, 0)
        XCTAssertEqual(try mrl(["search"] + at + ["not logged"]).status, 0)
        usleep(2_500_000)  // past the daemon's interval: a logged query would be written by now
        XCTAssertEqual(try logged(0)["enabled"] as? Bool, false)
    }

    /// A new index belongs to the built-in model when made for texts or for vectors of the
    /// model's size, and to none for other sizes, whoever creates it.
    func newIndexesGetTheModelByOneRule() throws {
        let dir = scratchFolder(test)
        for (name, dims, model) in [("texts", 0, "all-MiniLM-L6-v2"), ("own384", 384, "all-MiniLM-L6-v2"), ("own8", 8, nil)] {
            let line = dims == 0 ? #"{"id": "a", "text": "a pdf viewer"}"# : #"{"id": "a", "vector": [\#((0..<dims).map { "\($0 + 1)" }.joined(separator: ","))]}"#
            try (line + "\n").write(toFile: dir + "/\(name).jsonl", atomically: true, encoding: .utf8)
            let run = try mrl(["index"] + transport.at(dir) + ["--index", name, dir + "/\(name).jsonl"])
            XCTAssertEqual(run.status, 0, run.stderr)
            let info = try json(try mrl(["info"] + transport.at(dir) + ["--index", name, "--json"]).stdout)
            XCTAssertEqual((info["model"] as? [String: Any])?["name"] as? String, model, name)
        }
    }

    /// An index created at --precision int8 records it and embeds documents and text queries
    /// alike: a document's own text finds it at cosine 1, where an fp32 query would not (int8
    /// and fp32 vectors of that text differ); another precision for it later is refused.
    func int8IndexEmbedsDocumentsAndQueriesAlike() throws {
        let dir = scratchFolder(test)
        let texts = ["a tiling window manager for X11", "a PDF viewer with tabs and bookmarks", "an audio player for the terminal"]
        let lines = texts.enumerated().map { #"{"id": "d\#($0.offset)", "text": "\#($0.element)"}"# }
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/docs.jsonl", atomically: true, encoding: .utf8)
        let run = try mrl(["index"] + transport.at(dir) + ["--index", "q", "--precision", "int8", dir + "/docs.jsonl"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let info = try json(try mrl(["info"] + transport.at(dir) + ["--index", "q", "--json"]).stdout)
        XCTAssertEqual((info["model"] as? [String: Any])?["precision"] as? String, "int8")

        let search = try mrl(["search"] + transport.at(dir) + ["--index", "q", "-k", "1", "--mode", "semantic", "--json", texts[1]])
        XCTAssertEqual(search.status, 0, search.stderr)
        let hit = try XCTUnwrap((try json(search.stdout)["hits"] as? [[String: Any]])?.first)
        XCTAssertEqual(hit["id"] as? String, "d1")
        let score = try XCTUnwrap(hit["score"] as? Double)
        XCTAssertGreaterThan(score, 0.99999)
        var embedded: [[Float]] = []
        for precision in ["fp32", "int8"] {
            let out = dir + "/\(precision).jsonl"
            XCTAssertEqual(try mrl(["embed", dir + "/docs.jsonl", "-o", out, "--precision", precision]).status, 0)
            let line = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")[1]
            embedded.append(try XCTUnwrap((try json(String(line))["vector"] as? [Double])?.map(Float.init)))
        }
        let cosine = zip(embedded[0], embedded[1]).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        XCTAssertLessThan(Double(cosine), score - 1e-6, "an fp32 query would score as high: the test could not tell")
        XCTAssertGreaterThan(cosine, 0.995)

        let other = try mrl(["index"] + transport.at(dir) + ["--index", "q", "--precision", "fp32", dir + "/docs.jsonl"])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.stderr.contains("embeds its texts at int8, not fp32"), other.stderr)
    }

    func indexSearchInfoListAndResume() throws {
        let dir = scratchFolder(test)
        writeCorpus(dir + "/docs.jsonl", count: 300, dims: 48)
        let first = try mrl(["index"] + transport.at(dir) + ["--index", "t", "--batch-size", "100", dir + "/docs.jsonl"])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("t: 300 added, 0 changed, 0 unchanged from 300 lines"), first.stdout)
        XCTAssertTrue(first.stderr.contains("committed lines 201-300: 100 docs"), "plain progress lines off a TTY: \(first.stderr)")

        let query = dir + "/q.json"
        try JSONSerialization.data(withJSONObject: vector(123, dims: 48).map(Double.init)).write(to: URL(fileURLWithPath: query))
        let search = try mrl(["search"] + transport.at(dir) + ["--index", "t", "--vector-file", query, "-k", "3", "--dims", "32", "--json"])
        XCTAssertEqual(search.status, 0, search.stderr)
        let answer = try json(search.stdout)
        let hits = try XCTUnwrap(answer["hits"] as? [[String: Any]])
        XCTAssertEqual(hits.count, 3)
        XCTAssertEqual(hits[0]["id"] as? String, "c123")
        XCTAssertEqual((hits[0]["meta"] as? [String: Any])?["n"] as? Int, 123)
        for field in ["plan", "partial", "predicted_ms", "took_ms", "cost"] { XCTAssertNotNil(answer[field], field) }
        XCTAssertEqual(((answer["plan"] as? [String: Any])?["stages"] as? [[String: Int]])?.first?["dims"], 32)

        let table = try mrl(["search"] + transport.at(dir) + ["--index", "t", "--vector-file", query, "-k", "2"])
        XCTAssertTrue(table.stdout.contains("c123"), table.stdout)
        XCTAssertTrue(table.stdout.contains("exact 48d keep 2: 300 distances, 0.06 MB read"), table.stdout)
        let filtered = try mrl(["search"] + transport.at(dir) + ["--index", "t", "--vector-file", query, "-k", "2",
                                                                  "--filter", #"{"field": "n", "range": {"lt": 10}}"#])
        XCTAssertTrue(filtered.stdout.contains("exact 48d keep 2 (filter: exact_scan, 10 rows match): 10 distances"), filtered.stdout)

        let info = try json(try mrl(["info"] + transport.at(dir) + ["--index", "t", "--json"]).stdout)
        XCTAssertEqual(info["documents"] as? Int, 300)
        XCTAssertEqual(info["dimensions"] as? Int, 48)
        XCTAssertEqual(info["prefix_segments"] as? [Int], [0, 32, 48])
        XCTAssertTrue(try mrl(["list"] + transport.at(dir)).stdout.contains("t"))

        let again = try mrl(["index"] + transport.at(dir) + ["--index", "t", dir + "/docs.jsonl"])
        XCTAssertTrue(again.stdout.contains("0 added, 0 changed, 300 unchanged"), again.stdout)

        let deleted = try mrl(["delete"] + transport.at(dir) + ["--index", "t", "c1", "c2", "nope"])
        XCTAssertTrue(deleted.stdout.contains("deleted 2 of 3"), deleted.stdout)
        let get = try mrl(["get"] + transport.at(dir) + ["--index", "t", "c3"])
        XCTAssertEqual(try json(get.stdout)["text"] as? String, "document 3")
        XCTAssertNotEqual(try mrl(["get"] + transport.at(dir) + ["--index", "t", "c1"]).status, 0)
    }

    func badInputExitsNonZeroNamingFileAndLine() throws {
        let dir = scratchFolder(test)
        let file = dir + "/bad.jsonl"
        try #"{"id":"a","vector":[1,0]}\#n{"id":"b","vector":[0,1]}\#n{"vector":[1,1]}\#n"#.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try mrl(["index"] + transport.at(dir) + ["--index", "t", file])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains(#"\#(file):3: field "id" is missing"#), run.stderr)
        let skipped = try mrl(["index"] + transport.at(dir) + ["--index", "t", "--skip-bad", file])
        XCTAssertEqual(skipped.status, 0, skipped.stderr)
        XCTAssertTrue(skipped.stdout.contains("skipped 1 bad lines"), skipped.stdout)
        XCTAssertTrue(skipped.stdout.contains("\(file):3"), skipped.stdout)

        let badVector = dir + "/q.json"
        try "[1, true]".write(toFile: badVector, atomically: true, encoding: .utf8)
        let at = try transport.at(dir)
        for (args, expected) in [
            (["search"] + at + ["--index", "t", "--vector-file", badVector], "the vector element 1 is not a number"),
            (["search"] + at + ["--index", "../x", "hello"], "invalid index name"),
            (["search"] + at + ["--index", "missing", "hello"], "no index"),
            (["search"] + at + ["--index", "t", "-k", "0", "--vector-file", file], "expected a JSON array"),
            (["drop"] + at + ["--index", "t"], "add --yes to confirm"),
        ] {
            let run = try mrl(args)
            XCTAssertNotEqual(run.status, 0, args.joined(separator: " "))
            XCTAssertTrue(run.stderr.contains(expected), "\(args): \(run.stderr)")
        }
    }
}

final class CLITests: XCTestCase {
    func testIndexSearchInfoListAndResume() throws { try CLIContract(self, .local).indexSearchInfoListAndResume() }
    func testBadInputExitsNonZeroNamingFileAndLine() throws { try CLIContract(self, .local).badInputExitsNonZeroNamingFileAndLine() }
    func testSizeCapStopsCleanly() throws { try CLIContract(self, .local).sizeCapStopsCleanly(["--max-size", "1M"]) }
    func testNewIndexesGetTheModelByOneRule() throws { try CLIContract(self, .local).newIndexesGetTheModelByOneRule() }
    func testInt8IndexEmbedsDocumentsAndQueriesAlike() throws { try CLIContract(self, .local).int8IndexEmbedsDocumentsAndQueriesAlike() }
    func testUpkeepFitsAHeadAfterWrites() throws { try CLIContract(self, .local).upkeepFitsAHeadAfterWrites() }
    func testQueryLogRecordsSearches() throws { try CLIContract(self, .local).queryLogRecordsSearches() }

    func testHelpExplainsEachCommand() throws {
        XCTAssertTrue(try mrl(["index", "--help"]).stdout.contains("upsert by id"))
        XCTAssertTrue(try mrl(["search", "--help"]).stdout.contains("--dims"))
        XCTAssertTrue(try mrl(["--help"]).stdout.contains("SUBCOMMANDS"))
    }

    /// While one process writes, a second writer is refused with the first one's pid, and
    /// readers go on reading the last committed state.
    func testOneWriterManyReaders() throws {
        let dir = scratchFolder(self)
        writeCorpus(dir + "/docs.jsonl", count: 10, dims: 8)
        XCTAssertEqual(try mrl(["index", "--data", dir, "--index", "t", dir + "/docs.jsonl"]).status, 0)

        let input = Pipe()
        let (writer, _, _) = try launch(["index", "--data", dir, "--index", "t", "-"], stdin: input.fileHandleForReading)
        input.fileHandleForWriting.write(Data(#"{"id":"new","vector":[1,2,3,4,5,6,7,8]}"#.utf8 + [0x0A]))
        // The writer holds the lock once it has read its first document.
        let lockFile = dir + "/t/writer.lock"
        let deadline = Date().addingTimeInterval(20)
        while (try? String(contentsOfFile: lockFile, encoding: .utf8))?.contains("\(writer.processIdentifier)") != true, Date() < deadline {
            usleep(20_000)
        }
        let second = try mrl(["index", "--data", dir, "--index", "t", dir + "/docs.jsonl"])
        XCTAssertNotEqual(second.status, 0)
        XCTAssertTrue(second.stderr.contains("is being written by pid \(writer.processIdentifier)"), second.stderr)
        let reader = try mrl(["info", "--data", dir, "--index", "t", "--json"])
        XCTAssertEqual(try json(reader.stdout)["documents"] as? Int, 10)

        try input.fileHandleForWriting.close()
        writer.waitUntilExit()
        XCTAssertEqual(writer.terminationStatus, 0)
        XCTAssertEqual(try json(try mrl(["info", "--data", dir, "--index", "t", "--json"]).stdout)["documents"] as? Int, 11)
    }

    /// A full disk (a 3 MB tmpfs) is a clear error; every committed batch stays readable.
    func testDiskFullStopsCleanly() throws {
        let dir = scratchFolder(self)
        let disk = dir + "/disk"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=3m", "tmpfs", disk]
        mount.standardError = FileHandle.nullDevice
        try mount.run()
        mount.waitUntilExit()
        try XCTSkipUnless(mount.terminationStatus == 0, "needs root to mount a small tmpfs")
        addTeardownBlock {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = [disk]
            try? umount.run()
            umount.waitUntilExit()
        }
        writeCorpus(dir + "/docs.jsonl", count: 20_000, dims: 64)
        let run = try mrl(["index", "--data", disk, "--index", "t", "--batch-size", "500", dir + "/docs.jsonl"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("no space left on the disk holding \(disk)/t"), run.stderr)
        let committed = run.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("committed lines") }.count * 500
        XCTAssertGreaterThan(committed, 0)
        let info = try json(try mrl(["info", "--data", disk, "--index", "t", "--json"]).stdout)
        XCTAssertEqual(info["documents"] as? Int, committed)
    }
}

final class CLIThroughDaemonTests: XCTestCase {
    func testIndexSearchInfoListAndResume() throws { try CLIContract(self, .daemon).indexSearchInfoListAndResume() }
    func testBadInputExitsNonZeroNamingFileAndLine() throws { try CLIContract(self, .daemon).badInputExitsNonZeroNamingFileAndLine() }
    func testSizeCapStopsCleanly() throws { try CLIContract(self, .daemon, serveArguments: ["--max-size", "1M"]).sizeCapStopsCleanly([]) }
    func testNewIndexesGetTheModelByOneRule() throws { try CLIContract(self, .daemon).newIndexesGetTheModelByOneRule() }
    func testInt8IndexEmbedsDocumentsAndQueriesAlike() throws { try CLIContract(self, .daemon).int8IndexEmbedsDocumentsAndQueriesAlike() }
    func testUpkeepFitsAHeadAfterWrites() throws { try CLIContract(self, .daemon).upkeepFitsAHeadAfterWrites() }
    func testQueryLogRecordsSearches() throws { try CLIContract(self, .daemon).queryLogRecordsSearches() }

    /// Commands that change an index wholesale in their own process say so when a daemon holds
    /// the index, instead of failing on its writer lock.
    func testCommandsThatNeedTheIndexToThemselvesNameTheDaemon() throws {
        let dir = scratchFolder(self)
        writeCorpus(dir + "/docs.jsonl", count: 10, dims: 8)
        let at = try Transport(.daemon, test: self).at(dir)
        XCTAssertEqual(try mrl(["index"] + at + ["--index", "t", dir + "/docs.jsonl"]).status, 0)
        for command in [["graph"], ["tune"], ["head", "--kind", "pca"]] {
            let run = try mrl(command + at + ["--index", "t"])
            XCTAssertNotEqual(run.status, 0, command[0])
            XCTAssertTrue(run.stderr.contains("holds index t, and this command changes it in this process: stop the daemon first"), run.stderr)
        }
    }

    /// --max-size applies where the index is opened: given to a command that would send its
    /// batches to a daemon, it is refused rather than silently dropped.
    func testMaxSizeForADaemonsIndexIsRefused() throws {
        let dir = scratchFolder(self)
        writeCorpus(dir + "/docs.jsonl", count: 10, dims: 8)
        let run = try mrl(["index"] + Transport(.daemon, test: self).at(dir) + ["--index", "t", "--max-size", "1M", dir + "/docs.jsonl"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("start `mrl serve --max-size`"), run.stderr)
    }
}
