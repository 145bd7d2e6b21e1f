/// One term's postings within one block of rows, packed: for each row holding the term, in
/// row order, the row's distance from the previous one (from the block's first row for the
/// first) and the term's count in it, both as LEB128 varints. Most of a block's postings
/// take two bytes.
enum LexicalPostings {
    /// Rows per postings value. Larger blocks mean fewer LMDB entries (a rare term's entry
    /// costs its key and node header more than its postings); smaller ones, less rewritten
    /// per batch. At 4,096 the Debian corpus's entries average a dozen postings.
    static let blockRows: UInt32 = 4_096

    struct Posting: Equatable {
        var offset: UInt32  // row % blockRows
        var count: UInt32
    }

    static func encode(_ postings: [Posting]) -> [UInt8] {
        var out: [UInt8] = [], previous: UInt32 = 0
        out.reserveCapacity(postings.count * 2)
        for posting in postings {
            appendVarint(posting.offset - previous, to: &out)
            appendVarint(posting.count, to: &out)
            previous = posting.offset
        }
        return out
    }

    /// Calls `body` with each posting; false when the value is malformed (the caller reports
    /// the index damaged).
    static func decode(_ raw: UnsafeRawBufferPointer, _ body: (Posting) -> Void) -> Bool {
        var position = 0, offset: UInt32 = 0
        while position < raw.count {
            guard let delta = readVarint(raw, &position), let count = readVarint(raw, &position) else { return false }
            let (sum, overflow) = offset.addingReportingOverflow(delta)
            guard !overflow, sum < blockRows else { return false }
            offset = sum
            body(Posting(offset: offset, count: count))
        }
        return true
    }

    /// A posting value's key: the block (u32 big-endian), then the term's UTF-8. Block first,
    /// so a batch, whose rows are mostly in one block, rewrites one region of the B-tree
    /// (term first, it copied most of the tree's leaves on every batch).
    static func key(term: some Sequence<UInt8>, block: UInt32) -> [UInt8] {
        InternalID.key(block) + term
    }

    private static func appendVarint(_ value: UInt32, to out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
    }

    private static func readVarint(_ raw: UnsafeRawBufferPointer, _ position: inout Int) -> UInt32? {
        var value: UInt32 = 0, shift: UInt32 = 0
        while position < raw.count, shift < 32 {
            let byte = raw[position]
            position += 1
            value |= UInt32(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }
}
