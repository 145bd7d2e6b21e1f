import Foundation

/// What an index's ANN graph is, stored as JSON under `graph` in `meta`; the graph itself
/// (level-0 rows in blocks, upper levels in one value) is in the `graph` database.
///
/// ```swift
/// let record = try store.read { try $0.graphRecord() }
/// if record?.isOver(head) == false { /* stale: built over another head's vectors */ }
/// ```
public struct GraphRecord: Equatable, Sendable {
    /// The prefix of the head-space vectors the graph links and walks (e.g. 64).
    public var dims: Int
    /// Links per node on upper levels (2M on level 0), and the beam width it was built with.
    public var m: Int
    public var efConstruction: Int
    /// How the walk's vectors are held: "int8" (per-dimension scales, recomputed from the
    /// vectors when the graph is loaded) or "float32".
    public var encoding: String
    /// The head whose vectors the graph was built over (0: the identity head); a graph of
    /// another head is stale and not used.
    public var headVersion: UInt32
    public var nodes: Int
    public var buildSeconds: Double
    public var builtAt: String
    /// What else than the documents chose links (see `GraphBuilder.addQueryEdges`): "log"
    /// (the query log's queries), "queries" (a file's: `mrl graph --queries`), "none" (none
    /// asked for, and none added by automatic rebuilds either), or nil (none yet: the log
    /// guides a rebuild once it is long enough; graphs stored before queries could guide one).
    public var guidance: String?
    /// Queries whose neighbours were linked, and the links that added.
    public var guidedBy = 0
    public var queryLinks = 0
    /// For a guided graph: the queries the log had been offered when it was built (the log
    /// guides a rebuild once it has been offered twice as many).
    public var logSeen = 0

    public init(dims: Int, m: Int, efConstruction: Int, encoding: String, headVersion: UInt32,
                nodes: Int, buildSeconds: Double) {
        self.dims = dims
        self.m = m
        self.efConstruction = efConstruction
        self.encoding = encoding
        self.headVersion = headVersion
        self.nodes = nodes
        self.buildSeconds = buildSeconds
        builtAt = GraphRecord.timestamp.string(from: Date())
    }

    /// To the millisecond: `builtAt` tells one build from the next (cost models are kept only
    /// for the build they measured), and two builds of a small graph fit in one second.
    private static var timestamp: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }

    /// Whether the graph was built over `head`'s vectors (nil: the identity, version 0), so
    /// a search under that head may walk it.
    public func isOver(_ head: HeadRecord?) -> Bool { headVersion == (head?.version ?? 0) }

    /// What is wrong with a record read from disk for an index cut at `boundaries`, or nil:
    /// loading and rebuilding the graph trust these numbers.
    func problem(boundaries: [Int]) -> String? {
        if !boundaries.dropFirst().contains(dims) { return "dims \(dims) is not a stored prefix" }
        if !(2...32_767).contains(m) { return "M \(m)" }  // GraphLayers' bound: 2M links fit a 16-bit count
        if efConstruction < 1 { return "ef_construction \(efConstruction)" }
        return nil
    }
}
