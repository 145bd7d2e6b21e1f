import CKernels
@testable import Search
import XCTest

/// The ordered scan: its kernel of 4-bit rows with the candidates it keeps, and the codes of a
/// field's order that it reads.
final class OrderedCodesTests: XCTestCase {
    /// Every variant keeps exactly the rows whose integer dots are the best (ties aside), with
    /// their exact scores: short runs, runs long enough for the sampled bar (whole, or in
    /// pieces of the scores' room), a run too long for the room without a sample (so the
    /// candidates are compacted as they come), a run whose rows are best exactly where the
    /// sample reads them, so that fewer than keep rows beat its bar and the scores are read
    /// again without it, and each with only some positions allowed (which draws no sample).
    func testKernelVariantsKeepTheBestRowsWithTheirExactScores() {
        var rng = SplitMix64(seed: 71)
        let original = String(cString: mrl_code_scan_isa())
        defer { mrl_code_scan_select(original) }
        var tested: [String] = []
        for isa in ExactSearch.kernelVariants where mrl_code_scan_select(isa) == 1 {
            tested.append(isa)
            for (count, dims, keep, bestAtSample, room) in [(7, 64, 3, false, 7), (100, 128, 10, false, 100), (5_000, 64, 100, false, 5_000),
                                                            (5_000, 64, 100, false, 1_024), (4_001, 128, 25, false, 1_024), (6_000, 64, 50, true, 6_000)] {
                let q = (0..<dims).map { _ in bestAtSample ? Int8.random(in: 1...127, using: &rng) : Int8.random(in: -128...127, using: &rng) }
                // The sample reads every count / (3 × keep)-th row: those rows' codes in 8 levels
                // above every other row's (the query is positive), so the bar, beaten by a few
                // of the sample, is beaten by a few rows of the run.
                let stride = count / (3 * keep)
                let codes: [UInt8] = (0..<count * dims).map { c in
                    let row = c / dims
                    guard bestAtSample else { return UInt8.random(in: 0...15, using: &rng) }
                    return row % stride == 0 && row / stride < 3 * keep ? UInt8(8 + row / stride % 8) : 8
                }
                // Packed as the kernel reads them: per 64 components, byte b holds b and 32 + b.
                let rows: [UInt8] = (0..<count * dims / 2).map { byte in
                    let group = byte / 32, b = byte % 32
                    return codes[group * 64 + b] | codes[group * 64 + 32 + b] << 4
                }
                func dot(_ i: Int) -> Int32 {
                    var sum: Int32 = 0
                    for j in 0..<dims { sum += Int32(codes[i * dims + j]) * Int32(q[j]) }
                    return sum
                }
                let exact = (0..<count).map(dot)
                // Then only the rows of positions with a bit set (one in three) may enter.
                let bits = (0..<(1_000 + count + 63) / 64).map { _ in rng.next() & rng.next() & 0x5555_5555_5555_5555 }
                func isAllowed(_ position: Int) -> Bool { bits[position / 64] >> UInt64(position % 64) & 1 == 1 }
                for allowed in [nil, bits] {
                    var keys = [UInt64](repeating: 0, count: 4 * keep + 4), scratch = [Int32](repeating: 0, count: room)
                    let kept = keys.withUnsafeMutableBufferPointer { k in scratch.withUnsafeMutableBufferPointer { s in
                        (allowed ?? [0]).withUnsafeBufferPointer { words in
                            var top = mrl_top_rows_make(k.baseAddress, k.count, keep, s.baseAddress, s.count,
                                                        allowed == nil ? nil : words.baseAddress)
                            mrl_top_dots_u4_s8(q, rows, dims, count, 1_000, &top)
                            mrl_top_rows_finish(&top)
                            return top.size
                        }
                    } }
                    let (size, scores, positions) = (kept, keys.prefix(kept).map(mrl_top_key_score), keys.prefix(kept).map(mrl_top_key_position))
                    let eligible = (0..<count).filter { allowed == nil || isAllowed(1_000 + $0) }.map { exact[$0] }.sorted(by: >)
                    XCTAssertEqual(size, min(keep, eligible.count), "\(isa) \(count) rows")
                    for (score, position) in zip(scores.prefix(size), positions.prefix(size)) {
                        XCTAssertEqual(score, exact[Int(position) - 1_000], "\(isa): a kept row's score is its exact dot")
                        XCTAssertGreaterThanOrEqual(score, eligible[size - 1], "\(isa): only the best are kept")
                        XCTAssertTrue(allowed == nil || isAllowed(Int(position)), "\(isa): only allowed positions")
                    }
                    XCTAssertEqual(Set(positions.prefix(size)).count, size, "\(isa): no row twice")
                }
            }
        }
        XCTAssertTrue(tested.contains("generic"))
    }

    /// Ranked on the codes, the rows of the given runs (and no others) come back, and the
    /// kept ones hold nearly all of the true best by the cosine of the walk's rows: for walk
    /// rows as wide as the codes and for narrower ones (96 components in 128-d codes), the
    /// query a longer head-space prefix than the rows, as searches give it.
    func testBestRowsOfTheRunsByTheWalkRowsCosine() throws {
        for (walked, coded) in [(32, 64), (64, 64), (256, 128)] {
            let other = GraphFixture.randomUnitVectors(count: 10, dimensions: walked, seed: 74)
            let otherVectors = other.withUnsafeBufferPointer { GraphVectors(encoding: .int8, dimensions: walked, floats: $0) }
            let rowCodes = RowCodes(vectors: otherVectors)
            XCTAssertEqual(rowCodes.dimensions, coded, "whole groups of 64, at most 128, for \(walked)-d rows")
            // Components past the walk's rows count for nothing: a query's (a longer prefix)
            // folds to 0 there, so it cannot set the query's largest byte.
            XCTAssertEqual(rowCodes.scales.prefix(min(walked, coded)).filter { $0 > 0 }.count, min(walked, coded))
            XCTAssertEqual(rowCodes.scales.dropFirst(walked), [Float](repeating: 0, count: max(0, coded - walked))[...])
        }
        let count = 3_000, queryDims = 384
        for dims in [128, 96] {
            let rows = GraphFixture.randomUnitVectors(count: count, dimensions: dims, seed: 72)
            let vectors = rows.withUnsafeBufferPointer { GraphVectors(encoding: .int8, dimensions: dims, floats: $0) }
            var rng = SplitMix64(seed: 73)
            let order = (0..<UInt32(count)).shuffled(using: &rng)
            let codes = OrderedCodes(RowCodes(vectors: vectors), order: order)
            XCTAssertEqual(codes.dimensions, 128, "as many components as the walk's rows, in whole groups of 64")
            XCTAssertEqual(codes.bytesPerRow, 64)
            let runs = [100..<400, 1_000..<2_200]
            let allowed = Set(runs.flatMap { $0.map { order[$0] } })
            var found = 0
            for seed in 0..<10 {
                let query = GraphFixture.row(GraphFixture.randomUnitVectors(count: 1, dimensions: queryDims, seed: 80 + UInt64(seed)), 0, queryDims)
                let ranked = codes.best(query, runs: runs, keep: 100)
                XCTAssertEqual(ranked.ids.count, 100)
                XCTAssertEqual(ranked.scored, 1_500)
                XCTAssertFalse(ranked.partial)
                XCTAssertTrue(ranked.ids.allSatisfy(allowed.contains), "only rows of the runs")
                func cosine(_ id: UInt32) -> Float {
                    zip(rows[Int(id) * dims..<Int(id + 1) * dims], query).reduce(0) { $0 + $1.0 * $1.1 }
                }
                let truth = allowed.sorted { cosine($0) > cosine($1) }.prefix(10)
                found += truth.filter(Set(ranked.ids).contains).count
            }
            XCTAssertGreaterThanOrEqual(found, 97, "\(dims)-d rows: the true 10 best nearly always among the 100 kept")
            XCTAssertTrue(codes.best([Float](repeating: 0.1, count: dims), runs: [], keep: 5).ids.isEmpty, "no runs, no rows")
            XCTAssertTrue(codes.best([Float](repeating: 0.1, count: dims), runs: [2_990..<3_500], keep: 5).ids.isEmpty, "a run past the codes is left out")
        }
    }
}
