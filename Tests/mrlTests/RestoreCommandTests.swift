import Foundation
import TestSupport
import XCTest

/// `mrl restore` replaces an index so that a power cut at any moment leaves the old index or
/// the new one: checked on the order of its system calls, as strace sees them.
final class RestoreCommandTests: XCTestCase {
    func testRestoreSyncsTheCopyAndItsFoldersBeforeRemovingTheOldIndex() throws {
        guard let strace = ["/usr/bin/strace", "/bin/strace"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("strace is not installed (tools/setup.sh installs it): it is how this test sees restore's fsyncs and renames")
        }
        let folder = scratchFolder(self)
        let data = folder + "/data", source = folder + "/source"
        writeCorpus(folder + "/old.jsonl", count: 3, dims: 4)
        writeCorpus(folder + "/new.jsonl", count: 5, dims: 4)
        XCTAssertEqual(try mrl(["index", "--data", data, "--index", "x", folder + "/old.jsonl"]).status, 0)
        XCTAssertEqual(try mrl(["index", "--data", source, "--index", "x", folder + "/new.jsonl"]).status, 0)

        let trace = folder + "/trace.txt"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: strace)
        process.arguments = ["-f", "-y", "-o", trace, "-e", "trace=fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat,rmdir",
                             mrlExecutable.path, "restore", "--data", data, "--index", "x", "--from", source + "/x"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let calls = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").map(String.init)
        guard process.terminationStatus == 0 else {
            if calls.contains(where: { $0.contains("PTRACE") || $0.contains("Operation not permitted") }) {
                throw XCTSkip("strace may not trace here: \(calls.prefix(3))")
            }
            return XCTFail("restore under strace failed: \(calls.suffix(5))")
        }
        XCTAssertEqual(try mrl(["info", "--data", data, "--index", "x", "--json"]).stdout.contains(#""documents":5"#), true)

        /// The index of the first call whose line has all of `parts` and none of `without`
        /// (strace -y shows the path of fsync's fd).
        func first(_ parts: String..., without: String = "\0") throws -> Int {
            try XCTUnwrap(calls.firstIndex { line in parts.allSatisfy(line.contains) && !line.contains(without) },
                          "no call with \(parts) in:\n\(calls.joined(separator: "\n"))")
        }
        let target = data + "/x"
        let copySynced = try first("fsync(", ".restoring-", "/data.mdb>")
        let stagingSynced = try first("fsync(", ".restoring-", without: "data.mdb")
        let movedAside = try first("rename", "\"\(target)\"", ".replaced-")
        let swappedIn = try first("rename", ".restoring-", "\"\(target)\"")
        let dataSynced = try first("fsync(", "<\(data)>)")
        let oldRemoved = try first("unlink", ".replaced-")
        XCTAssertLessThan(copySynced, stagingSynced, "the copy is on disk before its folder entry")
        XCTAssertLessThan(stagingSynced, movedAside, "the copy is on disk before anything is replaced")
        XCTAssertLessThan(movedAside, swappedIn)
        XCTAssertLessThan(swappedIn, dataSynced, "the renames are made durable")
        XCTAssertLessThan(dataSynced, oldRemoved, "the old index is removed only once the new one is in place on disk")
    }
}
