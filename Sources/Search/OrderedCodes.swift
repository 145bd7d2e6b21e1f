import CKernels
import Dispatch

/// Codes of the graph's walk rows (see `RowCodes`) copied in another order (a field's rows
/// sorted by value, see the engine's `FieldColumn`), so that a filter matching runs of that
/// order (a range, a value, a prefix) reads its rows in sequence instead of scattered over the
/// graph's rows: a scattered row costs its memory latency (25-30 ns), a row read in sequence
/// about 2 ns.
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
    /// How many of a filter's rows the codes pass on to the walk's rows for a beam of `ef`:
    /// twice the beam. Codes of as many components as the walk's rows rank nearly as those
    /// do, so a few more than the beam suffice. Chosen in a simulation on the tuning halves of
    /// the filter queries (`tools/bench/ordered_codes.py`, BENCHMARKS "codes as wide as the
    /// walk's rows"): recall@10 at 10% of the Debian rows (ef 24) 0.960 passing 24 on, 0.972
    /// passing 48 or 120; on PyPI's correlated filter (ef 96) 0.968 passing 96, 0.978 passing
    /// 192 or 480. Each row passed on costs a scattered read of the walk's row.
    public static func candidates(ef: Int) -> Int { 2 * ef }

    /// Components a code holds: those of the rows' codes (`RowCodes.dimensions`).
    public let dimensions: Int
    /// Row ids in code order.
    public let order: [UInt32]
    private let codes: [UInt8]
    private let scales: [Float]

    /// Bytes of a row's code, as `RowCodes.bytesPerRow`.
    public var bytesPerRow: Int { dimensions / 2 }

    /// The codes of `rows` (every row's, in id order) in the order `order` lists them (ids
    /// past its rows get the code of a mean row): a copy of `bytesPerRow` bytes a row.
    public init(_ rows: RowCodes, order: [UInt32]) {
        let bytes = rows.bytesPerRow
        var codes = [UInt8](repeating: RowCodes.zero, count: order.count * bytes)
        codes.withUnsafeMutableBufferPointer { codes in rows.codes.withUnsafeBufferPointer { source in
            guard let target = codes.baseAddress, let source = source.baseAddress else { return }
            for (i, id) in order.enumerated() where Int(id) < rows.count {
                (target + i * bytes).update(from: source + Int(id) * bytes, count: bytes)
            }
        } }
        (dimensions, self.order, self.codes, self.scales) = (rows.dimensions, order, codes, rows.scales)
    }

    /// The ids of the `keep` best rows of code positions `runs` (ascending, not overlapping;
    /// of those, only the positions in `allowed` if given) for `query` (a head-space prefix of
    /// at least `dimensions` components), in no particular order, and how many rows were
    /// scored; stops at `deadline`, with the best found until then (`partial`).
    public func best(_ query: [Float], runs: [Range<Int>], allowed: RowSet? = nil, keep: Int,
                     deadline: DispatchTime = .distantFuture) -> (ids: [UInt32], scored: Int, partial: Bool) {
        let folded = (0..<dimensions).map { j in j < query.count ? query[j] * scales[j] : 0 }
        let largest = folded.reduce(0) { max($0, abs($1)) }
        let q = folded.map { largest > 0 ? Int8(bitPattern: FloatRounding.nearestByte(max(-127, min(127, $0 / largest * 127)))) : 0 }
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
                        mrl_top_dots_u4_s8(q, codes + start * bytesPerRow, dimensions, count, UInt32(start), &top)
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
/// Four bits a component, of as many components as the walk's rows hold, up to 128: a
/// 128-d code in 64 bytes. Fewer components rank a filter's rows too loosely on some corpora:
/// in a simulation (`tools/bench/ordered_codes.py`: a PCA head, the tuning halves of the
/// filter queries), the worst code rank of the true 10 among the 5,800-6,500 rows a PyPI
/// filter matches was 690-1,090 at the 90th percentile with 64-d codes (in bytes as in 4
/// bits), 260-340 with 96-d and 110-165 with 128-d; on Debian's 10%, 165 with 64-d and 38 with
/// 128-d. The 64-d codes needed 120 rows and more passed on where 128-d ones need twice the
/// beam (see `OrderedCodes.candidates`), which pays for reading twice the bytes: the kernel
/// takes 15 µs from cache and 30 µs from memory for 6,062 rows, against 12 and 20 for 64-d
/// codes (median of 1,500 runs in a C harness). A component is centred on its mean over the
/// rows and divided by 3/7.5 of its standard deviation, so that three deviations reach the
/// codes' ends (-8 and 7; 2.5 and 3.5 deviations ranked alike), and rounded.
public final class RowCodes: @unchecked Sendable {  // immutable after init
    /// The most components a code holds.
    static let widest = 128
    /// Rows whose components' mean and deviation set the scales, at most.
    static let sampledRows = 65_536
    /// A byte of two components at their mean (code 0, offset by 8).
    static let zero: UInt8 = 0x88
    /// Rows coded: the graph's.
    public let count: Int
    /// Components a code holds: the walk's rows', up to `widest`, in whole groups of 64 (those
    /// past the walk's rows' are 0), as the kernel reads them.
    public let dimensions: Int
    /// Bytes of a row's code: two components a byte.
    var bytesPerRow: Int { dimensions / 2 }
    let codes: [UInt8]
    /// Per component: a code step in the unit prefix's units (0 past the walk's rows).
    let scales: [Float]

    public init(vectors: GraphVectors) {
        let dims = min(RowCodes.widest, (max(vectors.dimensions, 1) + 63) / 64 * 64), read = min(dims, vectors.dimensions)
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
        // The mean and deviation of at most `sampledRows` rows spread evenly over the ids: as
        // good for a scale as every row's, read in a tenth of the time on the 601,620 PyPI rows.
        var sums = [Double](repeating: 0, count: dims), squares = sums, sampled = 0
        for id in stride(from: 0, to: rows, by: max(1, (rows + RowCodes.sampledRows - 1) / RowCodes.sampledRows)) {
            unitPrefix(id)
            for j in 0..<dims { (sums[j], squares[j]) = (sums[j] + Double(row[j]), squares[j] + Double(row[j] * row[j])) }
            sampled += 1
        }
        let n = Double(max(sampled, 1))
        let means = sums.map { Float($0 / n) }
        // A component past the walk's rows has scale 0: its codes are all 0 (8, offset), and a
        // query's component there, folded with the scale, counts for nothing (the query is a
        // longer prefix than the walk's rows; at 1 it set the query's largest byte).
        let scales = (0..<dims).map { j -> Float in
            guard j < read else { return 0 }
            let (sum, square) = (sums[j], squares[j])
            let deviation = Float(max(0, square / n - (sum / n) * (sum / n)).squareRoot())
            return deviation > 0 ? deviation * 3 / 7.5 : 1
        }
        let inverse = scales.map { $0 > 0 ? 1 / $0 : 0 }, bytes = dims / 2
        var codes = [UInt8](repeating: RowCodes.zero, count: rows * bytes)
        codes.withUnsafeMutableBufferPointer { codes in
            // Component j's code, offset by 8 into 0...15, clamped first (NaN lands on 15); no
            // checked conversion from float (the codes took 0.35 s for 601,620 rows with one,
            // 0.26 s without).
            func code(_ j: Int) -> UInt8 { FloatRounding.nearestByte(max(-8, min(7, (row[j] - means[j]) * inverse[j])) + 8) }
            for id in 0..<rows {
                unitPrefix(id)
                // Each 64 components in 32 bytes: byte b holds component b, and 32 + b above it.
                for b in 0..<bytes { codes[id * bytes + b] = code(b / 32 * 64 + b % 32) | code(b / 32 * 64 + 32 + b % 32) << 4 }
            }
        }
        self.codes = codes
        (count, dimensions, self.scales) = (rows, dims, scales)
    }
}
