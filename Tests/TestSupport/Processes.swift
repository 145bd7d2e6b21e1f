import Foundation
import Search
import XCTest

/// The outcome of one `mrl` run.
public struct Run {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// The `mrl` executable: `$MRL_BIN`, or the one SwiftPM built beside this test bundle.
public let mrlExecutable: URL = {
    if let path = ProcessInfo.processInfo.environment["MRL_BIN"] { return URL(fileURLWithPath: path) }
    let bundle = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
    var dir = bundle.deletingLastPathComponent()
    while !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("mrl").path), dir.path != "/" {
        dir = dir.deletingLastPathComponent()
    }
    return dir.appendingPathComponent("mrl")
}()

/// The `mrl-bench` executable, which SwiftPM builds (and `make install` would put) beside `mrl`.
public let mrlBenchExecutable = mrlExecutable.deletingLastPathComponent().appendingPathComponent("mrl-bench")

/// Starts `mrl` (or `executable`) with `arguments` (in `directory`, or this process's); the
/// caller waits (or kills).
public func launch(_ arguments: [String], stdin: FileHandle? = nil, environment: [String: String] = [:],
                   directory: String? = nil, executable: URL = mrlExecutable) throws -> (Process, Pipe, Pipe) {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = stdin ?? FileHandle.nullDevice
    try process.run()
    return (process, out, err)
}

/// Runs `mrl` (or `executable`) to completion, or SIGKILLs it after `timeout` seconds (for
/// runs that must end by themselves and would otherwise hang a test of old code).
public func mrl(_ arguments: [String], environment: [String: String] = [:], directory: String? = nil,
                timeout: Double? = nil, executable: URL = mrlExecutable) throws -> Run {
    let (process, out, err) = try launch(arguments, environment: environment, directory: directory, executable: executable)
    let stop = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
    if let timeout { DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: stop) }
    defer { stop.cancel() }
    // Read before waiting: a full pipe would block the child forever.
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
               stderr: String(decoding: stderr, as: UTF8.self))
}

/// Runs `mrl` and SIGKILLs it after `delay` seconds if it is still running. Returns
/// whether the kill landed (the process died of it) and what it wrote to standard error.
public func runKilled(_ arguments: [String], after delay: Double) throws -> (killed: Bool, stderr: String) {
    let (process, _, err) = try launch(arguments)
    usleep(useconds_t(delay * 1e6))
    let wasRunning = process.isRunning
    if wasRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return (wasRunning && process.terminationReason == .uncaughtSignal, stderr)
}

/// Indexes folder `docs` as index "k" twice under `folder`: in `data`, by runs killed at
/// random moments and one that finishes; in `clean`, by one run. What is derived from the
/// documents must then answer the same in both.
public func indexKilledAndClean(_ docs: String, in folder: String) throws -> (killed: String, clean: String) {
    let (killed, clean) = (folder + "/data", folder + "/clean")
    for delay in [0.8, 1.5, 2.5] {
        _ = try runKilled(["index", "--batch-size", "3", "--data", killed, "--index", "k", docs], after: delay)
    }
    for data in [killed, clean] {
        let run = try mrl(["index", "--data", data, "--index", "k", docs])
        XCTAssertEqual(run.status, 0, run.stderr)
    }
    return (killed, clean)
}

/// A fresh folder for indexes and input files, removed when the test ends.
public func scratchFolder(_ test: XCTestCase) -> String {
    let path = NSTemporaryDirectory() + "mrl-cli-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// The deterministic vector of document n: pseudo-random per n, so no two documents are
/// near-duplicates however many there are (a sine of n repeats within 100,000 documents).
public func vector(_ n: Int, dims: Int) -> [Float] {
    var rng = SplitMix64(seed: UInt64(n))
    return (0..<dims).map { _ in Float(Int(rng.next() % 2_000_001) - 1_000_000) / 1e6 }
}

/// A JSONL file of `count` documents "c0", "c1", ... with `dims`-d vectors.
public func writeCorpus(_ path: String, count: Int, dims: Int) {
    var text = ""
    text.reserveCapacity(count * dims * 12)
    for n in 0..<count {
        let v = vector(n, dims: dims).map { String(format: "%.6f", $0) }.joined(separator: ",")
        text += #"{"id":"c\#(n)","text":"document \#(n)","meta":{"n":\#(n)},"vector":[\#(v)]}"# + "\n"
    }
    FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
}

public func json(_ text: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
}

/// Runs `command` as the user nobody (setpriv; the tests run as root), stopped after 10 s,
/// and returns what it wrote; nil when this process may not change its uid.
public func asNobody(_ command: [String]) throws -> String? {
    guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    process.arguments = ["10", "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"] + command
    let out = Pipe()
    process.standardOutput = out
    process.standardError = out
    try process.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return text
}
