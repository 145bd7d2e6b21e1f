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
    public static func run<Block: PrefixBlock>(
        query: [Float], dimensions: Int, k: Int, blocks: [Block], layout: PrefixLayout, threads: Int = 2,
        deadline: DispatchTime = .distantFuture
    ) -> (hits: [Hit], cost: SearchCost, partial: Bool) {
        precondition(dimensions > 0 && dimensions <= layout.dimensions && query.count >= dimensions && k > 0)
        let prefix = normalizedPrefix(query, dimensions)
        let workers = max(1, min(threads, blocks.count))
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
                    scanner.scan(blocks[b])
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

/// One worker's scan state: a scores row reused across blocks, its own top-k.
private struct BlockScanner {
    let prefix: [Float]
    let layout: PrefixLayout
    var top: TopK
    var cost = SearchCost()
    var scores: [Float] = []

    init(prefix: [Float], layout: PrefixLayout, k: Int) {
        self.prefix = prefix
        self.layout = layout
        top = TopK(k: k)
    }

    mutating func scan<Block: PrefixBlock>(_ block: Block) {
        let rows = block.rows, d = prefix.count
        if scores.count < rows { scores = [Float](repeating: 0, count: rows) }
        let used = layout.boundaries.firstIndex { $0 >= d }!  // segments 0..<used cover the prefix
        let widths = (0..<used).map(layout.width)
        scores.withUnsafeMutableBufferPointer { out in
            block.segments.withUnsafeBufferPointer { segments in
                block.segmentSquaredNorms.withUnsafeBufferPointer { norms in
                    widths.withUnsafeBufferPointer { widths in
                        prefix.withUnsafeBufferPointer { q in
                            var described = mrl_prefix_block(
                                segments: segments.baseAddress.map { UnsafePointer(OpaquePointer($0)) },
                                widths: widths.baseAddress, used_segments: used,
                                last_columns: d - layout.boundaries[used - 1],
                                seg_sqnorms: norms.baseAddress.map { UnsafePointer(OpaquePointer($0)) },
                                live: block.live, nrows: rows)
                            mrl_cosine_rows(q.baseAddress, &described, out.baseAddress)
                        }
                    }
                }
            }
        }
        var live = 0
        scores.withUnsafeBufferPointer { scores in
            for i in 0..<rows {
                let score = scores[i]
                guard score > -.infinity else { continue }
                live += 1
                if score > top.threshold { top.offer(Hit(id: block.firstID + UInt32(i), score: score)) }
            }
        }
        cost.distanceComputations += live
        cost.bytesTouched += rows * d * MemoryLayout<Float>.size
    }
}
