import ArgumentParser
import Dispatch
import Engine
import Foundation
import Search
import Server
import Synchronization
import Terminal

struct ServeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Load a running daemon over its socket: QPS and latency by budget and number of clients.",
        discussion: """
            Each client is a keep-alive connection of its own; one thread drives them all through \
            epoll, as wrk does, so that the generator takes little CPU from the daemon it measures. \
            A client sends its next search as soon as its last is answered (closed loop), or, with \
            --rate, on a fixed schedule \
            (rate / clients per second each, a late send going out at once): load below \
            saturation, as for a soak. Request bodies are built before timing; a point ends after \
            --requests answers or --seconds, whichever comes first. "server RSS" is the daemon's \
            resident memory at the end of the point.

            Latency is the client's (queueing included); "server p99" is the p99 of the answers' \
            took_ms. CPU columns are CPU time over wall time (100% = one core): "gen" this \
            generator's, "server" the daemon's (its pid from /health, when on this machine), \
            "machine" all processes'.

            With --mode text, the encoder is also timed alone in this process (as `mrl embed` \
            runs it) before and after the points, and each point's QPS is given as a share of it.

            Example: mrl-bench serve --socket indexes/mrl.sock --index debian-ref \
            --queries tools/bench/out/debian-titles.jsonl --budget-ms default,1 --recall
            """)

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case vector, text
    }

    @Option(help: "The daemon's socket.")
    var socket: String

    @Option(help: "Name of the index to search.")
    var index: String

    @Option(help: "JSONL queries: {\"vector\": [...]} and/or {\"query\" (or \"title\"): \"text\"}.")
    var queries: String

    @Option(help: "vector: send vectors (a line with only text is embedded here first); text: send texts, embedded by the daemon.")
    var mode = Mode.vector

    @Option(help: "How many queries to cycle through.")
    var limit = 1000

    @Option(name: .customLong("budget-ms"), help: "Budgets in ms, comma-separated; \"default\" is the planner's own choice.")
    var budgetList = "default"

    @Option(help: "Concurrent clients, comma-separated.")
    var clients = IntList(argument: "1,8,64")!

    @Option(help: "Answers per point at most.")
    var requests = 5000

    @Option(help: "Seconds per point at most.")
    var seconds = 20.0

    @Option(name: .short, help: "Results per query.")
    var k = 10

    @Option(help: "Searches per second for all clients together (default: as fast as answers come).")
    var rate: Double?

    @Flag(help: "Recall@k against an exact full-dimension search of each query, asked once before timing.")
    var recall = false

    @Flag(help: "Print results as JSON.")
    var json = false

    /// nil is the planner's default budget.
    private var budgets: [Double?] {
        get throws {
            try budgetList.split(separator: ",").map { item in
                if item == "default" { return nil }
                guard let ms = Double(item), ms > 0 else {
                    throw ValidationError("--budget-ms: \"\(item)\" is neither a positive number nor \"default\"")
                }
                return ms
            }
        }
    }

    func validate() throws {
        if let rate, !(rate > 0) { throw ValidationError("--rate must be a positive number of searches per second") }
    }

    func run() throws {
        let budgets = try self.budgets
        let daemon = try DaemonCatalog(socket: socket)
        guard let dimensions = try daemon.call("GET", "/indexes/\(index)")["dimensions"]?.int else {
            throw DaemonCatalog.Failure(description: "the daemon's description of index \(index) has no dimensions")
        }
        let precision = try daemon.call("GET", "/indexes/\(index)")["model"]?["precision"]?.string.flatMap(Precision.init) ?? .fp32
        let serverPID = try daemon.call("GET", "/health")["pid"]?.int
        let known = try KnownItemQuery.read(path: queries, requiringRelevant: false).prefix(limit)
        let searches: [SearchRequest]
        switch mode {
        case .vector: searches = try known.vectors(precision: precision).map { SearchRequest(vector: $0, k: k) }
        case .text:
            let texts = known.compactMap(\.query)
            guard texts.count == known.count else {
                throw EngineError.unreadable(path: queries, reason: "--mode text needs \"query\" or \"title\" on every line")
            }
            searches = texts.map { SearchRequest(query: $0, k: k) }
        }
        func bodies(_ change: (inout SearchRequest) -> Void) -> [[UInt8]] {
            searches.map { var request = $0; change(&request); return request.json.bytes }
        }
        // The exact answers also warm the daemon up; without them, one untimed pass does.
        let exact = bodies { $0.dims = dimensions }
        let truth = try measure(exact, clients: 1, requests: recall ? exact.count : min(exact.count, 500), seconds: .infinity,
                                serverPID: serverPID, paced: false)
        guard truth.errors == 0 else { throw DaemonCatalog.Failure(description: "the exact searches failed: \(truth.firstError ?? "")") }
        // Text mode's yardstick, taken in this run: the encoder alone, in this process.
        let texts = searches.compactMap(\.query)
        var encoderRates = texts.isEmpty ? [] : [try Self.encoderRate(texts)]
        var points: [Point] = []
        for budget in budgets {
            let timed = bodies { $0.budgetMs = budget }
            for count in clients.values {
                var point = try measure(timed, clients: count, requests: requests, seconds: seconds, serverPID: serverPID,
                                        truth: recall ? truth.answers : nil)
                point.budget = budget
                points.append(point)
                if !json { note("budget \(budget.map { "\($0) ms" } ?? "default"), \(count) clients: \(Int(point.qps)) QPS") }
            }
        }
        if !texts.isEmpty { encoderRates.append(try Self.encoderRate(texts)) }
        let encoderRate = encoderRates.isEmpty ? nil : encoderRates.reduce(0, +) / Double(encoderRates.count)
        if json {
            printJSON(["index": .string(index), "mode": .string(mode.rawValue), "queries": JSON(searches.count), "k": JSON(k),
                       "points": .array(points.map(\.json)), "encoder_texts_per_s": JSON(encoderRate)])
            return
        }
        print("\(index) over \(socket): \(searches.count) \(mode) queries, k \(k)" + (recall ? ", recall against exact \(dimensions)-d search" : ""))
        if let encoderRate {
            print(String(format: "the encoder alone, in this process, before and after the points: %.0f and %.0f texts/s (batches of %d)",
                         encoderRates[0], encoderRates[1], Self.encoderBatch))
            print(String(format: "QPS as a share of their mean: %@",
                         points.map { "\($0.clients) clients \(Int((100 * $0.qps / encoderRate).rounded()))%" }.joined(separator: ", ")))
        }
        var table = Table(header: ["budget ms", "clients", "answers", "QPS", "p50 ms", "p99 ms", "server p99 ms", "recall",
                                   "partial", "errors", "gen CPU", "server CPU", "machine CPU", "server RSS", "plan chosen most"],
                          rightAligned: Set(0..<14))
        for p in points {
            table.rows.append([p.budget.map { String(format: "%g", $0) } ?? "default", "\(p.clients)", "\(p.latencies.count)",
                               String(format: "%.0f", p.qps), String(format: "%.3f", quantile(p.latencies, 0.5)),
                               String(format: "%.3f", quantile(p.latencies, 0.99)), String(format: "%.3f", quantile(p.took, 0.99)),
                               p.recall.map { String(format: "%.3f", $0) } ?? "-", "\(p.partial)", "\(p.errors)",
                               String(format: "%.0f%%", p.cpu.generator), p.cpu.server.map { String(format: "%.0f%%", $0) } ?? "-",
                               String(format: "%.0f%%", p.cpu.machine), p.serverRSS.map { "\($0 >> 20) MB" } ?? "-", p.plan])
        }
        print(table.render())
        if let error = points.compactMap(\.firstError).first { print("first error: \(error)") }
    }

    /// Texts the encoder embeds per second on its own, in batches as `mrl embed` makes them:
    /// what text queries through the daemon are measured against, in the same run.
    private static func encoderRate(_ texts: [String]) throws -> Double {
        let encoder = try Model.encoder()
        let sample = Array(texts.prefix(2_000))
        let start = DispatchTime.now().uptimeNanoseconds
        for batch in stride(from: 0, to: sample.count, by: encoderBatch) {
            _ = encoder.embed(Array(sample[batch..<min(batch + encoderBatch, sample.count)]))
        }
        return Double(sample.count) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    private static let encoderBatch = Model.batchSize

    /// One point: `clients` connections share the first `requests` turns through `bodies`
    /// (cycling), for at most `seconds`. Closed-loop answers are decoded after the timing, so
    /// that the generator takes as little of the machine's CPU from the daemon as it can;
    /// paced ones at once (their memory stays flat over a long soak, and CPU is not what
    /// bounds them).
    private func measure(_ bodies: [[UInt8]], clients: Int, requests: Int, seconds: Double, serverPID: Int?,
                         truth: [[String]]? = nil, paced: Bool = true) throws -> Point {
        // Each connection's gap between sends, on its own schedule, for --rate.
        let interval = paced ? rate.map { UInt64(Double(clients) / $0 * 1e9) } : nil
        let path = "/indexes/\(index)/search"
        let messages = bodies.map { UnixHTTPClient.message("POST", path, body: $0) }
        let loop = try LoadLoop(socketPath: socket, count: clients)
        var log = AnswerLog(queries: bodies.count)
        let before = Usage(server: serverPID)
        let start = DispatchTime.now().uptimeNanoseconds
        loop.run(messages: messages, requests: requests, seconds: seconds, interval: interval,
                 answer: { interval == nil ? log.undecoded.append($0) : log.decode($0) }, failure: { log.fail($0) })
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let cpu = Usage(server: serverPID).percent(since: before, wall: wall)
        log.decodeAll()
        var point = log.point(clients: clients, wall: wall, k: k, truth: truth)
        point.cpu = cpu
        point.serverRSS = serverPID.flatMap(Usage.residentBytes(pid:))
        return point
    }
}

/// What the generator saw in one point.
private struct AnswerLog {
    let queries: Int
    var latencies: [Double] = [], took: [Double] = []
    var partial = 0, errors = 0
    var plans: [SearchPlan: Int] = [:]
    /// (query, ids answered), for recall.
    var answers: [(Int, [String])] = []
    var firstError: String?
    /// Replies not yet decoded into the figures above.
    var undecoded: [LoadLoop.Answer] = []

    init(queries: Int) { self.queries = queries }

    mutating func fail(_ message: String) {
        errors += 1
        firstError = firstError ?? message
    }

    mutating func decode(_ answer: LoadLoop.Answer) {
        guard answer.reply.status == 200, let result = answer.reply.json.flatMap(SearchResult.init(json:)) else {
            return fail("HTTP \(answer.reply.status): \(answer.reply.errorMessage)")
        }
        latencies.append(answer.ms)
        took.append(result.tookMs)
        partial += result.partial ? 1 : 0
        plans[result.plan, default: 0] += 1
        answers.append((answer.turn % queries, result.hits.map(\.id)))
    }

    /// Decodes the replies kept for after the timing.
    mutating func decodeAll() {
        for answer in undecoded { decode(answer) }
        undecoded = []
    }

    /// The point's figures; with no truth to compare with, the first answer to each query is
    /// kept: it becomes the truth.
    func point(clients: Int, wall: Double, k: Int, truth: [[String]]?) -> Point {
        var point = Point(clients: clients, wall: wall)
        point.latencies = latencies.sorted()
        point.took = took.sorted()
        point.partial = partial
        point.errors = errors
        point.firstError = firstError
        point.plan = plans.max { $0.value < $1.value }?.key.summary ?? "-"
        if let truth {
            let found = answers.reduce(0) { sum, answer in sum + Set(answer.1).intersection(truth[answer.0]).count }
            point.recall = Double(found) / Double(max(answers.count * k, 1))
        } else {
            point.answers = Array(repeating: [], count: queries)
            for (query, ids) in answers where point.answers[query].isEmpty { point.answers[query] = ids }
        }
        return point
    }
}

private struct Point {
    var budget: Double?
    var clients: Int
    var wall: Double
    var latencies: [Double] = [], took: [Double] = []
    var recall: Double?
    var partial = 0, errors = 0
    var firstError: String?
    var plan = "-"
    var cpu: (generator: Double, server: Double?, machine: Double) = (0, nil, 0)
    var serverRSS: Int?
    var answers: [[String]] = []

    var qps: Double { Double(latencies.count) / wall }

    var json: JSON {
        ["budget_ms": JSON(budget), "clients": JSON(clients), "answers": JSON(latencies.count), "seconds": .number(wall), "qps": .number(qps),
         "p50_ms": .number(quantile(latencies, 0.5)), "p99_ms": .number(quantile(latencies, 0.99)),
         "server_p50_ms": .number(quantile(took, 0.5)), "server_p99_ms": .number(quantile(took, 0.99)), "recall": JSON(recall),
         "partial": JSON(partial), "errors": JSON(errors), "first_error": JSON(firstError), "plan": .string(plan),
         "generator_cpu_pct": .number(cpu.generator), "server_cpu_pct": JSON(cpu.server), "machine_cpu_pct": .number(cpu.machine),
         "server_rss_bytes": serverRSS.map { JSON($0) } ?? .null]
    }
}

/// CPU time so far, read from the kernel: this process's, the daemon's (when it runs on this
/// machine), and all cores' busy and total ticks (the first line of /proc/stat).
private struct Usage {
    var generator: Double
    var server: Double?
    var machineBusy = 0.0, machineTotal = 0.0

    init(server pid: Int?) {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        generator = seconds(usage.ru_utime) + seconds(usage.ru_stime)
        server = pid.flatMap(Self.seconds(pid:))
        if let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
           let ticks = stat.split(separator: "\n").first?.split(separator: " ").dropFirst().compactMap({ Double($0) }),
           ticks.count >= 8 {
            machineTotal = ticks.prefix(8).reduce(0, +)
            machineBusy = machineTotal - ticks[3] - ticks[4]  // less idle and iowait
        }
    }

    /// Percentages of one core over `wall` seconds since `earlier`: (generator, server, machine).
    func percent(since earlier: Usage, wall: Double) -> (generator: Double, server: Double?, machine: Double) {
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        let machine = machineTotal > earlier.machineTotal ? (machineBusy - earlier.machineBusy) / (machineTotal - earlier.machineTotal) : 0
        return (100 * (generator - earlier.generator) / wall,
                server.flatMap { now in earlier.server.map { 100 * (now - $0) / wall } }, 100 * cores * machine)
    }

    /// Resident memory of process `pid` (VmRSS in /proc/PID/status).
    static func residentBytes(pid: Int) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kB = line.split(separator: " ").compactMap({ Int($0) }).first else { return nil }
        return kB << 10
    }

    /// User + system CPU seconds of process `pid` (fields 14 and 15 of /proc/PID/stat, after the name).
    private static func seconds(pid: Int) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let name = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: name)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
