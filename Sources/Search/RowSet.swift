/// A set of internal row ids, one bit per row: the rows a filter matches. Filters produce
/// it; the exact scan, the graph walk and the post-filter read it (`contains` per row).
public struct RowSet: Sendable, Equatable {
    /// Bit `row % 64` of word `row / 64`.
    public private(set) var words: [UInt64]
    /// How many rows are in the set.
    public private(set) var count = 0

    /// An empty set for rows `0..<capacity`.
    public init(capacity: Int) {
        words = Array(repeating: 0, count: (max(capacity, 0) + 63) / 64)
    }

    public init(_ rows: some Sequence<UInt32>, capacity: Int) {
        self.init(capacity: capacity)
        for row in rows { insert(row) }
    }

    /// Rows `0..<capacity` the set can hold.
    public var capacity: Int { words.count * 64 }

    public func contains(_ row: UInt32) -> Bool {
        let word = Int(row >> 6)
        return word < words.count && words[word] & (1 << UInt64(row & 63)) != 0
    }

    /// Adds `row`, which must be below `capacity`.
    public mutating func insert(_ row: UInt32) {
        let word = Int(row >> 6), bit: UInt64 = 1 << UInt64(row & 63)
        if words[word] & bit == 0 {
            words[word] |= bit
            count += 1
        }
    }

    /// Adds each of `rows` below `capacity`, leaving out any other: a filter's rows a value at a
    /// time (one call per value, not per row, and no bounds check per row).
    public mutating func insert(contentsOf rows: ArraySlice<UInt32>) {
        var added = 0
        words.withUnsafeMutableBufferPointer { words in
            for row in rows {
                let word = Int(row >> 6), bit: UInt64 = 1 << UInt64(row & 63)
                guard word < words.count else { continue }
                added += words[word] & bit == 0 ? 1 : 0
                words[word] |= bit
            }
        }
        count += added
    }

    /// Calls `body` with each row, in ascending order.
    public func forEach(_ body: (UInt32) throws -> Void) rethrows {
        for (index, word) in words.enumerated() where word != 0 {
            try Self.forEachBit(of: word, base: index * 64, body)
        }
    }

    /// How many rows of `range` are in the set (a block's share of a filter, without visiting rows).
    public func count(in range: Range<UInt32>) -> Int {
        var total = 0
        forEachWord(in: range) { _, word in total += word.nonzeroBitCount }
        return total
    }

    /// Calls `body` with each maximal run of consecutive rows of `range` in the set, in
    /// ascending order: what a scan reads as one stretch of rows.
    public func forEachRun(in range: Range<UInt32>, _ body: (Range<UInt32>) -> Void) {
        var run: Range<UInt32>?
        forEachWord(in: range) { index, word in
            Self.forEachBit(of: word, base: index * 64) { row in
                if let current = run, current.upperBound == row {
                    run = current.lowerBound..<row + 1
                } else {
                    if let current = run { body(current) }
                    run = row..<row + 1
                }
            }
        }
        if let run { body(run) }
    }

    /// The words that cover `range` (clipped to the set), each masked to the rows inside it.
    private func forEachWord(in range: Range<UInt32>, _ body: (Int, UInt64) -> Void) {
        let upper = min(Int(range.upperBound), capacity), lower = Int(range.lowerBound)
        guard lower < upper else { return }
        for index in (lower >> 6)...((upper - 1) >> 6) {
            var word = words[index]
            if index == lower >> 6 { word &= ~0 << UInt64(lower & 63) }
            if index == (upper - 1) >> 6, upper & 63 != 0 { word &= ~0 >> UInt64(64 - (upper & 63)) }
            if word != 0 { body(index, word) }
        }
    }

    private static func forEachBit(of word: UInt64, base: Int, _ body: (UInt32) throws -> Void) rethrows {
        var bits = word
        while bits != 0 {
            try body(UInt32(base + bits.trailingZeroBitCount))
            bits &= bits - 1
        }
    }
}

extension RowSet {
    /// Adds every row of `other` (the `or` of two filters).
    public mutating func formUnion(_ other: RowSet) {
        if other.words.count > words.count { words += Array(repeating: 0, count: other.words.count - words.count) }
        for (i, word) in other.words.enumerated() { words[i] |= word }
        recount()
    }

    /// Keeps the rows also in `other` (the `and` of two filters).
    public mutating func formIntersection(_ other: RowSet) {
        for i in words.indices { words[i] &= i < other.words.count ? other.words[i] : 0 }
        recount()
    }

    /// Removes the rows of `other`: `live.subtracting(matching)` is a `not` within live rows.
    public func subtracting(_ other: RowSet) -> RowSet {
        var result = self
        for i in result.words.indices where i < other.words.count { result.words[i] &= ~other.words[i] }
        result.recount()
        return result
    }

    private mutating func recount() { count = words.reduce(0) { $0 + $1.nonzeroBitCount } }
}
