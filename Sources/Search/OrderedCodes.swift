import CKernels
import Dispatch

/// A short prefix of the graph's rows copied in another order (a field's rows sorted by value,
/// see the engine's `FieldColumn`), so that a filter matching runs of that order (a range, a
/// value, a prefix) reads its rows in sequence instead of scattered over the graph's rows: a
/// scattered row costs its memory latency (25-30 ns), a row read in sequence about 2 ns.
///
/// ```swift
/// let codes = OrderedCodes(RowCodes(vectors: graph.vectors), order: column.rows)
/// let ranked = codes.best(headQuery, runs: [120..<6_182], keep: 200)   // row ids
/// ```
/// Each row is its first `dimensions` components renormalised (a Matryoshka prefix's cosine)
/// and quantised to a byte with one scale per dimension, stored offset by 128 as unsigned; the
/// query is folded with the scales into signed bytes of at most ±63, so a row's score is one
/// byte dot (`mrl_top_dots_u8_s8`), the offset adding the same to every row. The scores only
/// rank candidates for the graph's own rows to rescore.
public final class OrderedCodes: @unchecked Sendable {  // immutable after init
    /// Components kept of each row: a 64-d prefix ranks a filter's rows well enough to keep
    /// a few hundred for the graph's rows (recall@10 0.988 keeping 200 of 6,062 on the Debian
    /// vectors, 0.858 for a 32-d prefix), in one cache line a row.
    public static let prefix = 64

    /// How many of a filter's rows the codes pass on to the walk's rows for a beam of `ef`:
    /// four times the beam, at least 100. Chosen on the tuning half of the Debian filter
    /// queries (`filter_data.py`, ef 24): recall@10 at 10% of the rows 0.943 keeping 3 × ef
    /// (at least 64), 0.956 keeping 4 ×, 0.962 and 0.965 keeping 5 × and 6 × at more cost.
    public static func candidates(ef: Int) -> Int { max(4 * ef, 100) }

    public let dimensions: Int
    /// Row ids in code order.
    public let order: [UInt32]
    private let codes: [UInt8]
    private let scales: [Float]

    /// The codes of `rows` (every row's, in id order) in the order `order` lists them (ids
    /// past its rows get the code of a zero row): a copy of 64 bytes a row.
    public init(_ rows: RowCodes, order: [UInt32]) {
        let dims = rows.dimensions
        var codes = [UInt8](repeating: 128, count: order.count * dims)
        codes.withUnsafeMutableBufferPointer { codes in rows.codes.withUnsafeBufferPointer { source in
            guard let target = codes.baseAddress, let source = source.baseAddress else { return }
            for (i, id) in order.enumerated() where Int(id) < rows.count {
                (target + i * dims).update(from: source + Int(id) * dims, count: dims)
            }
        } }
        (self.dimensions, self.order, self.codes, self.scales) = (dims, order, codes, rows.scales)
    }

    /// The ids of the `keep` best rows of code positions `runs` (ascending, not overlapping;
    /// of those, only the positions in `allowed` if given) for `query` (a head-space prefix of
    /// at least `dimensions` components), in no particular order, and how many rows were
    /// scored; stops at `deadline`, with the best found until then (`partial`).
    public func best(_ query: [Float], runs: [Range<Int>], allowed: RowSet? = nil, keep: Int,
                     deadline: DispatchTime = .distantFuture) -> (ids: [UInt32], scored: Int, partial: Bool) {
        let folded = (0..<dimensions).map { j in j < query.count ? query[j] * scales[j] : 0 }
        let largest = folded.reduce(0) { max($0, abs($1)) }
        let q = folded.map { Int8(largest > 0 ? RowCodes.nearest(max(-63, min(63, $0 / largest * 63))) : 0) }
        var scores = [Int32](repeating: 0, count: max(keep, 1)), positions = [UInt32](repeating: 0, count: max(keep, 1))
        var size = 0, scored = 0, partial = false
        let chunk = 16_384  // rows between looks at the deadline
        // One bit a position, zeros past the set's capacity: the kernel reads a word per position.
        let allowedWords = allowed.map { $0.words + [UInt64](repeating: 0, count: max(0, (order.count + 63) / 64 - $0.words.count)) } ?? []
        q.withUnsafeBufferPointer { q in codes.withUnsafeBufferPointer { codes in allowedWords.withUnsafeBufferPointer { allowedWords in
            scores.withUnsafeMutableBufferPointer { scores in positions.withUnsafeMutableBufferPointer { positions in
                guard let q = q.baseAddress, let codes = codes.baseAddress, let scores = scores.baseAddress, let positions = positions.baseAddress else { return }
                var top = mrl_top_rows(scores: scores, positions: positions, size: 0, keep: keep, allowed: allowed == nil ? nil : allowedWords.baseAddress)
                scan: for run in runs where run.lowerBound >= 0 && run.upperBound <= order.count {
                    for start in stride(from: run.lowerBound, to: run.upperBound, by: chunk) {
                        if deadline != .distantFuture && DispatchTime.now() > deadline {
                            partial = true
                            break scan
                        }
                        let count = min(chunk, run.upperBound - start)
                        mrl_top_dots_u8_s8(q, codes + start * dimensions, dimensions, count, UInt32(start), &top)
                        scored += count
                    }
                }
                size = top.size
            } }
        } } }
        return (positions.prefix(size).map { order[Int($0)] }, scored, partial)
    }
}

/// Every row's code (see `OrderedCodes`) in id order, computed once per graph state: each
/// field's `OrderedCodes` is a reordered copy. Made in id order because the graph's rows are
/// then read in sequence (the field's order read them scattered: 80 ms for 60,000 rows).
public final class RowCodes: @unchecked Sendable {  // immutable after init
    public let dimensions: Int
    /// Rows coded: the graph's.
    public let count: Int
    let codes: [UInt8]
    let scales: [Float]

    public init(vectors: GraphVectors) {
        // The kernel takes whole steps of 32 components; graph prefixes are layout boundaries.
        let dims = max(32, min(OrderedCodes.prefix, vectors.dimensions) / 32 * 32), read = min(dims, vectors.dimensions)
        let rows = vectors.rows
        let row = UnsafeMutablePointer<Float>.allocate(capacity: dims)
        defer { row.deallocate() }
        row.initialize(repeating: 0, count: dims)
        // Row id's unit prefix into `row`, read twice (for the scales, then for the bytes): a
        // copy of every row's floats would take 4 bytes a component.
        func unitPrefix(_ id: Int) {
            vectors.components(of: UInt32(id), count: read, into: row)
            var squared: Float = 0
            for j in 0..<dims { squared += row[j] * row[j] }
            let scale = squared > 0 ? 1 / squared.squareRoot() : 0
            for j in 0..<dims { row[j] *= scale }
        }
        var largest = [Float](repeating: 0, count: dims)
        for id in 0..<rows {
            unitPrefix(id)
            for j in 0..<dims { largest[j] = max(largest[j], abs(row[j])) }
        }
        let scales = largest.map { $0 > 0 ? $0 / 127 : 1 / 127 }, inverse = scales.map { 1 / $0 }
        var codes = [UInt8](repeating: 128, count: rows * dims)
        codes.withUnsafeMutableBufferPointer { codes in
            for id in 0..<rows {
                unitPrefix(id)
                // Offset by 128 into unsigned bytes, clamped to ±127 first (NaN lands on 127).
                for j in 0..<dims { codes[id * dims + j] = UInt8(128 + RowCodes.nearest(max(-127, min(127, row[j] * inverse[j])))) }
            }
        }
        self.codes = codes
        (dimensions, count, self.scales) = (dims, rows, scales)
    }

    /// `x` (|x| <= 2^22) rounded to the nearest integer, ties to even, in float arithmetic:
    /// `rounded()` is a libm call here (the baseline x86-64 has no rounding instruction), and
    /// it was most of the time these codes took to make (63 ms for 60,000 rows).
    @inline(__always)
    static func nearest(_ x: Float) -> Float {
        let shift: Float = 12_582_912  // 1.5 × 2^23: adding it leaves no fraction bits
        return (x + shift) - shift
    }
}
