import CLMDB
import JSONValue

/// The lexical index, for BM25: each term's postings (`LexicalPostings`, one value per term
/// and block of rows), each row's length in terms, and the corpus's document count and
/// total length. What is indexed of a document: its id, its text and the string values of
/// its meta's top-level keys (a Debian package's title, a file's path), cut by
/// `LexicalTokenizer`.
///
/// | database | key → value |
/// |---|---|
/// | `lexical_postings` | block u32 BE, term UTF-8 → packed postings |
/// | `lexical_rows` | block u32 BE → each row's length in terms (u32 LE × `blockRows`); "stats" → documents u64, total length u64 (LE) |
struct LexicalIndex: DocumentIndex {
    static let databaseNames = ["lexical_postings", "lexical_rows"]
    let postings: MDB_dbi, rows: MDB_dbi

    init(databases: [MDB_dbi]) {
        (postings, rows) = (databases[0], databases[1])
    }

    static let statsKey = Array("stats".utf8)

    /// The terms of everything indexed of `doc`, repeats included.
    static func terms(of doc: StoredDocument) -> [String] {
        var fields = [doc.id, doc.text]
        if let meta = doc.meta, case .object(let object)? = try? JSON.parse(meta) {
            fields += object.keys.sorted().compactMap { object[$0]?.string }
        }
        return LexicalTokenizer.terms(fields.joined(separator: "\n"))
    }

    func apply(_ changes: [DocumentChange], txn: Transaction, store: IndexStore) throws {
        let blockRows = LexicalPostings.blockRows
        var stats = try LexicalStatistics.read(txn, rows, path: store.directory) ?? LexicalStatistics()
        var lengths: [UInt32: [UInt32]] = [:]
        var changedRows: [UInt32: Set<UInt32>] = [:]  // block → offsets whose postings are replaced
        var added: [UInt32: [String: [LexicalPostings.Posting]]] = [:]  // block → term → the batch's new postings
        for change in changes {
            let block = change.row / blockRows, offset = change.row % blockRows
            if lengths[block] == nil { lengths[block] = try storedLengths(block, txn) }
            changedRows[block, default: []].insert(offset)
            if let old = change.old {
                // Its terms' values are rewritten without the row, whether or not it still holds them.
                for term in Set(Self.terms(of: old)) { added[block, default: [:]][term, default: []] += [] }
                stats.remove(length: lengths[block]?[Int(offset)] ?? 0)
            }
            var length: UInt32 = 0
            if let new = change.new {
                let terms = Self.terms(of: new)
                length = UInt32(terms.count)
                var counts: [String: UInt32] = [:]
                for term in terms { counts[term, default: 0] += 1 }
                for (term, count) in counts {
                    added[block, default: [:]][term, default: []].append(.init(offset: offset, count: count))
                }
                stats.add(length: length)
            }
            lengths[block]?[Int(offset)] = length
        }
        // In key order: LMDB fills its pages best, and fastest, with ascending keys.
        for (block, terms) in added.sorted(by: { $0.key < $1.key }) {
            try write(terms, block: block, replacing: changedRows[block] ?? [], txn: txn, store: store)
        }
        for (block, values) in lengths {
            try values.withUnsafeBytes { try txn.put(rows, InternalID.key(block), $0) }
        }
        try txn.put(rows, Self.statsKey, stats.encoded)
    }

    /// Rewrites each of `terms`' values in `block`: the stored postings but those of the
    /// `replaced` rows, and the batch's new ones.
    private func write(_ terms: [String: [LexicalPostings.Posting]], block: UInt32, replacing replaced: Set<UInt32>,
                       txn: Transaction, store: IndexStore) throws {
        for (term, new) in terms.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            let key = LexicalPostings.key(term: term.utf8, block: block)
            var merged: [LexicalPostings.Posting] = []
            if let raw = try txn.get(postings, key) {
                let valid = LexicalPostings.decode(raw) { if !replaced.contains($0.offset) { merged.append($0) } }
                guard valid else { throw StoreError.corrupt(path: store.directory, detail: "lexical postings of block \(block)") }
            }
            merged += new
            merged.sort { $0.offset < $1.offset }
            if merged.isEmpty {
                try txn.delete(postings, key)
            } else {
                try txn.put(postings, key, LexicalPostings.encode(merged))
            }
        }
    }

    /// A block's row lengths as stored, or zeros for a block not written yet.
    private func storedLengths(_ block: UInt32, _ txn: Transaction) throws -> [UInt32] {
        let count = Int(LexicalPostings.blockRows)
        guard let raw = try txn.get(rows, InternalID.key(block)), raw.count == count * 4 else {
            return Array(repeating: 0, count: count)
        }
        return (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian }
    }
}

/// The corpus's figures BM25 needs: how many documents, and their total length in terms.
public struct LexicalStatistics: Equatable, Sendable {
    public var documents: UInt64 = 0
    public var totalLength: UInt64 = 0

    /// Mean document length (1 for an empty corpus, so nothing divides by zero).
    public var averageLength: Double { documents == 0 ? 1 : max(Double(totalLength) / Double(documents), 1) }

    mutating func add(length: UInt32) {
        documents += 1
        totalLength += UInt64(length)
    }

    mutating func remove(length: UInt32) {
        documents -= min(documents, 1)
        totalLength -= min(totalLength, UInt64(length))
    }

    var encoded: [UInt8] {
        withUnsafeBytes(of: documents.littleEndian) { Array($0) } + withUnsafeBytes(of: totalLength.littleEndian) { Array($0) }
    }

    static func read(_ txn: Transaction, _ db: MDB_dbi, path: String) throws -> LexicalStatistics? {
        guard let raw = try txn.get(db, LexicalIndex.statsKey) else { return nil }
        guard raw.count == 16 else { throw StoreError.corrupt(path: path, detail: "lexical statistics") }
        return LexicalStatistics(documents: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian,
                                 totalLength: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian)
    }
}
