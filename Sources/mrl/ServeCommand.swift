import ArgumentParser
import Engine
import Foundation
import Logging
import Server

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the indexes over HTTP/JSON on a Unix-domain socket.",
        discussion: """
            The socket defaults to $MRL_SOCKET, else $XDG_RUNTIME_DIR/mrl.sock, else mrl.sock in the data \
            folder; it is created with mode 600 (660 with --socket-group). The API is in api/openapi.json. \
            `mrl search`, `mrl index` and `mrl info` use a running daemon by themselves.
            Examples:
              mrl serve
              curl --unix-socket indexes/mrl.sock http://mrl/indexes
              curl --unix-socket indexes/mrl.sock http://mrl/indexes/debian/search -d '{"query": "pdf viewer", "k": 5}'
            SIGTERM or Ctrl-C stops it after the requests in flight; systemd socket activation works (LISTEN_FDS).
            """)

    @Option(help: "Socket file to listen on.")
    var socket: String?

    @Option(help: "Folder holding the indexes (default: $MRL_DATA, or indexes/).")
    var data: String?

    @Option(help: "Group that may use the socket (mode 660 instead of 600).")
    var socketGroup: String?

    @Option(help: "Only these uids may connect, checked by the kernel's peer credentials (repeat, or comma-separated).")
    var allowUid: [String] = []

    @Option(help: "Largest request body (e.g. 16M).")
    var maxBody = ByteSize(argument: "16M")!

    @Option(help: "Most open connections.")
    var maxConnections = 1_024

    @Option(help: "Most open connections of one peer uid, so that one user cannot lock out the others.")
    var maxConnectionsPerUid = 256

    @Option(help: "Most bytes of request bodies held at once, over all connections (e.g. 256M); past it, 503.")
    var maxBodiesInFlight = ByteSize(argument: "256M")!

    @Option(help: "Most hits one batch search may ask for (the sum of its queries' k); past it, 413.")
    var maxBatchHits = 100_000

    @Option(help: "Largest answer to a search or bulk get, in bytes of texts, metadata and vectors (e.g. 64M); past it, 413.")
    var maxAnswer = ByteSize(argument: "64M")!

    @Option(help: "Text queries and writes waiting beyond this many get 503.")
    var maxQueued = 256

    @Option(help: "Seconds a request may take to arrive, from its first byte.")
    var requestTimeout: Double = 10

    @Option(help: "Seconds an idle connection is kept.")
    var idleTimeout: Double = 60

    @Option(help: "Seconds an unused index stays open (then its files and map are let go until the next request).")
    var indexIdleTimeout: Double = 600

    @Option(help: "Event-loop threads (they also run the vector searches).")
    var threads = 2

    @Option(help: "Milliseconds an idle encoder waits for more text queries to batch with the first.")
    var batchWaitMs: Double = 1

    @Option(help: "Percent of one core the recall monitor may use to check answers against exact search (0: off). A re-tune of presets that fall short runs at four times this share until it is done.")
    var monitorCpu: Double = RecallMonitorLoop.defaultCPUPercent

    @Option(help: "Largest each index may grow, e.g. 512M, 64G, at most 1P (default: $MRL_MAX_SIZE, or 256G).")
    var maxSize: ByteSize?

    @Option(help: "Log level: trace, debug (a line per request), info, warning, error.")
    var logLevel = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level must be one of trace, debug, info, warning, error") }
        guard threads > 0, maxConnections > 0, maxConnectionsPerUid > 0, maxQueued > 0, maxBatchHits > 0 else {
            throw ValidationError("--threads, --max-connections, --max-connections-per-uid, --max-queued and --max-batch-hits must be positive")
        }
        guard maxBodiesInFlight.bytes >= maxBody.bytes else {
            throw ValidationError("--max-bodies-in-flight (\(maxBodiesInFlight.bytes) bytes) must be at least --max-body (\(maxBody.bytes) bytes), or no largest body could ever be read")
        }
        try check("--threads", threads, in: 1...1_024)  // each is an event loop's thread
        try check("--request-timeout", requestTimeout, in: 0.001...86_400, "seconds")
        try check("--idle-timeout", idleTimeout, in: 0.001...86_400, "seconds")
        try check("--index-idle-timeout", indexIdleTimeout, in: 0.001...86_400 * 365, "seconds")
        try check("--batch-wait-ms", batchWaitMs, in: 0...1_000, "milliseconds")
        try check("--monitor-cpu", monitorCpu, in: 0...100, "percent")
        _ = try allowedUIDs()
        do { _ = try DataDirectory.environmentSizeCap() } catch { throw ValidationError("\(error)") }
    }

    private func allowedUIDs() throws -> Set<UInt32>? {
        let uids = allowUid.flatMap { $0.split(separator: ",") }
        guard !uids.isEmpty else { return nil }
        return Set(try uids.map { text in
            guard let uid = UInt32(text.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--allow-uid takes numeric uids, got \(text)") }
            return uid
        })
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel)!
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let data = DataDirectory(path: data, maxIndexBytes: maxSize?.bytes)
        var configuration = ServerConfiguration(socketPath: socket ?? ServerConfiguration.defaultSocketPath(data: data), data: data)
        if let socketGroup {
            configuration.socketGroup = socketGroup
            configuration.socketMode = 0o660
        }
        configuration.allowedUIDs = try allowedUIDs()
        configuration.maxBodyBytes = maxBody.bytes
        configuration.maxConnections = maxConnections
        configuration.maxConnectionsPerUID = maxConnectionsPerUid
        configuration.maxBodyBytesInFlight = maxBodiesInFlight.bytes
        configuration.maxQueued = maxQueued
        configuration.maxBatchHits = maxBatchHits
        configuration.maxAnswerBytes = maxAnswer.bytes
        configuration.requestTimeout = requestTimeout
        configuration.idleTimeout = idleTimeout
        configuration.indexIdleTimeout = indexIdleTimeout
        configuration.threads = threads
        configuration.batchWait = batchWaitMs / 1000
        configuration.monitorCPUShare = monitorCpu / 100
        // A failure to start (a socket in use, say) is an error, not a usage error: exit 1.
        try Daemon(configuration: configuration, logger: Logger(label: "mrl")).run()
    }
}
