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

    /// Opens the derived indexes' databases; `mode == .write` creates the missing ones and
    /// builds them from the stored documents in one transaction (an older index's first
    /// write open), so a derived index is either absent or complete.
    static func openDocumentIndexes(env: Environment, mode: Mode) throws -> (indexes: [any DocumentIndex], built: [any DocumentIndex]) {
        var indexes: [any DocumentIndex] = [], missing: [any DocumentIndex] = []
        for type in documentIndexTypes {
            if let dbis = try? env.openDatabases(type.databaseNames, create: false) {
                indexes.append(type.init(databases: dbis))
            } else if mode == .write {
                let index = type.init(databases: try env.openDatabases(type.databaseNames, create: true))
                indexes.append(index)
                missing.append(index)
            }
        }
        return (indexes, missing)
    }

    /// Fills freshly created derived indexes from every stored document.
    func build(_ indexes: [any DocumentIndex]) throws {
        guard !indexes.isEmpty else { return }
        try env.write { txn in
            var changes: [DocumentChange] = []
            try txn.scan(docs, from: []) { key, value in
                let row = InternalID.decodeKey(key)
                guard let doc = DocumentRecord.decode(value) else {
                    throw StoreError.corrupt(path: directory, detail: "document record \(row)")
                }
                changes.append(DocumentChange(row: row, old: nil, new: doc))
                return true
            }
            for index in indexes { try index.apply(changes, txn: txn, store: self) }
        }
    }

    /// Hands a batch's changes to every derived index.
    func applyToDocumentIndexes(_ changes: [DocumentChange], txn: Transaction) throws {
        guard !changes.isEmpty else { return }
        let ordered = changes.sorted { $0.row < $1.row }
        for index in documentIndexes { try index.apply(ordered, txn: txn, store: self) }
    }
}
