import CLMDB
import Foundation
import JSONValue

/// Writing the ANN graph inside a store write transaction, so that graph, vectors and
/// documents always commit together. Level-0 rows go in blocks of 1,024 nodes (one value
/// each, read back in place), the upper levels as one value, the `GraphRecord` in `meta`.
///
/// ```swift
/// try store.upsert(batch, head: head) { graph, rows in
///     try graph.put(record, blockCount: n, level0Block: { layers.level0Block($0) }, upperLevels: blob)
/// }
/// ```
public struct GraphTransaction {
    let store: IndexStore
    let txn: Transaction

    /// The stored graph's record, nil when the index has none.
    public func record() throws -> GraphRecord? { try store.storedGraphRecord(txn) }

    /// Replaces the stored graph (blocks past `blockCount` are deleted).
    /// Throws `readOnly` when the index was opened for reading, and write errors.
    public func put(_ record: GraphRecord, blockCount: Int, level0Block: (Int) -> UnsafeRawBufferPointer,
                    upperLevels: [UInt8]) throws {
        let db = try store.graphDatabase()
        for block in 0..<blockCount { try txn.put(db, GraphKey.level0(UInt32(block)), level0Block(block)) }
        try deleteLevel0(from: blockCount)
        try txn.put(db, GraphKey.upperLevels, upperLevels)
        try txn.put(store.meta, GraphKey.record, record.json.bytes)
    }

    /// Removes the graph: searches fall back to exact scans.
    public func drop() throws {
        guard store.graph != nil else { return }
        try deleteLevel0(from: 0)
        try txn.delete(try store.graphDatabase(), GraphKey.upperLevels)
        try txn.delete(store.meta, GraphKey.record)
    }

    private func deleteLevel0(from first: Int) throws {
        let db = try store.graphDatabase()
        var doomed: [[UInt8]] = []
        try txn.scan(db, from: GraphKey.level0(UInt32(first))) { key, _ in
            guard key.count == 5, key[0] == GraphKey.level0Kind else { return false }
            doomed.append(Array(key))
            return true
        }
        for key in doomed { try txn.delete(db, key) }
    }
}

enum GraphKey {
    static let level0Kind: UInt8 = 0
    static let upperLevels: [UInt8] = [1]
    static let record = Array("graph".utf8)
    static func level0(_ block: UInt32) -> [UInt8] {
        [level0Kind, UInt8(block >> 24), UInt8((block >> 16) & 0xFF), UInt8((block >> 8) & 0xFF), UInt8(block & 0xFF)]
    }
}

extension IndexStore {
    /// Runs `body` in one write transaction to replace the graph, unless raw vectors were
    /// written since `generation` (see `Snapshot.vectorsGeneration`): then returns false and
    /// writes nothing, since the graph may miss them. Throws write errors.
    public func replaceGraph(ifGeneration generation: UInt64, _ body: (GraphTransaction) throws -> Void) throws -> Bool {
        try env.write { txn in
            guard try vectorsGeneration(txn) == generation else { return false }
            try body(GraphTransaction(store: self, txn: txn))
            return true
        }
    }

    func storedGraphRecord(_ txn: Transaction) throws -> GraphRecord? {
        guard let raw = try txn.get(meta, GraphKey.record) else { return nil }
        let record: GraphRecord = try Self.decode(raw, as: "graph record", in: directory)
        if let problem = record.problem(boundaries: manifest.segmentBoundaries) {
            throw StoreError.corrupt(path: directory, detail: "graph record: \(problem)")
        }
        return record
    }

    func graphDatabase() throws -> MDB_dbi {
        guard let graph else { throw StoreError.readOnly(path: directory, operation: "write the graph") }
        return graph
    }
}

extension Snapshot {
    /// The stored graph's record, nil when the index has none.
    public func graphRecord() throws -> GraphRecord? {
        guard store.graph != nil else { return nil }
        return try store.storedGraphRecord(txn)
    }

    /// The graph's level-0 blocks (in place in the map, valid with the snapshot) and upper
    /// levels; nil when the index has no graph. Throws `corrupt` when a block is missing.
    public func graphData(blockCount: Int) throws -> (level0: [UnsafeRawBufferPointer], upperLevels: UnsafeRawBufferPointer)? {
        guard let db = store.graph, let upper = try txn.get(db, GraphKey.upperLevels) else { return nil }
        let blocks = try (0..<blockCount).map { block in
            guard let value = try txn.get(db, GraphKey.level0(UInt32(block))) else {
                throw StoreError.corrupt(path: store.directory, detail: "graph block \(block) is missing")
            }
            return value
        }
        return (blocks, upper)
    }

    /// Counts writes of raw vectors; unchanged means no vector was written since it was read.
    public func vectorsGeneration() throws -> UInt64 { try store.vectorsGeneration(txn) }
}

extension IndexStore {
    /// Stores `value` as JSON under `key` in `meta` (e.g. the planner's cost model), in one
    /// transaction. Throws encoding and write errors.
    public func putMeta(_ key: String, _ value: some JSONRepresentable) throws {
        let json = value.json.bytes
        try env.write { txn in try txn.put(meta, Array(key.utf8), json) }
    }

    /// Stores `value` under `key` when `condition` holds of the state it would change, in the
    /// same transaction (so nothing can change that state between); returns whether it did.
    public func putMeta(_ key: String, _ value: some JSONRepresentable, if condition: (Snapshot) throws -> Bool) throws -> Bool {
        let json = value.json.bytes
        return try env.write { txn in
            guard try condition(Snapshot(store: self, txn: txn)) else { return false }
            try txn.put(meta, Array(key.utf8), json)
            return true
        }
    }
}

extension Snapshot {
    /// The JSON value stored under `key` in `meta` by `putMeta`, or nil when there is none
    /// or it does not decode as `Value` (e.g. written by another version: recompute it).
    public func meta<Value: JSONRepresentable>(_ key: String, as type: Value.Type) throws -> Value? {
        guard let raw = try txn.get(store.meta, Array(key.utf8)) else { return nil }
        return try? Value(json: JSON.parse(raw))
    }
}
