import Engine
import Foundation
import Search
import TestSupport
import XCTest

/// The value fuzz for `mrl index`'s inputs (issue 16): JSONL files whose lines carry the
/// boundary values of each DocumentInput field in api/openapi.json, and folder trees of odd
/// names, symlink loops, binary, empty and non-UTF-8 files. The CLI must succeed, or exit
/// with an error naming file:line or the field; never trap (a signal, or "Fatal error"), and
/// never hang. MRL_FUZZ_SEED repeats a run; MRL_INGEST_FUZZ_FILES sets how many JSONL files.
final class IngestFuzzTests: XCTestCase {
    let dimensions = 8
    /// Longer than any honest run of these small inputs (the folder's texts are embedded by the
    /// model in a debug build): past it the CLI is taken as hung.
    let runLimit = 120.0

    func testJSONLWithBoundaryValuesInEachFieldFailsByLineOrSucceeds() throws {
        let environment = ProcessInfo.processInfo.environment
        let files = Int(environment["MRL_INGEST_FUZZ_FILES"] ?? "") ?? 40
        let seed = UInt64(environment["MRL_FUZZ_SEED"] ?? "") ?? UInt64(Date().timeIntervalSince1970)
        var rng = SplitMix64(seed: seed)
        let spec = try OpenAPISpec()
        let target = FuzzTarget(name: "jsonl", dimensions: dimensions, text: false)
        let requests = SpecRequests(spec: spec, targets: [target])
        let documentSites = requests.sites.filter { $0.method == "POST" && $0.template == "/indexes/{name}/documents" && $0.field.count == 3 }
        XCTAssertFalse(documentSites.isEmpty, "the spec's DocumentInput fields")
        let lines = documentSites.flatMap { site in
            requests.values(site, target: target).map { value -> (String, [UInt8]) in
                ("\(site.fieldName.split(separator: ".").last ?? "") = \(value.name)", line(site, value, requests: requests))
            }
        } + junkLines()
        let scratch = scratchFolder(self)
        print("ingest fuzz: \(files) JSONL files of one bad line each, and one of all \(lines.count) bad lines with --skip-bad; seed \(seed) (MRL_FUZZ_SEED to repeat)")
        var failures: [String] = []
        let order = lines.shuffled(using: &rng)
        for n in 0..<files {
            let (name, bad) = order[n % order.count]
            // The bad line third of five, so an error must say which.
            let path = scratch + "/f\(n).jsonl"
            var text: [UInt8] = []
            for i in 0..<5 { text += (i == 2 ? bad : valid(n * 10 + i, requests)) + [0x0A] }
            FileManager.default.createFile(atPath: path, contents: Data(text))
            let run = try index(path, data: scratch + "/data\(n)", extra: [])
            if let problem = judge(run, file: path, line: 3, field: name) { failures.append("\(name): \(problem)") }
        }
        // Every bad line in one file, skipped and reported by line.
        let all = scratch + "/all.jsonl"
        FileManager.default.createFile(atPath: all, contents: Data(lines.flatMap { [valid(0, requests), $0.1].flatMap { $0 + [0x0A] } }))
        let run = try index(all, data: scratch + "/all-data", extra: ["--skip-bad"])
        if run.status != 0 { failures.append("all bad lines with --skip-bad: \(judge(run, file: all, line: nil, field: "all lines") ?? run.stderr)") }
        for failure in failures { XCTFail("seed \(seed), \(failure)") }
    }

    func testFolderOfOddFilesIsIndexedOrRefusedByName() throws {
        let scratch = scratchFolder(self)
        let folder = scratch + "/tree"
        try OddTree.make(at: folder)
        // Folders of mode 000 can be removed only once opened again (for a user other than root).
        addTeardownBlock { chmod(folder + "/closed", 0o755) }
        let run = try index(folder, data: scratch + "/data", extra: [])
        if let problem = judge(run, file: folder, line: nil, field: "folder") { XCTFail("a folder of odd files: \(problem)") }
        // Again over the same index: the re-run must not fail where the first one did not.
        let again = try index(folder, data: scratch + "/data", extra: [])
        if let problem = judge(again, file: folder, line: nil, field: "folder") { XCTFail("re-indexing the folder: \(problem)") }
        print("ingest fuzz: the folder: exit \(run.status), \(run.stderr.split(separator: "\n").suffix(3).joined(separator: " | ").prefix(400))")
    }

    // MARK: inputs

    private func valid(_ n: Int, _ requests: SpecRequests) -> [UInt8] {
        requests.validBody(["$ref": "#/components/schemas/DocumentInput"], for: FuzzTarget(name: "jsonl", dimensions: dimensions, text: false), n: n).bytes
    }

    /// A valid document line with `site`'s field (documents[0].x) set to `value`.
    private func line(_ site: SpecRequests.Site, _ value: FuzzValue, requests: SpecRequests) -> [UInt8] {
        let placeholder = "@@fuzz@@"
        let document = requests.validBody(["$ref": "#/components/schemas/DocumentInput"], for: FuzzTarget(name: "jsonl", dimensions: dimensions, text: false), n: 7)
            .setting(site.field.dropFirst(2), to: .string(placeholder))
        let text = document.bytes
        let needle = Array("\"\(placeholder)\"".utf8)
        guard let start = (0...(text.count - needle.count)).first(where: { text[$0..<($0 + needle.count)].elementsEqual(needle) }) else { return text }
        // A raw newline would split the line: JSONL has no room for one inside a value.
        return Array(text[..<start]) + value.text.map { $0 == 0x0A ? 0x20 : $0 } + text[(start + needle.count)...]
    }

    /// Lines that are not documents at all.
    private func junkLines() -> [(String, [UInt8])] {
        [("empty line", []), ("spaces", Array("   \t ".utf8)), ("not JSON", Array("{id: 1".utf8)), ("an array", Array("[1,2]".utf8)),
         ("a number", Array("42".utf8)), ("null", Array("null".utf8)), ("a BOM", [0xEF, 0xBB, 0xBF] + Array("{\"id\":\"bom\"}".utf8)),
         ("a carriage return", Array("{\"id\":\"cr\",\"vector\":[1,1,1,1,1,1,1,1]}\r".utf8)), ("NUL bytes", [0, 0, 0]),
         ("invalid UTF-8", [0xFF, 0xFE, 0x7B, 0x7D]), ("1 MB of braces", Array(repeating: UInt8(ascii: "{"), count: 1 << 20)),
         ("two objects", Array("{\"id\":\"a\"}{\"id\":\"b\"}".utf8))]
    }

    // MARK: runs

    /// `mrl index` of `input` into index "fuzz" of `data`, killed if it outlives `runLimit`.
    private func index(_ input: String, data: String, extra: [String]) throws -> CLIOutcome {
        let (process, out, err) = try launch(["index", "--data", data, "--index", "fuzz"] + extra + [input])
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + runLimit, execute: watchdog)
        // Its standard output is a few summary lines: it cannot fill its pipe while this reads the other.
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        _ = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        let signalled = process.terminationReason == .uncaughtSignal
        let hung = signalled && process.terminationStatus == SIGKILL
        return CLIOutcome(status: signalled ? 128 + process.terminationStatus : process.terminationStatus,
                          stderr: String(decoding: stderr, as: UTF8.self), hung: hung)
    }

    /// What is wrong with a run, or nil: it must succeed, or fail naming `file:line` (or the
    /// file) or the field, never trap and never hang.
    private func judge(_ run: CLIOutcome, file: String, line: Int?, field: String) -> String? {
        let said = run.stderr.split(separator: "\n").suffix(6).joined(separator: " | ").prefix(600)
        if run.hung { return "still running after \(Int(runLimit)) s: \(said)" }
        if run.status > 128 || run.stderr.contains("Fatal error") || run.stderr.contains("Program crashed") {
            let trap = run.stderr.split(separator: "\n").filter { $0.contains("Fatal error") || $0.contains(" at /") }.prefix(6).joined(separator: "\n")
            return "trapped (exit \(run.status)):\n\(trap.isEmpty ? String(said) : trap)"
        }
        guard run.status != 0 else { return nil }
        let name = (file as NSString).lastPathComponent
        let place = line.map { "\(name):\($0)" } ?? name
        let fieldName = field.split(separator: " ").first.map(String.init) ?? field
        if run.stderr.contains(place) || run.stderr.contains("\"\(fieldName)\"") { return nil }
        return "failed (exit \(run.status)) without naming \(place) or the field: \(said)"
    }
}

/// How an `mrl` run ended: its exit status (128 + the signal when one ended it), what it
/// said on standard error, and whether it was killed for outliving its time.
struct CLIOutcome {
    let status: Int32
    let stderr: String
    let hung: Bool
}

/// A folder tree of the files a real folder holds that trip walkers up.
enum OddTree {
    static func make(at root: String) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: root + "/deep/" + String(repeating: "d", count: 200) + "/" + String(repeating: "e", count: 200), withIntermediateDirectories: true)
        func file(_ name: String, _ contents: [UInt8]) { manager.createFile(atPath: root + "/" + name, contents: Data(contents)) }
        file("plain.txt", Array("a plain text file about a red fox".utf8))
        file("empty.txt", [])
        file("-rf.txt", Array("a name that looks like an option".utf8))
        file("with space and\nnewline.txt", Array("an odd name".utf8))
        file("\u{202E}txt.exe", Array("right-to-left override in the name".utf8))
        file("e\u{0301}\u{0301}😀.md", Array("combining marks and an emoji in the name".utf8))
        file(String(repeating: "n", count: 250) + ".txt", Array("a 254-byte name".utf8))
        file("deep/" + String(repeating: "d", count: 200) + "/" + String(repeating: "e", count: 200) + "/" + String(repeating: "f", count: 200) + ".txt",
             Array(String(repeating: "a path over 511 bytes ", count: 50).utf8))
        file("binary.bin", (0..<4_096).map { UInt8(truncatingIfNeeded: $0 &* 7919) })
        file("binary.txt", [0x00, 0x01, 0xFF, 0xFE] + Array("text after NULs".utf8))
        file("latin1.txt", [0x63, 0x61, 0x66, 0xE9, 0x20, 0xE0, 0x20, 0x50, 0x61, 0x72, 0x69, 0x73])
        file("lone-surrogate.txt", [0xED, 0xA0, 0x80, 0x61])
        file("nul-in-middle.md", Array("before".utf8) + [0] + Array("after".utf8))
        file("long-line.txt", Array(repeating: UInt8(ascii: "w"), count: 1 << 20))
        file("unreadable.txt", Array("mode 000".utf8))
        chmod(root + "/unreadable.txt", 0)
        try manager.createDirectory(atPath: root + "/closed", withIntermediateDirectories: true)
        file("closed/inside.txt", Array("in a folder of mode 000".utf8))
        chmod(root + "/closed", 0)
        // A name that is not UTF-8: made with open(2), as Foundation takes Strings.
        let raw = Array(root.utf8) + Array("/latin1-".utf8) + [0xE9, 0xFF] + Array(".txt".utf8) + [0]
        let fd = raw.withUnsafeBufferPointer { open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_CREAT | O_WRONLY, 0o644) }
        if fd >= 0 {
            _ = "a name of invalid UTF-8".withCString { write(fd, $0, strlen($0)) }
            close(fd)
        }
        try manager.createSymbolicLink(atPath: root + "/loop", withDestinationPath: ".")
        try manager.createSymbolicLink(atPath: root + "/a", withDestinationPath: "b")
        try manager.createSymbolicLink(atPath: root + "/b", withDestinationPath: "a")
        try manager.createSymbolicLink(atPath: root + "/dangling.txt", withDestinationPath: "/nonexistent/file.txt")
        try manager.createSymbolicLink(atPath: root + "/deep/up", withDestinationPath: "../..")
    }
}
