import Engine
import Foundation
import Search
import Server
import TestSupport
import XCTest

/// A daemon set up for the value fuzz, and the checks every answer gets. Its indexes: "vectors"
/// (8-d, vectors of the caller's own), "graph" (8-d, with an ANN graph: `mrl index` and `mrl
/// graph` build it before the daemon starts; writes then keep it current), "texts" (the built-in
/// model, a few texts). MRL_FUZZ_SEED repeats a run, MRL_VALUE_FUZZ_REQUESTS sets its length.
/// Sendable unchecked: connections on several threads share it, and its failures are locked.
final class ValueFuzzDaemon: @unchecked Sendable {
    static let targets = [FuzzTarget(name: "vectors", dimensions: 8, text: false),
                          FuzzTarget(name: "graph", dimensions: 8, text: false),
                          FuzzTarget(name: "texts", dimensions: Model.defaultDimensions, text: true)]
    /// Documents in "graph": over the plans' 200 sampled queries, small enough to build in a second.
    static let graphDocuments = 600

    let daemon: DaemonProcess
    let data: String
    let spec: OpenAPISpec
    let seed: UInt64
    let count: Int
    /// Failures by kind: the first example of each, and how many there were.
    private(set) var failures: [String: (first: String, count: Int)] = [:]
    private let lock = NSLock()
    private let statuses: SpecStatuses

    init(test: XCTestCase, defaultCount: Int) throws {
        let environment = ProcessInfo.processInfo.environment
        count = Int(environment["MRL_VALUE_FUZZ_REQUESTS"] ?? "") ?? defaultCount
        seed = UInt64(environment["MRL_FUZZ_SEED"] ?? "") ?? UInt64(Date().timeIntervalSince1970)
        spec = try OpenAPISpec()
        statuses = SpecStatuses(spec: spec)
        data = scratchFolder(test) + "/data"
        let corpus = data + ".jsonl"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        writeCorpus(corpus, count: Self.graphDocuments, dims: 8)
        for arguments in [["index", "--data", data, "--index", "graph", corpus], ["graph", "--data", data, "--index", "graph"]] {
            let run = try mrl(arguments)
            XCTAssertEqual(run.status, 0, "mrl \(arguments.joined(separator: " ")): \(run.stderr)")
        }
        daemon = try DaemonProcess(data: data, test: test)
        let client = try daemon.client()
        XCTAssertEqual(try client.send("PUT", "/indexes/vectors", ["dimensions": 8]).status, 201)
        XCTAssertEqual(try client.send("PUT", "/indexes/texts").status, 201)
        let texts: JSON = ["documents": .array(["a red fox", "the package manager", "un café à Paris", "数据库"].enumerated().map {
            ["id": .string("text-\($0)"), "text": .string($1)]
        })]
        let written = try client.send("POST", "/indexes/texts/documents", texts)
        XCTAssertEqual(written.status, 200, written.errorMessage)
        print("value fuzz: \(count) requests, seed \(seed) (MRL_FUZZ_SEED to repeat, MRL_VALUE_FUZZ_REQUESTS for more)")
    }

    func fail(_ key: String, _ example: String) {
        lock.withLock { failures[key, default: (example, 0)].count += 1 }
    }

    /// Sends `request` on `client` (a new one when the daemon closed it) and checks the answer;
    /// the reply, or nil when there was none (a failure is recorded then).
    func send(_ request: FuzzRequest, on client: inout UnixHTTPClient) -> UnixHTTPClient.Reply? {
        do {
            let reply = try client.exchange(UnixHTTPClient.message(request.method, request.path, body: request.body))
            if reply.closes { client = try daemon.client() }
            if let problem = judge(reply, request) {
                fail("\(request.description): \(problem)", "\(problem); got \(reply.status) \(reply.errorMessage.prefix(300))")
            }
            return reply
        } catch {
            // A daemon that traps keeps its socket while it writes its backtrace: wait for it.
            for _ in 0..<20 where daemon.process.isRunning { usleep(50_000) }
            if daemon.process.isRunning {
                fail("\(request.description): no answer", "\(error)")
                client = (try? daemon.client()) ?? client
            } else {
                fail("died", "the daemon died at \(request.description):\n\(crashReport())")
            }
            return nil
        }
    }

    /// Whether the spec documents `reply` for `request`: its status for the route the path
    /// resolves to, no 5xx but 503 and 507, and a body of the documented schema.
    func judge(_ reply: UnixHTTPClient.Reply, _ request: FuzzRequest) -> String? {
        let (route, documented, _) = statuses.allowed(request.method, request.path)
        guard documented.contains(reply.status) else {
            return "status \(reply.status) is not documented for \(request.method) \(route) (documented: \(documented.sorted()))"
        }
        if reply.status >= 500, ![503, 507].contains(reply.status) { return "a \(reply.status): the server's own trouble" }
        guard let schema = spec.responseSchema(request.method, route, status: reply.status) else { return nil }
        guard let body = reply.json else { return "a \(reply.status) whose body is not JSON" }
        let problems = spec.problems(body, schema)
        return problems.isEmpty ? nil : "a \(reply.status) whose body breaks the spec: \(problems.prefix(3).joined(separator: "; "))"
    }

    /// Fails the test with each kind of failure, the seed in every message.
    func report(file: StaticString = #filePath, line: UInt = #line) {
        for (key, failure) in failures.sorted(by: { $0.key < $1.key }) {
            XCTFail("seed \(seed), \(key) (×\(failure.count)); first: \(failure.first)", file: file, line: line)
        }
    }

    /// The daemon is up and answers /health.
    func checkAlive(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(daemon.process.isRunning, "seed \(seed): the daemon died:\n\(crashReport())", file: file, line: line)
        guard daemon.process.isRunning else { return }
        let health = try? daemon.client().send("GET", "/health")
        XCTAssertEqual(health?.status, 200, "seed \(seed): /health after the fuzz", file: file, line: line)
    }

    /// Removes a backup the fuzz made, so a long run does not fill the disk.
    func removeBackup(_ reply: UnixHTTPClient.Reply) {
        guard reply.status == 200, let name = reply.json?["backup"]?.string, !name.contains("/") else { return }
        try? FileManager.default.removeItem(atPath: data + "/backups/" + name)
    }

    /// A dead daemon's fatal error and the frames of the thread that crashed (or its last lines).
    func crashReport() -> String {
        for _ in 0..<100 where daemon.process.isRunning { usleep(100_000) }
        guard !daemon.process.isRunning else { return "(still running)" }
        let lines = daemon.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        let fatal = lines.filter { $0.contains("Fatal error") || $0.contains("Program crashed") }
        guard let thread = lines.firstIndex(where: { $0.hasPrefix("Thread ") && $0.contains("crashed") }) else {
            return (fatal + lines.suffix(20)).joined(separator: "\n")
        }
        return (fatal + lines[thread...].prefix(25)).joined(separator: "\n")
    }
}
