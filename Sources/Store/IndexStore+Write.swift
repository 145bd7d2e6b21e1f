import CLMDB
import Foundation

/// A document as handed to `upsert`: the vector is in the model's raw space.
public struct DocumentWrite: Sendable {
    public var id: String
    public var text: String
    /// Canonical JSON (sorted keys), or nil.
    public var meta: String?
    public var vector: [Float]
    public var contentHash: UInt64

    public init(id: String, text: String, meta: String?, vector: [Float], contentHash: UInt64) {
        self.id = id
        self.text = text
        self.meta = meta
        self.vector = vector
        self.contentHash = contentHash
    }
}

/// What one committed batch did.
public struct WriteReport: Equatable, Sendable {
    public var added = 0
    public var changed = 0
    public var unchanged = 0
    public init() {}
    public static func += (lhs: inout WriteReport, rhs: WriteReport) {
        lhs.added += rhs.added
        lhs.changed += rhs.changed
        lhs.unchanged += rhs.unchanged
    }
}

extension IndexStore {
    /// Inserts or replaces documents by external id, all in one write transaction: when this
    /// returns, the batch is durable; when it throws, none of it was written. A document
    /// whose content hash equals the stored one is skipped (counted `unchanged`).
    /// Throws `wrongDimensions` (nothing written), `mapCapReached`, `diskFull`, `lmdb`.
    public func upsert(_ batch: [DocumentWrite]) throws -> WriteReport {
        for doc in batch where doc.vector.count != manifest.dimensions {
            throw StoreError.wrongDimensions(id: doc.id, expected: manifest.dimensions, found: doc.vector.count)
        }
        return try env.write { txn in
            var report = WriteReport()
            var patches: [UInt32: BlockPatch] = [:]
            var nextID = try storedNextID(txn)
            for doc in batch {
                let row: UInt32
                if let existing = try Snapshot(store: self, txn: txn).internalID(of: doc.id) {
                    let stored = try txn.get(docs, InternalID.key(existing)).flatMap(DocumentRecord.decode)
                    if stored?.contentHash == doc.contentHash {
                        report.unchanged += 1
                        continue
                    }
                    row = existing
                    report.changed += 1
                } else {
                    row = try takeFreeID(txn) ?? { defer { nextID += 1 }; return nextID }()
                    try txn.put(keys, Array(doc.id.utf8), InternalID.value(row))
                    report.added += 1
                }
                let record = StoredDocument(id: doc.id, text: doc.text, meta: doc.meta, contentHash: doc.contentHash)
                try txn.put(docs, InternalID.key(row), DocumentRecord.encode(record))
                try patch(&patches, id: row, txn: txn) { $0.set(row: $1, vector: doc.vector) }
            }
            for (block, patch) in patches { try patch.write(block: block, txn: txn, db: blocks) }
            try txn.put(meta, Array("next_id".utf8), InternalID.value(nextID))
            return report
        }
    }

    /// Deletes documents by external id (vector, text and key) in one transaction;
    /// returns how many existed. Their row ids are reused by later inserts.
    public func delete(ids: [String]) throws -> Int {
        try env.write { txn in
            var patches: [UInt32: BlockPatch] = [:]
            var deleted = 0
            for id in ids {
                guard let row = try Snapshot(store: self, txn: txn).internalID(of: id) else { continue }
                try txn.delete(keys, Array(id.utf8))
                try txn.delete(docs, InternalID.key(row))
                try txn.put(free, InternalID.key(row), [UInt8]())
                try patch(&patches, id: row, txn: txn) { $0.clear(row: $1) }
                deleted += 1
            }
            for (block, patch) in patches { try patch.write(block: block, txn: txn, db: blocks) }
            return deleted
        }
    }

    /// The stored content hash of each id (nil where absent), so a caller can skip
    /// embedding documents that have not changed.
    public func storedHashes(for ids: [String]) throws -> [UInt64?] {
        try read { snapshot in try ids.map { try snapshot.document(id: $0)?.contentHash } }
    }

    private func patch(_ patches: inout [UInt32: BlockPatch], id: UInt32, txn: Transaction,
                       _ change: (inout BlockPatch, Int) -> Void) throws {
        let rows = UInt32(manifest.blockRows)
        let block = id / rows
        if patches[block] == nil {
            patches[block] = try BlockPatch(block: block, boundaries: manifest.segmentBoundaries, txn: txn, db: blocks)
        }
        change(&patches[block]!, Int(id % rows))
    }

    private func storedNextID(_ txn: Transaction) throws -> UInt32 {
        guard let raw = try txn.get(meta, Array("next_id".utf8)), raw.count == 4 else { return 0 }
        return raw.loadUnaligned(as: UInt32.self).littleEndian
    }

    private func takeFreeID(_ txn: Transaction) throws -> UInt32? {
        var found: UInt32?
        try txn.scan(free, from: []) { key, _ in
            found = InternalID.decodeKey(key)
            return false
        }
        if let found { try txn.delete(free, InternalID.key(found)) }
        return found
    }
}
