import CKernels
import Dispatch

/// What a search spent: the units a budget is made of.
public struct SearchCost: Equatable, Sendable {
    /// Vector–query similarity computations.
    public var distanceComputations = 0
    /// Bytes of vector data read.
    public var bytesTouched = 0
    public init() {}
}

/// Exact cosine top-k over the first `dimensions` coordinates: the ground truth every
/// approximate search is checked against.
///
/// ```swift
/// let (hits, cost, _) = ExactSearch.run(query: q, dimensions: 64, k: 10, blocks: blocks, layout: layout)
/// ```
/// Both the query prefix and each row's prefix are renormalized, so the score is the
/// cosine of the two truncated vectors. Only the segments below `dimensions` are read.
public enum ExactSearch {
    /// The instruction set the distance kernels run on, for `mrl info` and benchmarks.
    public static var kernelISA: String { String(cString: mrl_scan_kernels_isa()) }

    /// The kernel variants, best first; this CPU runs those `selectKernels` accepts.
    public static let kernelVariants = ["avx512f", "avx2+fma", "generic"]

    /// Switches the distance kernels to `isa` if this CPU runs it (for tests and benchmarks
    /// that compare variants); returns false and changes nothing otherwise.
    @discardableResult
    public static func selectKernels(_ isa: String) -> Bool { mrl_scan_kernels_select(isa) == 1 }

    /// - Precondition: `query.count >= dimensions`, `0 < dimensions <= layout.dimensions`, `k > 0`,
    ///   and the query prefix has a nonzero norm (callers validate user input first).
    ///
    /// Past `deadline` (checked before each block) the scan stops and answers the best hits
    /// of the blocks it read, with `partial` set.
    ///
    /// With `matching`, only its rows are scored (a filter's): a block with none of them is
    /// not read, a block with few is read a run of consecutive matching rows at a time.
    public static func run<Block: PrefixBlock>(
        query: [Float], dimensions: Int, k: Int, blocks: [Block], layout: PrefixLayout, matching: RowSet? = nil,
        threads: Int = 2, deadline: DispatchTime = .distantFuture
    ) -> (hits: [Hit], cost: SearchCost, partial: Bool) {
        precondition(dimensions > 0 && dimensions <= layout.dimensions && query.count >= dimensions && k > 0)
        let prefix = normalizedPrefix(query, dimensions)
        // A filter's few rows take less time than waking a second thread.
        let workers = max(1, min(threads, blocks.count, matching.map { $0.count / ExactSearch.rowsPerWorker } ?? threads))
        var results = [(top: TopK, cost: SearchCost, partial: Bool)](repeating: (TopK(k: k), SearchCost(), false), count: workers)
        results.withUnsafeMutableBufferPointer { results in
            // Each worker owns one slot of `results` and reads a strided share of the
            // blocks; the blocks are read-only for the whole call, so sharing them is safe.
            nonisolated(unsafe) let slots = results
            nonisolated(unsafe) let blocks = blocks
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var scanner = BlockScanner(prefix: prefix, layout: layout, k: k)
                var cut = false
                for b in stride(from: worker, to: blocks.count, by: workers) {
                    if deadline != .distantFuture, DispatchTime.now() > deadline {
                        cut = true
                        break
                    }
                    if let matching {
                        scanner.scan(blocks[b], matching: matching)
                    } else {
                        scanner.scan(blocks[b])
                    }
                }
                slots[worker] = (scanner.top, scanner.cost, cut)
            }
        }
        var top = results[0].top
        var cost = results[0].cost
        for other in results.dropFirst() {
            top.merge(other.top)
            cost.distanceComputations += other.cost.distanceComputations
            cost.bytesTouched += other.cost.bytesTouched
        }
        return (top.sorted(), cost, results.contains { $0.partial })
    }

    /// The fewest matching rows worth a thread of their own.
    static let rowsPerWorker = 2_048

    /// The first `dimensions` coordinates scaled to unit length. The norm is taken in Double,
    /// where the squares of floats neither underflow nor overflow, so any prefix that is not
    /// all zeros has one (callers check that first).
    static func normalizedPrefix(_ query: [Float], _ dimensions: Int) -> [Float] {
        let prefix = query[0..<dimensions]
        let norm = prefix.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        precondition(norm > 0, "query prefix is all zeros")
        return prefix.map { Float(Double($0) / norm) }
    }
}

/// One worker's scan state: a scores row and the kernel's pointer tables reused across
/// blocks (a filter's scan calls the kernel once per run of rows), its own top-k.
private struct BlockScanner {
    let prefix: [Float]
    let layout: PrefixLayout
    var top: TopK
    var cost = SearchCost()
    var scores: [Float] = []
    /// Segments 0..<used cover the prefix, of these widths.
    let used: Int, widths: [Int]
    /// Where the rows scored next start, per segment: their floats and their squared norms.
    var segmentStarts: [UnsafePointer<Float>?], normStarts: [UnsafePointer<Float>?]
    /// A sparse block's runs of matching rows.
    var runs: [Range<Int>] = []

    init(prefix: [Float], layout: PrefixLayout, k: Int) {
        self.prefix = prefix
        self.layout = layout
        top = TopK(k: k)
        used = layout.boundaries.firstIndex { $0 >= prefix.count }!  // the prefix is at most the layout's dimensions
        widths = (0..<used).map(layout.width)
        segmentStarts = Array(repeating: nil, count: used)
        normStarts = Array(repeating: nil, count: used)
    }

    mutating func scan<Block: PrefixBlock>(_ stored: Block) {
        let block = BlockPointers(stored)
        score(block, rows: 0..<block.rows)
        offer(block, rows: 0..<block.rows) { _ in true }
    }

    /// Scores only the rows of `block` in `matching`: the whole block at once when they are
    /// many (one sequential pass beats many short ones), else each run of them.
    mutating func scan<Block: PrefixBlock>(_ stored: Block, matching: RowSet) {
        let block = BlockPointers(stored)
        let ids = block.firstID..<block.firstID + UInt32(block.rows)
        let count = matching.count(in: ids)
        guard count > 0 else { return }
        if count * BlockScanner.wholeBlockShare >= block.rows {
            score(block, rows: 0..<block.rows)
            offer(block, rows: 0..<block.rows) { matching.contains($0) }
            return
        }
        runs.removeAll(keepingCapacity: true)
        matching.forEachRun(in: ids) { run in runs.append(Int(run.lowerBound - block.firstID)..<Int(run.upperBound - block.firstID)) }
        // Scattered rows are latency, not bandwidth: each run is asked for a few runs before
        // it is scored, so their reads overlap (1 µs a row without, on Debian's 384-d rows).
        let ahead = 4
        for run in runs.prefix(ahead) { prefetch(block, rows: run) }
        for (r, rows) in runs.enumerated() {
            if r + ahead < runs.count { prefetch(block, rows: runs[r + ahead]) }
            score(block, rows: rows)
            offer(block, rows: rows) { _ in true }
        }
    }

    /// Asks for the prefix of `rows` of `block` and their norms.
    private func prefetch(_ block: BlockPointers, rows: Range<Int>) {
        for s in 0..<used {
            let start = UnsafeRawPointer(block.segments[s] + rows.lowerBound * widths[s])
            for line in stride(from: 0, to: rows.count * widths[s] * MemoryLayout<Float>.size, by: 64) { mrl_prefetch(start + line) }
            mrl_prefetch(block.norms[s] + rows.lowerBound)
        }
    }

    /// A block whose matching rows are at least 1 in this many is scanned whole.
    static let wholeBlockShare = 4

    /// Cosines of `rows` of `block` into `scores[0..<rows.count]`, by the per-ISA kernel
    /// reading them in place.
    private mutating func score(_ block: BlockPointers, rows: Range<Int>) {
        let d = prefix.count, used = used
        if scores.count < rows.count { scores = [Float](repeating: 0, count: block.rows) }
        for s in 0..<used {
            segmentStarts[s] = block.segments[s] + rows.lowerBound * widths[s]
            normStarts[s] = block.norms[s] + rows.lowerBound
        }
        scores.withUnsafeMutableBufferPointer { out in
            segmentStarts.withUnsafeBufferPointer { segments in
                normStarts.withUnsafeBufferPointer { norms in
                    widths.withUnsafeBufferPointer { widths in
                        prefix.withUnsafeBufferPointer { q in
                            var described = mrl_prefix_block(
                                segments: segments.baseAddress, widths: widths.baseAddress, used_segments: used,
                                last_columns: d - layout.boundaries[used - 1], seg_sqnorms: norms.baseAddress,
                                live: block.live + rows.lowerBound, nrows: rows.count)
                            mrl_cosine_rows(q.baseAddress, &described, out.baseAddress)
                        }
                    }
                }
            }
        }
        cost.bytesTouched += rows.count * d * MemoryLayout<Float>.size
    }

    /// Offers the scored `rows` of `block` that are live and `accepted` to the top k.
    private mutating func offer(_ block: BlockPointers, rows: Range<Int>, accepted: (UInt32) -> Bool) {
        var live = 0
        scores.withUnsafeBufferPointer { scores in
            for i in rows {
                let score = scores[i - rows.lowerBound], id = block.firstID + UInt32(i)
                guard score > -.infinity else { continue }
                live += 1
                if score > top.threshold, accepted(id) { top.offer(Hit(id: id, score: score)) }
            }
        }
        cost.distanceComputations += live
    }
}

/// A block's pointers, read once through its protocol: a filter's scan uses them once per run
/// of rows, and each read through a generic `PrefixBlock` costs a call and a retained array.
private struct BlockPointers {
    let firstID: UInt32, rows: Int
    let segments: [UnsafePointer<Float>], norms: [UnsafePointer<Float>]
    let live: UnsafePointer<UInt8>

    init<Block: PrefixBlock>(_ block: Block) {
        (firstID, rows, live) = (block.firstID, block.rows, block.live)
        (segments, norms) = (block.segments, block.segmentSquaredNorms)
    }
}
