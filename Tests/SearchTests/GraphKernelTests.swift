import CKernels
import Search
import XCTest

/// The float × int8 kernel and the quantisation around it.
final class GraphKernelTests: XCTestCase {
    /// Every variant this CPU runs agrees with a double-precision sum, for every tail length.
    func testInt8KernelVariantsMatchScalarReference() {
        var rng = SplitMix64(seed: 61)
        let original = GraphVectors.int8KernelISA
        defer { GraphVectors.selectInt8Kernel(original) }
        var tested: [String] = []
        for isa in ExactSearch.kernelVariants where GraphVectors.selectInt8Kernel(isa) {
            XCTAssertEqual(GraphVectors.int8KernelISA, isa)
            tested.append(isa)
            for n in [1, 7, 8, 15, 16, 17, 31, 32, 33, 48, 64, 100, 128, 256, 384] {
                for _ in 0..<20 {
                    let q = (0..<n).map { _ in Float.random(in: -1...1, using: &rng) }
                    let x = (0..<n).map { _ in Int8.random(in: -127...127, using: &rng) }
                    let reference = zip(q, x).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                    let magnitude = zip(q, x).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) }
                    let got = mrl_dot_f32_i8(q, x, n)
                    // Relative to the sum of |terms|: a cancelling sum has no relative accuracy to ask for.
                    XCTAssertLessThanOrEqual(abs(Double(got) - reference), 1e-4 * magnitude, "\(isa) n=\(n)")
                }
            }
        }
        XCTAssertTrue(tested.contains("generic"))
        print("graph int8 kernels tested: \(tested)")
    }

    /// Scores of int8 rows stay within the quantisation step of the float dot product.
    func testInt8ScoresTrackFloatDotProducts() {
        let dims = 64
        let rows = GraphFixture.randomUnitVectors(count: 400, dimensions: dims, seed: 62)
        let (builder, _) = GraphFixture.build(rows, dimensions: dims, encoding: .int8, threads: 1)
        let scales = builder.vectors.scales
        XCTAssertEqual(scales.count, dims)
        XCTAssertEqual(builder.vectors.bytes.count, 400 * dims)
        let query = GraphFixture.row(GraphFixture.randomUnitVectors(count: 1, dimensions: dims, seed: 63), 0, dims)
        // Each component is off by at most half a step, scale_j / 2.
        let bound = zip(query, scales).reduce(Float(0)) { $0 + abs($1.0) * $1.1 / 2 } + 1e-5
        let hits = GraphSearcher().search(query, ef: 400, in: builder.layers, vectors: builder.vectors).hits
        XCTAssertEqual(hits.count, 400)
        for hit in hits {
            let exact = zip(query, GraphFixture.row(rows, Int(hit.id), dims)).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            XCTAssertEqual(hit.score, exact, accuracy: bound, "row \(hit.id)")
        }
        // A row set later is quantised with the same scales, clamped where it overflows them.
        builder.vectors.set(id: 400, to: [Float](repeating: 1, count: dims))
        XCTAssertEqual(builder.vectors.rows, 401)
        XCTAssertEqual(Array(builder.vectors.bytes[(400 * dims)...]).map { Int8(bitPattern: $0) }, [Int8](repeating: 127, count: dims))
    }
}
