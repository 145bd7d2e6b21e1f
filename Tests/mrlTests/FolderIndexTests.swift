import Engine
import Foundation
import TestSupport
import XCTest

/// Writes `text` to `path`, making its folders.
private func write(_ path: String, _ text: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
}

/// `mrl index --json` with `arguments`, which must succeed; its summary.
private func index(_ arguments: [String]) throws -> JSON {
    let run = try mrl(["index", "--json"] + arguments)
    XCTAssertEqual(run.status, 0, run.stderr)
    return try JSON.parse(run.stdout)
}

/// `mrl index` on files and folders, the same whether the command opens the index itself or
/// goes through a daemon (FolderIndexTests, FolderIndexThroughDaemonTests).
struct FolderContract {
    let test: XCTestCase
    let transport: Transport

    init(_ test: XCTestCase, _ kind: Transport.Kind) {
        self.test = test
        transport = Transport(kind, test: test)
    }

    func aFolderOfMixedFilesIndexesAndReindexesIncrementally() throws {
        let folder = scratchFolder(test), docs = folder + "/docs"
        let long = (0..<60).map { "Paragraph \($0) explains how the backup tool copies files to a remote server over ssh and checks them." }
            .joined(separator: "\n\n")
        try write(docs + "/guide.md", "# Guide\n\n" + long)
        try write(docs + "/notes/pdf.txt", "Install a PDF viewer to read documents.")
        try write(docs + "/page.html", "<html><style>x{}</style><body><h1>Compilers</h1><p>A C compiler &amp; linker.</p><script>bad()</script></body></html>")
        try write(docs + "/.hidden/secret.txt", "hidden")
        try write(docs + "/skip-me.log", "excluded by glob")
        try write(docs + "/ignored/x.txt", "ignored by .mrlignore")
        try write(docs + "/.mrlignore", "ignored/\n")
        try Data([0x63, 0x61, 0x66, 0xE9, 0x0A]).write(to: URL(fileURLWithPath: docs + "/latin1.txt"))
        try Data([0x7F, 0x45, 0x4C, 0x46, 0, 0, 1, 2]).write(to: URL(fileURLWithPath: docs + "/program"))
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/sh")
        gz.arguments = ["-c", "printf 'Release notes: the daemon now batches writes.\\n' | gzip > '\(docs)/NEWS.gz'"]
        try gz.run()
        gz.waitUntilExit()
        try FileManager.default.createSymbolicLink(atPath: docs + "/notes/loop", withDestinationPath: docs)
        try FileManager.default.createSymbolicLink(atPath: docs + "/dangling", withDestinationPath: folder + "/nowhere")
        let data = try transport.at(folder + "/data") + ["--index", "notes"]

        let first = try index(data + ["--exclude", "*.log", docs])
        XCTAssertEqual(first["files_added"], 5, "guide, pdf, page, latin1, NEWS.gz: \(first.serialized)")
        XCTAssertEqual(first["files_skipped"], 1, "the binary")
        let notes = first["notes"]?.array?.compactMap(\.string).joined(separator: "\n") ?? ""
        XCTAssertTrue(notes.contains("Latin-1"), notes)
        XCTAssertTrue(notes.contains("dangling") && notes.contains("broken link"), notes)
        let chunks = try XCTUnwrap(first["chunks_written"]?.int)
        XCTAssertGreaterThan(chunks, 6, "the long guide is cut into chunks")

        let chunk1 = try mrl(["get"] + data + [docs + "/guide.md#1"])
        XCTAssertEqual(chunk1.status, 0, chunk1.stderr)
        XCTAssertTrue(chunk1.stdout.contains("\"lines\""), chunk1.stdout)
        let found = try mrl(["search"] + data + ["--json", "-k", "3", "copy files to a remote server"])
        let hits = try XCTUnwrap(try JSON.parse(found.stdout)["hits"]?.array)
        XCTAssertTrue(hits.allSatisfy { $0["meta"]?["path"]?.string == docs + "/guide.md" }, found.stdout)
        let grouped = try mrl(["search"] + data + ["--json", "-k", "3", "--group-by", "parent", "copy files to a remote server"])
        let paths = try XCTUnwrap(try JSON.parse(grouped.stdout)["hits"]?.array).compactMap { $0["meta"]?["path"]?.string }
        XCTAssertEqual(paths.count, 3)
        XCTAssertEqual(Set(paths).count, 3, "one chunk per file")
        let shown = try mrl(["search"] + data + ["-k", "1", "compiler and linker"])
        XCTAssertTrue(shown.stdout.contains("page.html:"), shown.stdout)

        // Nothing changed: nothing read. Then a touch, an edit and a removal.
        let again = try index(data + ["--exclude", "*.log", docs])
        XCTAssertEqual(again["files_unchanged"], 5)
        XCTAssertEqual(again["chunks_written"], 0)
        let later = Date().addingTimeInterval(5)
        try FileManager.default.setAttributes([.modificationDate: later], ofItemAtPath: docs + "/page.html")
        try write(docs + "/guide.md", "# Guide\n\nNow short.")
        try FileManager.default.removeItem(atPath: docs + "/notes/pdf.txt")
        let third = try index(data + ["--exclude", "*.log", docs])
        XCTAssertEqual([third["files_added"], third["files_changed"], third["files_removed"], third["files_unchanged"]], [0, 1, 1, 3], third.serialized)
        XCTAssertEqual(third["chunks_written"], 1, "the touched page is not re-embedded")
        XCTAssertEqual(third["chunks_deleted"]?.int, chunks - 4, "the guide's old chunks past the first, and pdf.txt's")
        XCTAssertNotEqual(try mrl(["get"] + data + [docs + "/guide.md#1"]).status, 0)
        XCTAssertNotEqual(try mrl(["get"] + data + [docs + "/notes/pdf.txt#0"]).status, 0)
    }

    /// --watch picks up a new file, and a deleted one, while it runs.
    func watchKeepsTheIndexCurrent() throws {
        let folder = scratchFolder(test), docs = folder + "/docs"
        try write(docs + "/a.txt", "The first file, about gardening.")
        let data = try transport.at(folder + "/data") + ["--index", "w"]
        let (watcher, _, _) = try launch(["index", "--watch"] + data + [docs])
        test.addTeardownBlock { kill(watcher.processIdentifier, SIGKILL) }
        func waitFor(_ id: String, present: Bool) -> Bool {
            for _ in 0..<300 {
                if ((try? mrl(["get"] + data + [id]))?.status == 0) == present { return true }
                usleep(100_000)
            }
            return false
        }
        XCTAssertTrue(waitFor(docs + "/a.txt#0", present: true), "the first run indexes a.txt")
        try write(docs + "/sub/b.md", "A new note about bicycles, written while watching.")
        XCTAssertTrue(waitFor(docs + "/sub/b.md#0", present: true), "a new file in a new folder is indexed")
        try FileManager.default.removeItem(atPath: docs + "/a.txt")
        XCTAssertTrue(waitFor(docs + "/a.txt#0", present: false), "a deleted file's chunks go")
        kill(watcher.processIdentifier, SIGINT)
        watcher.waitUntilExit()
    }

    /// A watched folder that vanishes is reported and its files leave the index; the other
    /// folders are still watched.
    func watchGoesOnWhenAFolderVanishes() throws {
        let folder = scratchFolder(test), kept = folder + "/kept", gone = folder + "/gone"
        try write(kept + "/a.txt", "A file that stays, about gardening.")
        try write(gone + "/b.txt", "A file in a folder that will be removed, about sailing.")
        let data = try transport.at(folder + "/data") + ["--index", "w"]
        let (watcher, output, _) = try launch(["index", "--watch"] + data + [kept, gone])
        test.addTeardownBlock { kill(watcher.processIdentifier, SIGKILL) }
        func waitFor(_ id: String, present: Bool) -> Bool {
            for _ in 0..<300 where watcher.isRunning {
                if ((try? mrl(["get"] + data + [id]))?.status == 0) == present { return true }
                usleep(100_000)
            }
            return false
        }
        XCTAssertTrue(waitFor(gone + "/b.txt#0", present: true), "the first run indexes both folders")
        try FileManager.default.removeItem(atPath: gone)
        XCTAssertTrue(waitFor(gone + "/b.txt#0", present: false), "the vanished folder's files go")
        try write(kept + "/c.txt", "A new note about bicycles, written after the other folder went.")
        XCTAssertTrue(waitFor(kept + "/c.txt#0", present: true), "the folder left is still watched")
        XCTAssertTrue(watcher.isRunning)
        kill(watcher.processIdentifier, SIGINT)
        watcher.waitUntilExit()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(printed.contains("\(gone): is gone"), printed)
    }

    /// A file whose path passes the 511-byte id limit gets chunk ids that fit (a prefix of
    /// the path and its hash), the same on every run; its meta keeps the whole path.
    func filesDeeperThanTheIDLimitAreIndexed() throws {
        let folder = scratchFolder(test)
        let deep = folder + "/docs/" + (0..<3).map { String(repeating: "deep-folder-\($0)-", count: 14) }.joined(separator: "/")
        let file = deep + "/notes.txt"
        XCTAssertGreaterThan(file.utf8.count, 511)
        try write(file, "Notes about tuning the write-ahead log of a database server.")
        try write(folder + "/docs/short.txt", "A short file beside it.")
        let data = try transport.at(folder + "/data") + ["--index", "deep"]
        let first = try index(data + [folder + "/docs"])
        XCTAssertEqual(first["files_added"], 2, first.serialized)
        XCTAssertEqual(try index(data + [folder + "/docs"])["files_unchanged"], 2)

        let found = try mrl(["search"] + data + ["--json", "-k", "1", "write-ahead log tuning"])
        let hit = try XCTUnwrap(try JSON.parse(found.stdout)["hits"]?.array?.first, found.stdout)
        XCTAssertEqual(hit["meta"]?["path"]?.string, file)
        let id = try XCTUnwrap(hit["id"]?.string)
        XCTAssertLessThanOrEqual(id.utf8.count, 511)
        XCTAssertTrue(id.hasPrefix(folder + "/docs/deep-folder-0-") && id.hasSuffix("#0"), id)

        // A re-run after the file is gone finds its chunk by the same id.
        try FileManager.default.removeItem(atPath: file)
        let removed = try index(data + [folder + "/docs"])
        XCTAssertEqual(removed["files_removed"], 1, removed.serialized)
        XCTAssertEqual(removed["chunks_deleted"], 1, removed.serialized)
        XCTAssertNotEqual(try mrl(["get"] + data + [id]).status, 0)
    }

    func anEmptyFolderSaysSo() throws {
        let folder = scratchFolder(test)
        try FileManager.default.createDirectory(atPath: folder + "/empty", withIntermediateDirectories: true)
        let run = try mrl(["index"] + transport.at(folder + "/data") + ["--index", "e", folder + "/empty"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("files 0 added, 0 changed, 0 removed, 0 unchanged, 0 skipped"), run.stdout)
    }
}

/// `mrl index` on files and folders: discovery, chunking, incremental re-runs, bad input.
final class FolderIndexTests: XCTestCase {
    func testAFolderOfMixedFilesIndexesAndReindexesIncrementally() throws { try FolderContract(self, .local).aFolderOfMixedFilesIndexesAndReindexesIncrementally() }
    func testWatchKeepsTheIndexCurrent() throws { try FolderContract(self, .local).watchKeepsTheIndexCurrent() }
    func testWatchGoesOnWhenAFolderVanishes() throws { try FolderContract(self, .local).watchGoesOnWhenAFolderVanishes() }
    func testFilesDeeperThanTheIDLimitAreIndexed() throws { try FolderContract(self, .local).filesDeeperThanTheIDLimitAreIndexed() }
    func testAnEmptyFolderSaysSo() throws { try FolderContract(self, .local).anEmptyFolderSaysSo() }

    /// Input that never ends stops a run with a clear error: a device given as a file is
    /// refused at once, and a JSONL stream with no newline stops at the line limit.
    func testEndlessInputIsRefused() throws {
        let folder = scratchFolder(self)
        let run = try mrl(["index", "--data", folder, "--index", "d", "/dev/zero"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("/dev/zero: is not a file or folder"), run.stderr)

        let zeros = try XCTUnwrap(FileHandle(forReadingAtPath: "/dev/zero"))
        let (process, _, errors) = try launch(["index", "--data", folder, "--index", "d", "-"], stdin: zeros)
        for _ in 0..<600 where process.isRunning { usleep(100_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(stderr.contains(":1: is over the 16 MiB line limit"), "an endless line is read for ever: \(stderr)")
    }

    /// A run killed at random moments, then re-run, ends with what one clean run gives.
    func testAKilledRunResumes() throws {
        let folder = scratchFolder(self), docs = folder + "/docs"
        for n in 0..<16 {
            try write(docs + "/f\(n).txt", (0..<3).map { "File \(n), paragraph \($0): notes on topic \(n * 7 + $0)." }.joined(separator: "\n\n"))
        }
        let data = ["--data", folder + "/data", "--index", "k"]
        for delay in [0.8, 1.5, 2.5] { _ = try runKilled(["index", "--batch-size", "3"] + data + [docs], after: delay) }
        let resumed = try index(data + [docs])
        XCTAssertEqual((resumed["files_added"]?.int ?? 0) + (resumed["files_unchanged"]?.int ?? 0) + (resumed["files_changed"]?.int ?? 0), 16)
        let clean = try index(["--data", folder + "/clean", "--index", "k", docs])
        let count = { (dir: String) throws -> JSON? in try JSON.parse(try mrl(["info", "--json", "--data", dir, "--index", "k"]).stdout)["documents"] }
        XCTAssertEqual(try count(folder + "/data"), try count(folder + "/clean"))
        XCTAssertEqual(clean["files_added"], 16)
    }



    func testLongJSONLDocumentsAreChunkedWithTheirParent() throws {
        let folder = scratchFolder(self)
        let long = (0..<80).map { "Sentence \($0) of a long package description about network tools." }.joined(separator: " ")
        try write(folder + "/docs.jsonl", #"{"id": "long", "text": "\#(long)", "title": "net"}"# + "\n" + #"{"id": "short", "text": "a short one"}"# + "\n")
        let data = ["--data", folder + "/data", "--index", "j"]
        let result = try index(data + ["--chunk", folder + "/docs.jsonl"])
        XCTAssertGreaterThan(result["added"]?.int ?? 0, 3)
        let chunk = try mrl(["get"] + data + ["long#1"])
        XCTAssertEqual(chunk.status, 0, chunk.stderr)
        let meta = try JSON.parse(chunk.stdout)["meta"]
        XCTAssertEqual(meta?["parent"], "long")
        XCTAssertEqual(meta?["title"], "net")
        let grouped = try mrl(["search", "--json", "--group-by", "parent", "-k", "2"] + data + ["network tools"])
        XCTAssertEqual(try JSON.parse(grouped.stdout)["hits"]?.array?.compactMap { $0["id"]?.string }.map { $0.hasPrefix("long#") }, [true, false])
        // Scored by parent, the long document is found through its chunks.
        try write(folder + "/q.jsonl", #"{"query": "network tools", "relevant_id": "long"}"# + "\n")
        let eval = try mrl(["eval", "--json", "--group-by", "parent", "--dims", "384", "--queries", folder + "/q.jsonl"] + data)
        XCTAssertEqual(eval.status, 0, eval.stderr)
        XCTAssertEqual(try JSON.parse(eval.stdout)["by_dims"]?.array?.first?["mrr_at_10"], 1)
    }
}

final class FolderIndexThroughDaemonTests: XCTestCase {
    func testAFolderOfMixedFilesIndexesAndReindexesIncrementally() throws { try FolderContract(self, .daemon).aFolderOfMixedFilesIndexesAndReindexesIncrementally() }
    func testWatchKeepsTheIndexCurrent() throws { try FolderContract(self, .daemon).watchKeepsTheIndexCurrent() }
    func testWatchGoesOnWhenAFolderVanishes() throws { try FolderContract(self, .daemon).watchGoesOnWhenAFolderVanishes() }
    func testFilesDeeperThanTheIDLimitAreIndexed() throws { try FolderContract(self, .daemon).filesDeeperThanTheIDLimitAreIndexed() }
    func testAnEmptyFolderSaysSo() throws { try FolderContract(self, .daemon).anEmptyFolderSaysSo() }
}
