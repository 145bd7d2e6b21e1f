import CLMDB

/// The lexical index as one snapshot reads it (valid only inside `IndexStore.read`): what
/// BM25 needs, term by term.
public final class LexicalReader {
    private let snapshot: Snapshot
    private let index: LexicalIndex
    public let statistics: LexicalStatistics
    /// Each block's row lengths, in place in the map, as they are first needed.
    private var lengthBlocks: [UInt32: UnsafeRawBufferPointer] = [:]

    init(snapshot: Snapshot, index: LexicalIndex) throws {
        self.snapshot = snapshot
        self.index = index
        statistics = try LexicalStatistics.read(snapshot.txn, index.rows, path: snapshot.path) ?? LexicalStatistics()
    }

    /// Calls `body` with each row holding `term` and the term's count there, in row order.
    public func forEachPosting(of term: String, _ body: (_ row: UInt32, _ count: UInt32) throws -> Void) throws {
        let prefix = LexicalPostings.prefix(term: term)
        try snapshot.txn.scan(index.postings, from: prefix) { key, value in
            guard key.count == prefix.count + 4, key.starts(with: prefix) else { return false }
            let first = LexicalPostings.block(ofKey: key) * LexicalPostings.blockRows
            var postings: [LexicalPostings.Posting] = []
            guard LexicalPostings.decode(value, { postings.append($0) }) else {
                throw StoreError.corrupt(path: snapshot.path, detail: "lexical postings of \"\(term)\"")
            }
            for posting in postings { try body(first + posting.offset, posting.count) }
            return true
        }
    }

    /// Row `row`'s length in terms (0 for a row without a document).
    public func length(of row: UInt32) throws -> UInt32 {
        let block = row / LexicalPostings.blockRows, offset = Int(row % LexicalPostings.blockRows)
        if lengthBlocks[block] == nil {
            let raw = try snapshot.txn.get(index.rows, InternalID.key(block))
            guard let raw, raw.count == Int(LexicalPostings.blockRows) * 4 else {
                throw StoreError.corrupt(path: snapshot.path, detail: "lexical lengths of block \(block)")
            }
            lengthBlocks[block] = raw
        }
        return lengthBlocks[block]?.loadUnaligned(fromByteOffset: offset * 4, as: UInt32.self).littleEndian ?? 0
    }
}

extension Snapshot {
    /// The lexical index, or nil for an index made before it that has not been opened for
    /// writing since (its first write open builds it).
    public func lexical() throws -> LexicalReader? {
        guard let index = store.documentIndex(LexicalIndex.self) else { return nil }
        return try LexicalReader(snapshot: self, index: index)
    }
}
