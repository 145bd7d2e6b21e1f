import Search
import XCTest

/// Rows held in memory in the store's segmented layout, for testing the scan alone.
private final class MemoryBlock: PrefixBlock {
    let firstID: UInt32
    let rows: Int
    let segments: [UnsafePointer<Float>]
    let segmentSquaredNorms: [UnsafePointer<Float>]
    let live: UnsafePointer<UInt8>
    private var owned: [UnsafeMutableRawPointer] = []

    init(firstID: UInt32, vectors: [[Float]], liveRows: [Bool], layout: PrefixLayout) {
        self.firstID = firstID
        rows = vectors.count
        func allocate<T>(_ values: [T]) -> UnsafePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(values.count, 1))
            p.initialize(from: values, count: values.count)
            return UnsafePointer(p)
        }
        segments = (0..<layout.segmentCount).map { s in
            allocate(vectors.flatMap { $0[layout.boundaries[s]..<layout.boundaries[s + 1]] })
        }
        segmentSquaredNorms = (0..<layout.segmentCount).map { s in
            allocate(vectors.map { v in v[layout.boundaries[s]..<layout.boundaries[s + 1]].reduce(Float(0)) { $0 + $1 * $1 } })
        }
        live = allocate(liveRows.map { $0 ? UInt8(1) : 0 })
        owned = (segments + segmentSquaredNorms).map { UnsafeMutableRawPointer(mutating: $0) } + [UnsafeMutableRawPointer(mutating: live)]
    }

    deinit { owned.forEach { $0.deallocate() } }
}

final class ExactSearchTests: XCTestCase {
    func testLayoutCutsAtMatryoshkaPrefixes() {
        XCTAssertEqual(PrefixLayout(dimensions: 384).boundaries, [0, 32, 64, 128, 256, 384])
        XCTAssertEqual(PrefixLayout(dimensions: 768).boundaries, [0, 32, 64, 128, 256, 512, 768])
        XCTAssertEqual(PrefixLayout(dimensions: 32).boundaries, [0, 32])
        XCTAssertEqual(PrefixLayout(dimensions: 16).boundaries, [0, 16])
        XCTAssertEqual(PrefixLayout(dimensions: 33).boundaries, [0, 32, 33])
    }

    func testTopKKeepsTheBestInOrder() {
        var rng = SplitMix64(seed: 7)
        let hits = (0..<5000).map { Hit(id: UInt32($0), score: Float.random(in: -1...1, using: &rng)) }
        var top = TopK(k: 25)
        hits.forEach { top.offer($0) }
        XCTAssertEqual(top.sorted(), Array(hits.sorted { $0.score > $1.score }.prefix(25)))
    }

    /// Every kernel variant this CPU runs, every kind of prefix (inside the first segment,
    /// on a boundary, ending inside a segment, full) agrees with a plain Swift cosine.
    func testMatchesBruteForceForEveryKernelAndPrefix() throws {
        let dims = 384, layout = PrefixLayout(dimensions: dims)
        var rng = SplitMix64(seed: 42)
        let vectors = (0..<2500).map { _ in (0..<dims).map { _ in Float.random(in: -1...1, using: &rng) } }
        let liveRows = vectors.indices.map { $0 % 7 != 3 }  // some deleted rows
        let blocks: [MemoryBlock] = stride(from: 0, to: vectors.count, by: 1024).map { start in
            let end = min(start + 1024, vectors.count)
            return MemoryBlock(firstID: UInt32(start), vectors: Array(vectors[start..<end]),
                               liveRows: Array(liveRows[start..<end]), layout: layout)
        }
        let query = (0..<dims).map { _ in Float.random(in: -1...1, using: &rng) }
        let original = ExactSearch.kernelISA
        defer { ExactSearch.selectKernels(original) }
        var tested = 0
        for isa in ExactSearch.kernelVariants where ExactSearch.selectKernels(isa) {
            tested += 1
            for d in [1, 17, 32, 48, 64, 100, 128, 256, 300, 384] {
                for threads in [1, 2] {
                    let (hits, cost, _) = ExactSearch.run(query: query, dimensions: d, k: 10, blocks: blocks, layout: layout, threads: threads)
                    let expected = bruteForce(query, vectors, liveRows, d, k: 10)
                    XCTAssertEqual(hits.map(\.id), expected.map(\.id), "\(isa) d=\(d) threads=\(threads)")
                    for (a, b) in zip(hits, expected) { XCTAssertEqual(a.score, b.score, accuracy: 1e-4) }
                    XCTAssertEqual(cost.distanceComputations, liveRows.filter { $0 }.count)
                    XCTAssertEqual(cost.bytesTouched, vectors.count * d * 4, "a prefix scan reads only its prefix")
                }
            }
        }
        XCTAssertGreaterThanOrEqual(tested, 1)
        XCTAssertTrue(ExactSearch.selectKernels("generic"), "the generic kernels run everywhere")
    }

    func testEmptyAndSmallInputs() {
        let layout = PrefixLayout(dimensions: 4)
        let none: [MemoryBlock] = []
        XCTAssertEqual(ExactSearch.run(query: [1, 0, 0, 0], dimensions: 4, k: 3, blocks: none, layout: layout).hits, [])
        let block = MemoryBlock(firstID: 10, vectors: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]], liveRows: [true, true, true], layout: layout)
        let hits: [Hit] = ExactSearch.run(query: [1, 1, 0, 0], dimensions: 4, k: 5, blocks: [block], layout: layout).hits
        XCTAssertEqual(hits.map { $0.id }, [10, 11], "ties break by id; an all-zero row matches nothing")
    }

    /// A filter's rows scored alone equal brute force over the live rows it matches, whether
    /// they are few (runs of rows), many (whole blocks), fewer than k or none; blocks with
    /// none of them are not read.
    func testFilteredScanMatchesBruteForceOverTheMatchingRows() {
        let dims = 384, layout = PrefixLayout(dimensions: dims)
        var rng = SplitMix64(seed: 9)
        let vectors = (0..<3000).map { _ in (0..<dims).map { _ in Float.random(in: -1...1, using: &rng) } }
        let liveRows = vectors.indices.map { $0 % 11 != 5 }
        let blocks: [MemoryBlock] = stride(from: 0, to: vectors.count, by: 1024).map { start in
            let end = min(start + 1024, vectors.count)
            return MemoryBlock(firstID: UInt32(start), vectors: Array(vectors[start..<end]),
                               liveRows: Array(liveRows[start..<end]), layout: layout)
        }
        let query = (0..<dims).map { _ in Float.random(in: -1...1, using: &rng) }
        let filters: [(name: String, rows: [UInt32])] = [
            ("1% scattered", (0..<30).map { _ in UInt32.random(in: 0..<3000, using: &rng) }),
            ("runs", (0..<3000).filter { $0 % 100 < 7 }.map(UInt32.init)),
            ("half, whole blocks", (0..<3000).filter { $0 % 2 == 0 }.map(UInt32.init)),
            ("first block only", (0..<1024).filter { $0 % 3 == 0 }.map(UInt32.init)),
            ("fewer than k", [5, 1030, 2999]),
            ("none", []),
        ]
        for (name, rows) in filters {
            let matching = RowSet(rows, capacity: 3000)
            let matchingLive = liveRows.indices.map { liveRows[$0] && matching.contains(UInt32($0)) }
            for d in [17, 64, 300, 384] {
                for threads in [1, 2] {
                    let (hits, cost, _) = ExactSearch.run(query: query, dimensions: d, k: 10, blocks: blocks, layout: layout,
                                                          matching: matching, threads: threads)
                    let expected = bruteForce(query, vectors, matchingLive, d, k: 10)
                    XCTAssertEqual(hits.map(\.id), expected.map(\.id), "\(name) d=\(d) threads=\(threads)")
                    for (a, b) in zip(hits, expected) { XCTAssertEqual(a.score, b.score, accuracy: 1e-4) }
                    XCTAssertGreaterThanOrEqual(cost.distanceComputations, matchingLive.filter { $0 }.count, name)
                    let blocksRead = blocks.filter { matching.count(in: $0.firstID..<$0.firstID + UInt32($0.rows)) > 0 }
                    XCTAssertLessThanOrEqual(cost.bytesTouched, blocksRead.reduce(0) { $0 + $1.rows } * d * 4, "\(name): blocks without a match are not read")
                }
            }
        }
    }

    func testRowSetCountsAndRunsWithinARange() {
        let set = RowSet([0, 1, 2, 63, 64, 65, 100, 127, 128, 200], capacity: 256)
        XCTAssertEqual(set.count(in: 0..<256), 10)
        XCTAssertEqual(set.count(in: 2..<65), 3)
        XCTAssertEqual(set.count(in: 129..<200), 0)
        XCTAssertEqual(set.count(in: 200..<10_000), 1, "a range past the set is clipped")
        var runs: [Range<UInt32>] = []
        set.forEachRun(in: 1..<201) { runs.append($0) }
        XCTAssertEqual(runs, [1..<3, 63..<66, 100..<101, 127..<129, 200..<201], "runs join across words and stop at the range")
    }

    private func bruteForce(_ q: [Float], _ vectors: [[Float]], _ live: [Bool], _ d: Int, k: Int) -> [Hit] {
        func norm(_ v: ArraySlice<Float>) -> Float { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        let qn = norm(q[0..<d])
        return vectors.indices.filter { live[$0] }.map { i -> Hit in
            let dot = zip(q[0..<d], vectors[i][0..<d]).reduce(0) { $0 + $1.0 * $1.1 }
            return Hit(id: UInt32(i), score: dot / (qn * norm(vectors[i][0..<d])))
        }.sorted { $0.score > $1.score }.prefix(k).map { $0 }
    }
}

