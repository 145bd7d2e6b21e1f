import CBLAS
import Embedding
import Search
import Store

/// Exact full-dimension cosine top-k of several queries in one pass over the vectors: each
/// block's segments are multiplied with all the queries at once (sgemm), so the vectors are
/// read once for the batch instead of once per query. For ground truth (calibration, the
/// recall monitor), where many queries meet one committed state; a single query goes to
/// `ExactSearch`, whose kernels need no batch. Scores agree with `ExactSearch` up to float
/// rounding. Runs on the caller's thread.
enum ExactBatch {
    /// Queries per pass: enough to turn the pass from reading memory into arithmetic, and to
    /// spread sgemm's packing of each block's rows over many queries (in `perf` of a tune on
    /// 120,605 rows, the packing took as long as the arithmetic at 32 queries a pass, 10% of
    /// the tune each; at 256, 1.5%).
    static let width = 256

    /// Blocks scored between calls of `pause`: 8 blocks of 1,024 rows against 256 queries are
    /// 1.6 GFLOP, about what a pass of 32 queries over 64,000 rows was, so a paced caller
    /// yields about as often as before.
    static let blocksBetweenPauses = 8

    /// The k best rows for each of `queries` (the model's raw space, each with a direction),
    /// best first. `pause` is called every `blocksBetweenPauses` blocks (to pace the work; it may throw).
    static func run(queries: [[Float]], k: Int, blocks: [VectorBlock], layout: PrefixLayout,
                    pause: () throws -> Void = {}) rethrows -> [[Hit]] {
        try stride(from: 0, to: queries.count, by: width).flatMap { start in
            try pass(Array(queries[start..<min(start + width, queries.count)]), k: k, blocks: blocks, layout: layout, pause: pause)
        }
    }

    private static func pass(_ queries: [[Float]], k: Int, blocks: [VectorBlock], layout: PrefixLayout,
                             pause: () throws -> Void) rethrows -> [[Hit]] {
        BLASThreads.single
        let count = queries.count, segments = layout.segmentCount
        // Each segment's columns of every unit query, query-major, as sgemm takes them.
        let units = queries.map { q -> [Float] in
            let norm = q.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            return q.map { Float(Double($0) / norm) }
        }
        let columns = (0..<segments).map { s in
            units.flatMap { $0[layout.boundaries[s]..<layout.boundaries[s + 1]] }
        }
        var tops = [TopK](repeating: TopK(k: k), count: count)
        var scores: [Float] = []
        for (b, block) in blocks.enumerated() {
            if b % blocksBetweenPauses == 0 { try pause() }
            let rows = block.rows
            if scores.count < count * rows { scores = [Float](repeating: 0, count: count * rows) }
            scores.withUnsafeMutableBufferPointer { out in
                for s in 0..<segments {
                    let w = Int32(layout.width(s))
                    columns[s].withUnsafeBufferPointer { q in
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(count), Int32(rows), w, 1,
                                    q.baseAddress, w, block.segments[s], w, s == 0 ? 0 : 1, out.baseAddress, Int32(rows))
                    }
                }
            }
            for i in 0..<rows where block.live[i] != 0 {
                let squared = (0..<segments).reduce(Float(0)) { $0 + block.segmentSquaredNorms[$1][i] }
                guard squared > 0 else { continue }
                let inverse = 1 / squared.squareRoot(), id = block.firstID + UInt32(i)
                for q in 0..<count {
                    let score = scores[q * rows + i] * inverse
                    if score > tops[q].threshold { tops[q].offer(Hit(id: id, score: score)) }
                }
            }
        }
        return tops.map { $0.sorted() }
    }
}
