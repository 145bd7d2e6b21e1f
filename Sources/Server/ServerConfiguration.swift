import Engine
import Foundation

/// What `mrl serve` is told: where to listen, where the indexes are, and its limits.
public struct ServerConfiguration: Sendable {
    /// The socket file to create; ignored when systemd hands over a listening socket.
    public var socketPath: String
    public var data: DataDirectory
    /// Permission bits of the socket file: 0600 by default, 0660 with a group. Never world-writable.
    public var socketMode: mode_t = 0o600
    public var socketGroup: String?
    /// Peers allowed to connect, by uid (checked with SO_PEERCRED); nil allows any peer
    /// that can open the socket file.
    public var allowedUIDs: Set<UInt32>?

    /// Largest request body; larger requests get 413 before their body is read.
    public var maxBodyBytes = 16 << 20
    /// Most queries in one batch search, documents in one write request.
    public var maxBatchQueries = 1_024
    public var maxBatchDocuments = 10_000
    /// Most hits one batch search may ask for (the sum of its queries' k).
    public var maxBatchHits = 100_000
    /// Largest answer to a search or bulk get, in bytes of texts, metadata and vectors (`AnswerSize`).
    public var maxAnswerBytes = 64 << 20
    /// Deepest JSON nesting accepted.
    public var maxJSONDepth = 32
    /// A request must arrive whole within this long of its first byte (slow senders are dropped).
    public var requestTimeout: TimeInterval = 10
    /// A connection with no request in progress is closed after this long.
    public var idleTimeout: TimeInterval = 60
    /// An index unused this long (its writer idle) is closed, letting go of its files and map.
    public var indexIdleTimeout: TimeInterval = 600
    /// At most this many connections at once, and this many per peer uid; more are answered
    /// 503 and closed when accepted.
    public var maxConnections = 1_024
    public var maxConnectionsPerUID = 256
    /// Bytes of request bodies held at once by the whole daemon; past it a request gets 503
    /// before its body is read.
    public var maxBodyBytesInFlight = 256 << 20
    /// Text queries and write requests waiting beyond this many are refused with 503.
    public var maxQueued = 256
    /// Text queries wait at most this long for others to share their encoder batch.
    public var batchWait: TimeInterval = 0.002
    /// Most texts in one encoder batch.
    public var maxEncoderBatch = 64
    /// Event-loop threads, which parse requests and run vector searches.
    public var threads = 2
    /// Share of one core the recall monitor may use (0: it does not run).
    public var monitorCPUShare = RecallMonitorLoop.defaultCPUPercent / 100

    public init(socketPath: String, data: DataDirectory) {
        self.socketPath = socketPath
        self.data = data
    }

    /// `$MRL_SOCKET`, else `$XDG_RUNTIME_DIR/mrl.sock`, else `mrl.sock` in the data directory.
    public static func defaultSocketPath(data: DataDirectory) -> String {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["MRL_SOCKET"], !explicit.isEmpty { return explicit }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { return runtime + "/mrl.sock" }
        return (data.path as NSString).appendingPathComponent("mrl.sock")
    }
}
