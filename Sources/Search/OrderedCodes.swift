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
/// Each row is its first `dimensions` components renormalised (a Matryoshka prefix's cosine),
/// less their mean over the rows, and quantised to 4 bits with one scale per dimension (see
/// `RowCodes`), stored offset by 8 as unsigned; the query is folded with the scales into
/// signed bytes, so a row's score is one dot of nibbles and bytes (`mrl_top_dots_u4_s8`). The
/// mean and the offset add the same to every row's score. The scores only rank candidates for
/// the graph's own rows to rescore.
public final class OrderedCodes: @unchecked Sendable {  // immutable after init
    /// Components kept of each row: a 64-d prefix ranks a filter's rows well enough to keep
    /// a few hundred for the graph's rows (as bytes, recall@10 0.988 keeping 200 of 6,062 on
    /// the Debian vectors, 0.858 for a 32-d prefix), in half a cache line a row at 4 bits.
    public static let prefix = 64

    /// How many of a filter's rows the codes pass on to the walk's rows for a beam of `ef`:
    /// five times the beam, at least 120. Chosen on the tuning half of the Debian filter
    /// queries (`filter_data.py`, ef 24): recall@10 at 10% of the rows 0.950 keeping 100,
    /// 0.956 keeping 120 and 0.960 keeping 140 (each at 140 ns a row more).
    public static func candidates(ef: Int) -> Int { max(5 * ef, 120) }

    /// Components a code holds: every code is of the same prefix.
    public var dimensions: Int { OrderedCodes.prefix }
    /// Row ids in code order.
    public let order: [UInt32]
    private let codes: [UInt8]
    private let scales: [Float]

    /// The codes of `rows` (every row's, in id order) in the order `order` lists them (ids
    /// past its rows get the code of a mean row): a copy of 32 bytes a row.
    public init(_ rows: RowCodes, order: [UInt32]) {
        let bytes = RowCodes.bytesPerRow
        var codes = [UInt8](repeating: RowCodes.zero, count: order.count * bytes)
        codes.withUnsafeMutableBufferPointer { codes in rows.codes.withUnsafeBufferPointer { source in
            guard let target = codes.baseAddress, let source = source.baseAddress else { return }
            for (i, id) in order.enumerated() where Int(id) < rows.count {
                (target + i * bytes).update(from: source + Int(id) * bytes, count: bytes)
            }
        } }
        (self.order, self.codes, self.scales) = (order, codes, rows.scales)
    }

    /// The ids of the `keep` best rows of code positions `runs` (ascending, not overlapping;
    /// of those, only the positions in `allowed` if given) for `query` (a head-space prefix of
    /// at least `dimensions` components), in no particular order, and how many rows were
    /// scored; stops at `deadline`, with the best found until then (`partial`).
    public func best(_ query: [Float], runs: [Range<Int>], allowed: RowSet? = nil, keep: Int,
                     deadline: DispatchTime = .distantFuture) -> (ids: [UInt32], scored: Int, partial: Bool) {
        let folded = (0..<dimensions).map { j in j < query.count ? query[j] * scales[j] : 0 }
        let largest = folded.reduce(0) { max($0, abs($1)) }
        let q = folded.map { Int8(largest > 0 ? RowCodes.nearest(max(-127, min(127, $0 / largest * 127))) : 0) }
        let chunk = 16_384  // rows between looks at the deadline
        // The kernel's room: candidates (see mrl_top_rows_make), and the scores of a chunk.
        var keys = [UInt64](repeating: 0, count: 4 * keep + 4)
        var scores = [Int32](repeating: 0, count: min(chunk, max(1, runs.reduce(0) { max($0, $1.count) })))
        var scored = 0, partial = false
        // One bit a position, zeros past the set's capacity: the kernel reads a word per position.
        let allowedWords = allowed.map { $0.words + [UInt64](repeating: 0, count: max(0, (order.count + 63) / 64 - $0.words.count)) } ?? []
        let positions = q.withUnsafeBufferPointer { q in codes.withUnsafeBufferPointer { codes in allowedWords.withUnsafeBufferPointer { allowedWords in
            keys.withUnsafeMutableBufferPointer { keys in scores.withUnsafeMutableBufferPointer { scores -> [UInt32] in
                guard let q = q.baseAddress, let codes = codes.baseAddress, let keysStart = keys.baseAddress, let scoresStart = scores.baseAddress else { return [] }
                var top = mrl_top_rows_make(keysStart, keys.count, keep, scoresStart, scores.count, allowed == nil ? nil : allowedWords.baseAddress)
                scan: for run in runs where run.lowerBound >= 0 && run.upperBound <= order.count {
                    for start in stride(from: run.lowerBound, to: run.upperBound, by: chunk) {
                        if deadline != .distantFuture && DispatchTime.now() > deadline {
                            partial = true
                            break scan
                        }
                        let count = min(chunk, run.upperBound - start)
                        mrl_top_dots_u4_s8(q, codes + start * RowCodes.bytesPerRow, dimensions, count, UInt32(start), &top)
                        scored += count
                    }
                }
                mrl_top_rows_finish(&top)
                return keys.prefix(top.size).map(mrl_top_key_position)
            } }
        } } }
        return (positions.map { order[Int($0)] }, scored, partial)
    }
}

/// Every row's code (see `OrderedCodes`) in id order, computed once per graph state: each
/// field's `OrderedCodes` is a reordered copy. Made in id order because the graph's rows are
/// then read in sequence (the field's order read them scattered: 80 ms for 60,000 rows).
///
/// Four bits a component: a 64-d prefix in 32 bytes is read in half the time of one in bytes
/// (in the ordered scan of 6,062 rows: 14-16 µs against 29-30 from cache, 36-41 against
/// 65-73 from memory), and ranks nearly as well. In a simulation on the Debian vectors (a PCA
/// rotation for the head, 300 title queries, a random tenth of the rows each), the true 10
/// best were among the 100 best by the codes 0.966 of the time against 0.969 for bytes, and
/// 0.833 for bytes of a 32-d prefix, which takes as many bytes; on the tuning half of the
/// Debian filter queries, recall@10 at 10% went from 0.956 to 0.950 passing 100 rows on,
/// which 20 more make up (see `OrderedCodes.candidates`). A component is centred on its mean
/// over the rows and divided by 3/7.5 of its standard deviation, so that three deviations
/// reach the codes' ends (-8 and 7; 2.5 and 3.5 deviations ranked alike), and rounded.
public final class RowCodes: @unchecked Sendable {  // immutable after init
    /// Bytes of a row's code: two components a byte, `OrderedCodes.prefix` of them.
    static let bytesPerRow = OrderedCodes.prefix / 2
    /// A byte of two components at their mean (code 0, offset by 8).
    static let zero: UInt8 = 0x88
    /// Rows coded: the graph's.
    public let count: Int
    let codes: [UInt8]
    let scales: [Float]

    public init(vectors: GraphVectors) {
        let dims = OrderedCodes.prefix, read = min(dims, vectors.dimensions)  // components past the graph's are 0
        let rows = vectors.rows
        let row = UnsafeMutablePointer<Float>.allocate(capacity: dims)
        defer { row.deallocate() }
        row.initialize(repeating: 0, count: dims)
        // Row id's unit prefix into `row`, read twice (for the mean and deviation, then for the
        // codes): a copy of every row's floats would take 4 bytes a component.
        func unitPrefix(_ id: Int) {
            vectors.components(of: UInt32(id), count: read, into: row)
            var squared: Float = 0
            for j in 0..<dims { squared += row[j] * row[j] }
            let scale = squared > 0 ? 1 / squared.squareRoot() : 0
            for j in 0..<dims { row[j] *= scale }
        }
        var sums = [Double](repeating: 0, count: dims), squares = sums
        for id in 0..<rows {
            unitPrefix(id)
            for j in 0..<dims { (sums[j], squares[j]) = (sums[j] + Double(row[j]), squares[j] + Double(row[j] * row[j])) }
        }
        let n = Double(max(rows, 1))
        let means = sums.map { Float($0 / n) }
        let scales = zip(sums, squares).map { sum, square in
            let deviation = Float(max(0, square / n - (sum / n) * (sum / n)).squareRoot())
            return deviation > 0 ? deviation * 3 / 7.5 : 1
        }
        let inverse = scales.map { 1 / $0 }, half = dims / 2
        var codes = [UInt8](repeating: RowCodes.zero, count: rows * RowCodes.bytesPerRow)
        codes.withUnsafeMutableBufferPointer { codes in
            // Component j's code, offset by 8 into 0...15, clamped first (NaN lands on 15).
            func code(_ j: Int) -> UInt8 { UInt8(8 + RowCodes.nearest(max(-8, min(7, (row[j] - means[j]) * inverse[j])))) }
            for id in 0..<rows {
                unitPrefix(id)
                for b in 0..<half { codes[id * half + b] = code(b) | code(half + b) << 4 }
            }
        }
        self.codes = codes
        (count, self.scales) = (rows, scales)
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
