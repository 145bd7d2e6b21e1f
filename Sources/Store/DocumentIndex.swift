import CLMDB

/// A structure derived from the documents' text and meta (the filter fields, the lexical
/// index), kept in step with them: `IndexStore.upsert` and `delete` hand each one the rows a
/// batch changed, inside the batch's own write transaction, so documents and what is derived
/// from them commit together or not at all.
protocol DocumentIndex: Sendable {
    /// Its named databases, created with a new index. An index made before them gets them
    /// when it is first opened for writing, built there from its stored documents.
    static var databaseNames: [String] { get }
    init(databases: [MDB_dbi])
    /// Applies one batch's changes, in row order.
    func apply(_ changes: [DocumentChange], txn: Transaction, store: IndexStore) throws
}

/// What one batch did to one row: the document it held before (nil: none) and holds now
/// (nil: deleted).
struct DocumentChange {
    let row: UInt32
    let old: StoredDocument?
    let new: StoredDocument?
}

extension IndexStore {
    /// Every kind of derived index, in the order batches are applied to them.
    static let documentIndexTypes: [any DocumentIndex.Type] = [FieldIndex.self, LexicalIndex.self]

    static var documentIndexDatabaseNames: [String] { documentIndexTypes.flatMap { $0.databaseNames } }

    /// The derived index of `type`, if this index has it (an index opened for reading that
    /// was made before it lacks it until a writer opens it once).
    func documentIndex<T: DocumentIndex>(_ type: T.Type) -> T? {
        documentIndexes.lazy.compactMap { $0 as? T }.first
    }

    /// Meta key marking `type`'s databases complete. It is written in the transaction that
    /// fills them (or creates the index): databases created by a run that died, or failed,
    /// before filling them are built again rather than taken for complete.
    static func builtKey(_ type: any DocumentIndex.Type) -> [UInt8] { Array("built/\(type.databaseNames[0])".utf8) }

    /// Opens the derived indexes' databases; `mode == .write` creates the missing ones (and
    /// returns them with their databases, for `build`), so a derived index is either absent
    /// or complete.
    static func openDocumentIndexes(env: Environment, meta: MDB_dbi, mode: Mode)
        throws -> (indexes: [any DocumentIndex], unbuilt: [(index: any DocumentIndex, databases: [MDB_dbi])]) {
        var indexes: [any DocumentIndex] = [], unbuilt: [(any DocumentIndex, [MDB_dbi])] = []
        for type in documentIndexTypes {
            if let dbis = try? env.openDatabases(type.databaseNames, create: false),
               try env.read({ try $0.get(meta, builtKey(type)) != nil }) {
                indexes.append(type.init(databases: dbis))
            } else if mode == .write {
                let dbis = try env.openDatabases(type.databaseNames, create: true)
                let index = type.init(databases: dbis)
                indexes.append(index)
                unbuilt.append((index, dbis))
            }
        }
        return (indexes, unbuilt)
    }

    /// Fills derived indexes from every stored document, and marks them built, in one
    /// transaction. Their databases are emptied first: a run that died after creating them,
    /// or a build before the marks existed, may have left entries.
    func build(_ unbuilt: [(index: any DocumentIndex, databases: [MDB_dbi])]) throws {
        guard !unbuilt.isEmpty else { return }
        try env.write { txn in
            var changes: [DocumentChange] = []
            try Snapshot(store: self, txn: txn).forEachDocument { row, doc in changes.append(DocumentChange(row: row, old: nil, new: doc)) }
            for (index, databases) in unbuilt {
                for dbi in databases { try Environment.check(mdb_drop(txn.handle, dbi, 0), "empty a derived index", directory) }
                try index.apply(changes, txn: txn, store: self)
                try txn.put(meta, IndexStore.builtKey(type(of: index)), [])
            }
        }
    }

    /// Unmarks the derived indexes this store does not keep up to date: opened for reading
    /// without them, it may now write, and a process that built them meanwhile must not
    /// leave them marked complete (the next write open builds them again).
    func unmarkDocumentIndexesNotKept() throws {
        let kept = Set(documentIndexes.map { ObjectIdentifier(type(of: $0)) })
        let notKept = IndexStore.documentIndexTypes.filter { !kept.contains(ObjectIdentifier($0)) }
        guard !notKept.isEmpty else { return }
        try env.write { txn in
            for type in notKept { try txn.delete(meta, IndexStore.builtKey(type)) }
        }
    }

    /// Hands a batch's changes to every derived index.
    func applyToDocumentIndexes(_ changes: [DocumentChange], txn: Transaction) throws {
        guard !changes.isEmpty else { return }
        let ordered = changes.sorted { $0.row < $1.row }
        for index in documentIndexes { try index.apply(ordered, txn: txn, store: self) }
    }
}

extension Snapshot {
    /// The derived index of `type` when it is complete: this store keeps it, and it is marked
    /// built (a writer that did not keep it unmarks it, so a reader never trusts a stale one).
    func completeDocumentIndex<T: DocumentIndex>(_ type: T.Type) throws -> T? {
        guard let index = store.documentIndex(type), try txn.get(store.meta, IndexStore.builtKey(type)) != nil else { return nil }
        return index
    }

    /// Calls `body` with every stored document and its row, in row order.
    func forEachDocument(_ body: (UInt32, StoredDocument) throws -> Void) throws {
        try txn.scan(store.docs, from: []) { key, value in
            let row = InternalID.decodeKey(key)
            guard let doc = DocumentRecord.decode(value) else {
                throw StoreError.corrupt(path: store.directory, detail: "document record \(row)")
            }
            try body(row, doc)
            return true
        }
    }
}
