import CLMDB

/// The lexical index as one snapshot reads it (valid only inside `IndexStore.read`): what
/// BM25 needs, term by term.
public final class LexicalReader {
    private let snapshot: Snapshot
    private let index: LexicalIndex
    public let statistics: LexicalStatistics
    /// Each block's row lengths, in place in the map: the blocks that have rows.
    private let lengthBlocks: [UInt32: UnsafeRawBufferPointer]
    /// Those blocks in order, which each term's postings are read in.
    private let blocks: [UInt32]

    init(snapshot: Snapshot, index: LexicalIndex) throws {
        self.snapshot = snapshot
        self.index = index
        statistics = try LexicalStatistics.read(snapshot.txn, index.rows, path: snapshot.path) ?? LexicalStatistics()
        var blocks: [UInt32: UnsafeRawBufferPointer] = [:]
        try snapshot.txn.scan(index.rows, from: []) { key, value in
            guard key.count == 4 else { return true }  // "stats"
            guard value.count == Int(LexicalPostings.blockRows) * 4 else {
                throw StoreError.corrupt(path: snapshot.path, detail: "lexical lengths of block \(InternalID.decodeKey(key))")
            }
            blocks[InternalID.decodeKey(key)] = value
            return true
        }
        lengthBlocks = blocks
        self.blocks = blocks.keys.sorted()
    }

    /// Calls `body` with each row holding `term` and the term's count there, in row order.
    public func forEachPosting(of term: String, _ body: (_ row: UInt32, _ count: UInt32) throws -> Void) throws {
        for block in blocks {
            guard let value = try snapshot.txn.get(index.postings, LexicalPostings.key(term: term.utf8, block: block)) else { continue }
            var postings: [LexicalPostings.Posting] = []
            guard LexicalPostings.decode(value, { postings.append($0) }) else {
                throw StoreError.corrupt(path: snapshot.path, detail: "lexical postings of \"\(term)\" in block \(block)")
            }
            let first = block * LexicalPostings.blockRows
            for posting in postings { try body(first + posting.offset, posting.count) }
        }
    }

    /// Row `row`'s length in terms (0 for a row without a document).
    public func length(of row: UInt32) -> UInt32 {
        let offset = Int(row % LexicalPostings.blockRows)
        return lengthBlocks[row / LexicalPostings.blockRows]?.loadUnaligned(fromByteOffset: offset * 4, as: UInt32.self).littleEndian ?? 0
    }
}

extension Snapshot {
    /// The lexical index, or nil for an index made before it that has not been opened for
    /// writing since (its first write open builds it), or written by a process that did not
    /// keep it.
    public func lexical() throws -> LexicalReader? {
        guard let index = try completeDocumentIndex(LexicalIndex.self) else { return nil }
        return try LexicalReader(snapshot: self, index: index)
    }
}
