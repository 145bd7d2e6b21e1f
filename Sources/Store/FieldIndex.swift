import CLMDB
import JSONValue

/// The filterable fields of every document's meta, sorted: database `fields`, key = field
/// name, 0, the value's kind (`FieldValue.typeTag`), its order-preserving bytes, the row
/// (u32 BE) → empty. One field's values of one kind are one key range, in value order.
///
/// Every top-level key of `meta` is a field; a nested object's keys are fields by dotted path
/// (`a.b`); an array's scalar elements are each an entry of its field. A string `path` also
/// gives `ext`, its lowercased extension, unless the meta has its own `ext`.
/// Meta `fields_generation` counts the batches that changed an entry, so readers can keep
/// what they derive from the entries until it moves.
struct FieldIndex: DocumentIndex {
    static let databaseNames = ["fields"]
    static let generationKey = Array("fields_generation".utf8)

    let fields: MDB_dbi

    init(databases: [MDB_dbi]) { fields = databases[0] }

    func apply(_ changes: [DocumentChange], txn: Transaction, store: IndexStore) throws {
        var changed = false
        for change in changes {
            let old = FieldIndex.keys(row: change.row, meta: change.old?.meta)
            let new = FieldIndex.keys(row: change.row, meta: change.new?.meta)
            for key in old.subtracting(new) { try txn.delete(fields, key) }
            for key in new.subtracting(old) { try txn.put(fields, key, []) }
            changed = changed || old != new
        }
        if changed {
            var next = try FieldIndex.generation(txn, store: store) &+ 1
            try withUnsafeBytes(of: &next) { try txn.put(store.meta, FieldIndex.generationKey, $0) }
        }
    }

    static func generation(_ txn: Transaction, store: IndexStore) throws -> UInt64 {
        guard let raw = try txn.get(store.meta, generationKey), raw.count == 8 else { return 0 }
        return raw.loadUnaligned(as: UInt64.self)
    }

    /// The keys of one row's entries.
    static func keys(row: UInt32, meta: String?) -> Set<[UInt8]> {
        Set(entries(meta: meta).map { name, value in
            Array(name.utf8) + [0, value.typeTag] + value.orderedBytes + InternalID.key(row)
        })
    }

    /// The filterable (field, value) pairs of a document's meta (canonical JSON, or nil).
    static func entries(meta: String?) -> [(field: String, value: FieldValue)] {
        guard let meta, case .object(let members)? = try? JSON.parse(Array(meta.utf8)) else { return [] }
        var entries: [(String, FieldValue)] = []
        func add(_ name: String, _ json: JSON) {
            switch json {
            case .object(let members):
                for (key, value) in members { add(name + "." + key, value) }
            case .array(let elements):
                for element in elements { if let value = FieldValue(element) { entries.append((name, value)) } }
            default:
                if let value = FieldValue(json) { entries.append((name, value)) }
            }
        }
        for (key, value) in members { add(key, value) }
        if members["ext"] == nil, let path = members["path"]?.string, let ext = fileExtension(path) {
            add("ext", .string(ext))
        }
        return entries.filter { name, _ in (1...FieldValue.maxFieldNameBytes).contains(name.utf8.count) && !name.utf8.contains(0) }
    }

    /// The lowercased extension of a path's last name, without the dot; nil when it has none
    /// (`README`, `.bashrc`, `notes.`).
    static func fileExtension(_ path: String) -> String? {
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        let ext = name[name.index(after: dot)...]
        return ext.isEmpty ? nil : ext.lowercased()
    }

    /// Splits a key back into field name bytes, value and row; nil when malformed.
    static func decode(_ key: UnsafeRawBufferPointer) -> (name: UnsafeRawBufferPointer, value: FieldValue, row: UInt32)? {
        guard let end = key.firstIndex(of: 0), key.count >= end + 2 + 4 else { return nil }
        let valueBytes = UnsafeRawBufferPointer(rebasing: key[(end + 2)..<(key.count - 4)])
        guard let value = FieldValue(tag: key[end + 1], orderedBytes: valueBytes) else { return nil }
        let row = UInt32(bigEndian: key.loadUnaligned(fromByteOffset: key.count - 4, as: UInt32.self))
        return (UnsafeRawBufferPointer(rebasing: key[..<end]), value, row)
    }
}

extension Snapshot {
    /// The generation of the field index (see `FieldIndex`); nil when this index has none
    /// yet (made before filters, and not opened for writing since).
    public func fieldsGeneration() throws -> UInt64? {
        guard store.documentIndex(FieldIndex.self) != nil else { return nil }
        return try FieldIndex.generation(txn, store: store)
    }

    /// Every filterable field with its (value, row) entries, a field at a time, in no set
    /// order. Read from the field index, or derived from the stored documents when the
    /// index has none yet.
    public func forEachField(_ body: (String, [(value: FieldValue, row: UInt32)]) throws -> Void) throws {
        guard let index = store.documentIndex(FieldIndex.self) else {
            var byField: [String: [(value: FieldValue, row: UInt32)]] = [:]
            try txn.scan(store.docs, from: []) { key, value in
                guard let doc = DocumentRecord.decode(value) else {
                    throw StoreError.corrupt(path: store.directory, detail: "document record \(InternalID.decodeKey(key))")
                }
                for (field, value) in FieldIndex.entries(meta: doc.meta) {
                    byField[field, default: []].append((value, InternalID.decodeKey(key)))
                }
                return true
            }
            for (field, entries) in byField { try body(field, entries) }
            return
        }
        var name: [UInt8] = [], entries: [(value: FieldValue, row: UInt32)] = []
        try txn.scan(index.fields, from: []) { key, _ in
            guard let entry = FieldIndex.decode(key) else {
                throw StoreError.corrupt(path: store.directory, detail: "field index key of \(key.count) bytes")
            }
            if !entry.name.elementsEqual(name) {
                if !entries.isEmpty { try body(String(decoding: name, as: UTF8.self), entries) }
                name = Array(entry.name)
                entries = []
            }
            entries.append((entry.value, entry.row))
            return true
        }
        if !entries.isEmpty { try body(String(decoding: name, as: UTF8.self), entries) }
    }
}
