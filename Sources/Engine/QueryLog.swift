import Foundation
import Search
import Store
import Synchronization

/// The query log's switch and counts (meta "query_log" of the index).
public struct QueryLogState: JSONRepresentable, Sendable, Equatable {
    /// Whether searches are logged at all (on unless turned off: `mrl queries --off`).
    public var enabled = true
    /// Whether each query's text is kept beside its vector (off unless asked for).
    public var includeText = false
    /// Queries offered to the log since it was last cleared.
    public var seen = 0
    /// Slots in use, at most `QueryLog.capacity`.
    public var stored = 0

    public init() {}

    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: QueryLogState.self)
        enabled = try fields["enabled"]
        includeText = try fields["include_text"]
        seen = try fields["seen"]
        stored = try fields["stored"]
    }

    public var json: JSON {
        ["enabled": .bool(enabled), "include_text": .bool(includeText), "seen": JSON(seen), "stored": JSON(stored)]
    }
}

/// A bounded sample of the queries an index receives, biased to recent ones, for calibrating
/// its plans on what users actually ask. Up to `capacity` queries, each in a slot of the
/// index's `queries` database. Until the log is full every query is kept; then a query
/// replaces a random slot with probability capacity / seen (a uniform sample, Vitter's
/// algorithm R) until 2 × capacity have been seen, and with probability 1/2 after that, so a
/// kept query is forgotten at a steady rate: it stays for 2 × capacity later queries on
/// average, and the log holds the recent ones most densely (a biased reservoir, Aggarwal,
/// VLDB 2006).
///
/// Recording only touches memory; `Index.flushQueryLog` writes what was recorded in one
/// transaction (the daemon every few seconds and after its commits, `mrl search` at once).
final class QueryLog: Sendable {
    static let capacity = 20_000
    /// Queries recorded but not yet written, beyond which more are passed over (not even
    /// counted) until a flush: under load the daemon writes at most this many every 2 s
    /// (about 400 kB), instead of a write as large as the traffic.
    static let pendingLimit = 512

    private struct State {
        var log: QueryLogState?
        var rows: [(slot: UInt32, query: LoggedQuery)] = []
        var changed = false
        var rng = SplitMix64(seed: UInt64.random(in: .min ... .max))
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int = QueryLog.capacity) { self.capacity = capacity }

    /// Offers a query to the sample; `stored` reads the log's state once per process.
    func record(vector: [Float], k: Int, text: String?, stored: () throws -> QueryLogState?) {
        state.withLock { state in
            if state.log == nil { state.log = (try? stored()) ?? QueryLogState() }
            guard var log = state.log, log.enabled, state.rows.count < QueryLog.pendingLimit else { return }
            defer { state.log = log }
            log.seen += 1
            state.changed = true
            let slot: UInt32
            if log.stored < capacity {
                slot = UInt32(log.stored)
                log.stored += 1
            } else {
                let chance = Double(capacity) / Double(min(log.seen, 2 * capacity))
                guard Double(state.rng.next() >> 11) / Double(1 << 53) < chance else { return }
                slot = UInt32(state.rng.next() % UInt64(capacity))
            }
            let query = LoggedQuery(time: Date().timeIntervalSince1970, k: k, vector: vector, text: log.includeText ? text : nil)
            state.rows.append((slot, query))
        }
    }

    /// What was recorded since the last call, and the state to store with it; nil when nothing.
    func takePending() -> (rows: [(slot: UInt32, query: LoggedQuery)], state: QueryLogState)? {
        state.withLock { state in
            guard state.changed, let log = state.log else { return nil }
            defer { state.rows.removeAll(); state.changed = false }
            return (state.rows, log)
        }
    }

    /// Replaces the state (a switch turned, or the log cleared), dropping what is pending.
    func reset(to log: QueryLogState) {
        state.withLock { state in
            state.log = log
            state.rows.removeAll()
            state.changed = false
        }
    }

    /// The state as this process knows it (nil: not read yet).
    var current: QueryLogState? { state.withLock { $0.log } }
}
