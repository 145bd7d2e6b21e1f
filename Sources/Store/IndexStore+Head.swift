import CLMDB
import Foundation
import JSONValue

/// A head being written: its record (stored as `head_pending`) and the raw vectors'
/// generation when it began.
public struct PendingHead: Sendable {
    public let record: HeadRecord
    let generation: UInt64
}

/// Changing an index's Matryoshka head without ever searching a half-written one:
/// `beginHead` stores the new head as pending, `writeHeadBlocks` writes its copy of the
/// vectors a few blocks per transaction, and `finishHead` makes it current in one
/// transaction and drops the old head's copy. Until then every search reads the old head;
/// a run killed in between leaves a pending head that the next `beginHead` discards.
///
/// ```swift
/// let pending = try store.beginHead(kind: "pca", matrix: rotation, fittedOn: n, automatic: true)
/// for chunk in try store.read({ try $0.blockIDs() }).chunked(8) { try store.writeHeadBlocks(pending, blocks: chunk, transform: rotate) }
/// guard try store.finishHead(pending) else { /* vectors changed meanwhile: begin again */ }
/// ```
extension IndexStore {
    /// Stores a new head as pending (discarding a pending one left by an interrupted run) and
    /// returns it; its version is one more than any head so far. `matrix` (dimensions² floats,
    /// row-major, then an adaptor's offset) is stored beside it. `model` is the fingerprint of
    /// the model it was fitted for (the manifest's by default); `chosenOnLog` as the record
    /// keeps it. Throws the store's write errors.
    public func beginHead(kind: String, matrix: [Float]?, fittedOn: Int, automatic: Bool,
                          model: String? = nil, chosenOnLog: Int? = nil) throws -> PendingHead {
        try env.write { txn in
            let current = try storedHead(txn, key: HeadKeys.current)
            if let stale = try storedHead(txn, key: HeadKeys.pending) { try dropHeadData(stale.version, txn) }
            let version = max(current?.version ?? 0, try storedHead(txn, key: HeadKeys.pending)?.version ?? 0) + 1
            let record = HeadRecord(kind: kind, version: version, fittedOn: fittedOn, automatic: automatic,
                                    model: model ?? manifest.model?.fingerprint, chosenOnLog: chosenOnLog)
            try txn.put(meta, HeadKeys.pending, record.json.bytes)
            if let matrix {
                let d = manifest.dimensions
                precondition(matrix.count == d * d || matrix.count == d * d + d, "a d × d matrix, with or without an offset")
                try matrix.withUnsafeBytes { try txn.put(meta, HeadKeys.matrix(version), $0) }
            }
            return PendingHead(record: record, generation: try vectorsGeneration(txn))
        }
    }

    /// Writes the pending head's copy of the raw blocks `blockIDs` in one transaction.
    /// `transform` maps a block's raw rows (row-major, rows × dimensions) to the head's.
    /// Throws `headChanged` if `pending` is no longer the pending head, and write errors.
    public func writeHeadBlocks(_ pending: PendingHead, blocks blockIDs: [UInt32],
                                transform: ([Float], Int) -> [Float]) throws {
        try env.write { txn in
            guard try storedHead(txn, key: HeadKeys.pending)?.version == pending.record.version else {
                throw StoreError.headChanged(path: directory)
            }
            for block in blockIDs {
                let raw = try BlockPatch(block: block, boundaries: manifest.segmentBoundaries, txn: txn, db: blocks)
                var copy = try BlockPatch(block: block, boundaries: manifest.segmentBoundaries,
                                          space: pending.record.space, txn: txn, db: blocks)
                let rotated = transform(raw.rowMajor(), raw.rows)
                rotated.withUnsafeBufferPointer { rows in
                    for i in 0..<raw.rows where raw.live[i] != 0 {
                        copy.set(row: i, vector: rows.baseAddress! + i * manifest.dimensions)
                    }
                }
                try copy.write(block: block, txn: txn, db: blocks)
            }
        }
    }

    /// Makes `pending` the current head and deletes the previous head's vectors and matrix,
    /// in one transaction, in which `graph` replaces the ANN graph with one over the new head.
    /// Returns false, changing nothing, when raw vectors were written since `beginHead` (the
    /// copy may miss them): begin again.
    /// Throws `headChanged` if `pending` is no longer the pending head, and write errors.
    public func finishHead(_ pending: PendingHead, graph: (GraphTransaction) throws -> Void = { _ in }) throws -> Bool {
        try env.write { txn in
            guard try storedHead(txn, key: HeadKeys.pending)?.version == pending.record.version else {
                throw StoreError.headChanged(path: directory)
            }
            guard try vectorsGeneration(txn) == pending.generation else { return false }
            if let old = try storedHead(txn, key: HeadKeys.current) { try dropHeadData(old.version, txn) }
            try txn.put(meta, HeadKeys.current, pending.record.json.bytes)
            try txn.delete(meta, HeadKeys.pending)
            try graph(GraphTransaction(store: self, txn: txn))
            return true
        }
    }

    func storedHead(_ txn: Transaction, key: [UInt8]) throws -> HeadRecord? {
        guard let raw = try txn.get(meta, key) else { return nil }
        return try Self.decode(raw, as: "head record", in: directory)
    }

    func bumpVectorsGeneration(_ txn: Transaction) throws { try bumpCounter(HeadKeys.vectorsGeneration, txn) }

    func vectorsGeneration(_ txn: Transaction) throws -> UInt64 { try counter(HeadKeys.vectorsGeneration, txn) }

    /// A u64 counter in `meta` (0 when absent): the generations readers cache by.
    func counter(_ key: [UInt8], _ txn: Transaction) throws -> UInt64 {
        guard let raw = try txn.get(meta, key), raw.count == 8 else { return 0 }
        return raw.loadUnaligned(as: UInt64.self)
    }

    func bumpCounter(_ key: [UInt8], _ txn: Transaction) throws {
        var next = try counter(key, txn) &+ 1
        try withUnsafeBytes(of: &next) { try txn.put(meta, key, $0) }
    }

    /// Deletes a head version's vector blocks and matrix.
    private func dropHeadData(_ version: UInt32, _ txn: Transaction) throws {
        let prefix = BlockKey.prefix(of: version)
        var doomed: [[UInt8]] = []
        try txn.scan(blocks, from: prefix) { key, _ in
            guard key.starts(with: prefix) else { return false }
            doomed.append(Array(key))
            return true
        }
        for key in doomed { try txn.delete(blocks, key) }
        try txn.delete(meta, HeadKeys.matrix(version))
    }
}

extension Snapshot {
    /// The head searches use; nil for an index that never had one (the identity).
    public func head() throws -> HeadRecord? { try store.storedHead(txn, key: HeadKeys.current) }

    /// The head left pending by an interrupted change, if any.
    public func pendingHead() throws -> HeadRecord? { try store.storedHead(txn, key: HeadKeys.pending) }

    /// The floats stored with head `version` (a row-major dimensions² matrix, then an
    /// adaptor's offset), or nil. Whether their count fits the head's kind is the head's to check.
    public func headMatrix(version: UInt32) throws -> [Float]? {
        guard let raw = try txn.get(store.meta, HeadKeys.matrix(version)) else { return nil }
        guard raw.count % 4 == 0 else {
            throw StoreError.corrupt(path: store.directory, detail: "head matrix \(version) has \(raw.count) bytes")
        }
        return [Float](unsafeUninitializedCapacity: raw.count / 4) { buffer, count in
            memcpy(buffer.baseAddress!, raw.baseAddress!, raw.count)  // LMDB values may be unaligned
            count = raw.count / 4
        }
    }

    /// Ids of the vector blocks that exist, in order.
    public func blockIDs() throws -> [UInt32] {
        var ids: [UInt32] = []
        try scanLiveValues { block, _ in ids.append(block) }
        return ids
    }
}
