import CLMDB
import Foundation

/// A document as handed to `upsert`: the vector is in the model's raw space.
public struct DocumentWrite: Sendable {
    public var id: String
    public var text: String
    /// Canonical JSON (sorted keys), or nil.
    public var meta: String?
    public var vector: [Float]
    /// The vector in the current head's space; needed when the index has a head other than "none".
    public var headVector: [Float]?
    public var contentHash: UInt64

    public init(id: String, text: String, meta: String?, vector: [Float], headVector: [Float]? = nil, contentHash: UInt64) {
        self.id = id
        self.text = text
        self.meta = meta
        self.vector = vector
        self.headVector = headVector
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
    /// `head` is the head the batch's `headVector`s were computed with (nil when none were):
    /// it must be the index's current head, so a head change in between cannot mix spaces.
    /// `graph`, when given, runs last in the same transaction with the internal id each
    /// document was written to (nil: unchanged), to keep the ANN graph in step.
    /// An id given more than once is written once, as its last occurrence (its earlier
    /// ones get nil rows): the batch reads as upserts in order, and no row reaches `graph` twice.
    /// Throws `wrongDimensions` (nothing written), `headChanged`, `mapCapReached`, `diskFull`, `lmdb`,
    /// and what `graph` throws (nothing written then either).
    public func upsert(_ batch: [DocumentWrite], head: HeadRecord? = nil,
                       graph: ((GraphTransaction, [UInt32?]) throws -> Void)? = nil) throws -> WriteReport {
        var lastOccurrence: [String: Int] = [:]
        for (i, doc) in batch.enumerated() { lastOccurrence[doc.id] = i }
        for doc in batch {
            guard (1...IndexStore.maxIDBytes).contains(doc.id.utf8.count) else {
                throw StoreError.invalidID(id: doc.id)
            }
            for vector in [doc.vector] + (doc.headVector.map { [$0] } ?? []) where vector.count != manifest.dimensions {
                throw StoreError.wrongDimensions(id: doc.id, expected: manifest.dimensions, found: vector.count)
            }
        }
        return try env.write { txn in
            var report = WriteReport()
            var patches = BlockPatches(store: self, txn: txn, headSpace: try headSpace(txn, expecting: head))
            var nextID = try storedNextID(txn)
            var rows: [UInt32?] = [], changes: [DocumentChange] = []
            for (i, doc) in batch.enumerated() {
                guard lastOccurrence[doc.id] == i else {
                    rows.append(nil)
                    continue
                }
                let row: UInt32, stored: StoredDocument?
                if let existing = try Snapshot(store: self, txn: txn).internalID(of: doc.id) {
                    stored = try txn.get(docs, InternalID.key(existing)).flatMap(DocumentRecord.decode)
                    if stored?.contentHash == doc.contentHash {
                        report.unchanged += 1
                        rows.append(nil)
                        continue
                    }
                    row = existing
                    report.changed += 1
                } else {
                    row = try takeFreeID(txn) ?? nextID
                    if row == nextID {
                        guard nextID < UInt32.max else { throw StoreError.corrupt(path: directory, detail: "next_id \(nextID) is the last id") }
                        nextID += 1
                    }
                    // A damaged next_id or free list must not hand out a row that holds a
                    // document: its record would be lost and the graph would meet the row twice.
                    guard try txn.get(docs, InternalID.key(row)) == nil else {
                        throw StoreError.corrupt(path: directory, detail: "row \(row), given to new document \(doc.id), holds another")
                    }
                    try txn.put(keys, Array(doc.id.utf8), InternalID.value(row))
                    stored = nil
                    report.added += 1
                }
                let record = StoredDocument(id: doc.id, text: doc.text, meta: doc.meta, contentHash: doc.contentHash)
                try txn.put(docs, InternalID.key(row), DocumentRecord.encode(record))
                try patches.set(id: row, raw: doc.vector, head: doc.headVector)
                changes.append(DocumentChange(row: row, old: stored, new: record))
                rows.append(row)
            }
            try patches.write()
            try applyToDocumentIndexes(changes, txn: txn)
            try txn.put(meta, Array("next_id".utf8), InternalID.value(nextID))
            try graph?(GraphTransaction(store: self, txn: txn), rows)
            return report
        }
    }

    /// Deletes documents by external id (vector, text and key) in one transaction;
    /// returns the ids that existed, each once. Their row ids are reused by later inserts.
    /// `graph`, when given, runs last in the same transaction with the internal ids deleted.
    public func delete(ids: [String], graph: ((GraphTransaction, [UInt32]) throws -> Void)? = nil) throws -> [String] {
        try env.write { txn in
            var patches = BlockPatches(store: self, txn: txn, headSpace: try headSpace(txn, expecting: nil, strict: false))
            var deleted: [UInt32] = [], deletedIDs: [String] = [], changes: [DocumentChange] = []
            for id in ids {
                let snapshot = Snapshot(store: self, txn: txn)
                guard let row = try snapshot.internalID(of: id) else { continue }
                changes.append(DocumentChange(row: row, old: try snapshot.document(internalID: row), new: nil))
                try txn.delete(keys, Array(id.utf8))
                try txn.delete(docs, InternalID.key(row))
                try txn.put(free, InternalID.key(row), [UInt8]())
                try patches.clear(id: row)
                deleted.append(row)
                deletedIDs.append(id)
            }
            try patches.write()
            try applyToDocumentIndexes(changes, txn: txn)
            try graph?(GraphTransaction(store: self, txn: txn), deleted)
            return deletedIDs
        }
    }

    /// The stored content hash of each id (nil where absent), so a caller can skip
    /// embedding documents that have not changed.
    public func storedHashes(for ids: [String]) throws -> [UInt64?] {
        try read { snapshot in try ids.map { try snapshot.document(id: $0)?.contentHash } }
    }

    /// The space of the current head's copy, nil for the identity head. With `strict`, the
    /// caller's vectors were computed for `head`, which must still be the current one.
    private func headSpace(_ txn: Transaction, expecting head: HeadRecord?, strict: Bool = true) throws -> VectorSpace? {
        let current = try storedHead(txn, key: HeadKeys.current)
        let space = current.flatMap { $0.isIdentity ? nil : $0.space }
        if strict, space != (head.flatMap { $0.isIdentity ? nil : $0.space }) {
            throw StoreError.headChanged(path: directory)
        }
        return space
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

/// The blocks one write transaction touches, in the raw space and in the current head's,
/// each loaded once and written back once.
private struct BlockPatches {
    let store: IndexStore
    let txn: Transaction
    /// The current head's space, nil for the identity head (which has no copy to keep).
    let headSpace: VectorSpace?
    var patches: [VectorSpace: [UInt32: BlockPatch]] = [:]

    init(store: IndexStore, txn: Transaction, headSpace: VectorSpace?) {
        self.store = store
        self.txn = txn
        self.headSpace = headSpace
    }

    mutating func set(id: UInt32, raw vector: [Float], head headVector: [Float]?) throws {
        try change(id, .raw) { $0.set(row: $1, vector: vector) }
        if let headSpace { try change(id, headSpace) { $0.set(row: $1, vector: headVector!) } }
    }

    mutating func clear(id: UInt32) throws {
        try change(id, .raw) { $0.clear(row: $1) }
        if let headSpace { try change(id, headSpace) { $0.clear(row: $1) } }
    }

    func write() throws {
        for (_, blocks) in patches {
            for (block, patch) in blocks { try patch.write(block: block, txn: txn, db: store.blocks) }
        }
        if patches[.raw] != nil { try store.bumpVectorsGeneration(txn) }
    }

    private mutating func change(_ id: UInt32, _ space: VectorSpace, _ body: (inout BlockPatch, Int) -> Void) throws {
        let rows = UInt32(store.manifest.blockRows)
        let block = id / rows
        if patches[space]?[block] == nil {
            patches[space, default: [:]][block] = try BlockPatch(
                block: block, boundaries: store.manifest.segmentBoundaries, space: space, txn: txn, db: store.blocks)
        }
        body(&patches[space]![block]!, Int(id % rows))
    }
}
