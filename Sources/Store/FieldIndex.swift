import CLMDB
import JSONValue

/// The filterable fields of every document's meta: database `fields`, key = the row (u32 BE),
/// field name, 0, the value's kind (`FieldValue.typeTag`), its order-preserving bytes →
/// empty. Row first, so a batch of new documents (rows handed out in order) adds keys at the
/// tree's right edge and a changed document's entries sit together: sorted by field and
/// value, every batch would rewrite pages all over the tree (on the Debian reference vectors,
/// 1,000 documents a batch, about the whole database each time). Readers sort by value in
/// memory (`FieldColumns`).
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

    /// Removes the entries the old documents had and the new ones lack, then adds the new
    /// ones', each in key order: a batch walks the B-tree once, left to right.
    func apply(_ changes: [DocumentChange], txn: Transaction, store: IndexStore) throws {
        var removed: [[UInt8]] = [], added: [[UInt8]] = []
        for change in changes {
            let old = FieldIndex.keys(row: change.row, meta: change.old?.meta)
            let new = FieldIndex.keys(row: change.row, meta: change.new?.meta)
            removed += old.subtracting(new)
            added += new.subtracting(old)
        }
        for key in removed.sorted(by: { $0.lexicographicallyPrecedes($1) }) { try txn.delete(fields, key) }
        for key in added.sorted(by: { $0.lexicographicallyPrecedes($1) }) { try txn.put(fields, key, []) }
        if !removed.isEmpty || !added.isEmpty { try store.bumpCounter(FieldIndex.generationKey, txn) }
    }

    /// The keys of one row's entries.
    static func keys(row: UInt32, meta: String?) -> Set<[UInt8]> {
        Set(entries(meta: meta).map { name, value in
            InternalID.key(row) + Array(name.utf8) + [0, value.typeTag] + value.orderedBytes
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

    /// Splits a key back into row, field name bytes and value; nil when malformed.
    static func decode(_ key: UnsafeRawBufferPointer) -> (row: UInt32, name: UnsafeRawBufferPointer, value: FieldValue)? {
        guard key.count >= 4 + 2, let end = key[4...].firstIndex(of: 0), end + 1 < key.count,
              let value = FieldValue(tag: key[end + 1], orderedBytes: UnsafeRawBufferPointer(rebasing: key[(end + 2)...])) else { return nil }
        let row = UInt32(bigEndian: key.loadUnaligned(as: UInt32.self))
        return (row, UnsafeRawBufferPointer(rebasing: key[4..<end]), value)
    }
}

/// Entries gathered by field name. Rows mostly have the same fields, in key order, so the
/// name after the last one found, then the first, is tried before a lookup (hashing every
/// name took most of a load's time).
private struct FieldGroups {
    private(set) var names: [[UInt8]] = []
    private(set) var entries: [[(value: FieldValue, row: UInt32)]] = []
    private var index: [[UInt8]: Int] = [:]
    private var last = -1

    mutating func add(name: some Collection<UInt8>, value: FieldValue, row: UInt32) {
        if !(last >= 0 && names[last].elementsEqual(name)) { last = position(of: name) }
        entries[last].append((value, row))
    }

    private mutating func position(of name: some Collection<UInt8>) -> Int {
        if last + 1 < names.count, names[last + 1].elementsEqual(name) { return last + 1 }
        if !names.isEmpty, names[0].elementsEqual(name) { return 0 }
        if let found = index[Array(name)] { return found }
        index[Array(name)] = names.count
        names.append(Array(name))
        entries.append([])
        return names.count - 1
    }
}

extension Snapshot {
    /// The generation of the field index (see `FieldIndex`); nil when this index has none
    /// complete (made before filters and not opened for writing since, or written by a
    /// process that did not keep it).
    public func fieldsGeneration() throws -> UInt64? {
        guard try completeDocumentIndex(FieldIndex.self) != nil else { return nil }
        return try store.counter(FieldIndex.generationKey, txn)
    }

    /// Every filterable field with its (value, row) entries, a field at a time, in no set
    /// order. Read from the field index, or derived from the stored documents when the
    /// index has none yet.
    public func forEachField(_ body: (String, [(value: FieldValue, row: UInt32)]) throws -> Void) throws {
        var groups = FieldGroups()
        if let index = try completeDocumentIndex(FieldIndex.self) {
            try txn.scan(index.fields, from: []) { key, _ in
                guard let entry = FieldIndex.decode(key) else {
                    throw StoreError.corrupt(path: store.directory, detail: "field index key of \(key.count) bytes")
                }
                groups.add(name: entry.name, value: entry.value, row: entry.row)
                return true
            }
        } else {
            try forEachDocument { row, doc in
                for (field, value) in FieldIndex.entries(meta: doc.meta) { groups.add(name: field.utf8, value: value, row: row) }
            }
        }
        for (name, entries) in zip(groups.names, groups.entries) { try body(String(decoding: name, as: UTF8.self), entries) }
    }
}
