import CLMDB
import Foundation
import JSONValue

/// One query the index received, as its query log keeps it: its direction in the model's raw
/// space, k, when, and the text only when the log is set to keep texts.
public struct LoggedQuery: Sendable, Equatable {
    public var time: Double
    public var k: Int
    public var vector: [Float]
    public var text: String?

    public init(time: Double, k: Int, vector: [Float], text: String?) {
        (self.time, self.k, self.vector, self.text) = (time, k, vector, text)
    }

    /// time f64 | k u32 | dims u32 | text bytes u32 (0xFFFF_FFFF: none) | vector f16 × dims | text,
    /// little-endian. The vector is kept as its direction (scaled to length 1, which cosine
    /// search cannot tell apart), in half precision: a log of 20,000 384-d queries is 15 MB,
    /// and recall measured with it moves by far less than its noise.
    func encoded() -> [UInt8] {
        let length = vector.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let scale = length > 0 && length.isFinite ? 1 / length : 0
        var out: [UInt8] = []
        let text = self.text.map { Array($0.utf8) }
        out.reserveCapacity(20 + vector.count * 2 + (text?.count ?? 0))
        withUnsafeBytes(of: time.bitPattern.littleEndian) { out += $0 }
        for field in [UInt32(clamping: k), UInt32(clamping: vector.count), text.map { UInt32(clamping: $0.count) } ?? UInt32.max] {
            withUnsafeBytes(of: field.littleEndian) { out += $0 }
        }
        for value in vector { withUnsafeBytes(of: Float16(Double(value) * scale).bitPattern.littleEndian) { out += $0 } }
        if let text { out += text }
        return out
    }

    /// nil when `raw` is not a record of this layout.
    init?(decoding raw: UnsafeRawBufferPointer) {
        guard raw.count >= 20 else { return nil }
        func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
        let dims = Int(u32(12)), textBytes = u32(16)
        let textCount = textBytes == .max ? 0 : Int(textBytes)
        guard raw.count == 20 + dims * 2 + textCount else { return nil }
        time = Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)))
        k = Int(u32(8))
        vector = (0..<dims).map { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 20 + 2 * $0, as: UInt16.self)))) }
        text = textBytes == .max ? nil : String(decoding: raw[(20 + dims * 2)...], as: UTF8.self)
    }
}

extension IndexStore {
    static let queryLogStateKey = "query_log"

    /// Whether the index has its query log's database (indexes made before it have it once
    /// opened for writing).
    public var hasQueryLog: Bool { queries != nil }

    /// Writes logged queries into their slots and the log's state (meta "query_log"), in one
    /// transaction.
    public func writeQueryLog<State: JSONRepresentable>(_ rows: [(slot: UInt32, query: LoggedQuery)], state: State) throws {
        guard let queries else { throw StoreError.readOnly(path: directory, operation: "log queries") }
        let encoded = rows.map { (InternalID.key($0.slot), $0.query.encoded()) }
        let stateBytes = state.json.bytes
        try env.write { txn in
            for (key, value) in encoded { try txn.put(queries, key, value) }
            try txn.put(meta, Array(IndexStore.queryLogStateKey.utf8), stateBytes)
        }
    }

    /// Empties the log and stores its state, in one transaction.
    public func clearQueryLog<State: JSONRepresentable>(state: State) throws {
        guard let queries else { throw StoreError.readOnly(path: directory, operation: "clear the query log") }
        let stateBytes = state.json.bytes
        try env.write { txn in
            try Environment.check(mdb_drop(txn.handle, queries, 0), "empty the query log", directory)
            try txn.put(meta, Array(IndexStore.queryLogStateKey.utf8), stateBytes)
        }
    }
}

extension Snapshot {
    /// The query log's state (nil: never written).
    public func queryLogState<State: JSONRepresentable>(as type: State.Type) throws -> State? {
        guard let raw = try txn.get(store.meta, Array(IndexStore.queryLogStateKey.utf8)) else { return nil }
        return try? State(json: JSON.parse(raw))
    }

    /// Logged queries in slot order, from slot `offset`, at most `limit`; records that do not
    /// decode are left out.
    public func loggedQueries(offset: Int = 0, limit: Int = .max) throws -> [LoggedQuery] {
        guard let queries = store.queries, limit > 0 else { return [] }
        var found: [LoggedQuery] = []
        try txn.scan(queries, from: InternalID.key(UInt32(clamping: max(offset, 0)))) { _, value in
            if let query = LoggedQuery(decoding: value) { found.append(query) }
            return found.count < limit
        }
        return found
    }

    /// How many queries the log holds.
    public func loggedQueryCount() throws -> Int {
        guard let queries = store.queries else { return 0 }
        return try txn.count(queries)
    }
}
