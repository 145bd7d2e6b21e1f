import Embedding
import Search
import XCTest

final class MatryoshkaHeadTests: XCTestCase {
    /// Samples spread along known axes with known variances: PCA must find those axes, in
    /// order of variance, and its rotation must be orthonormal.
    func testPCAFindsTheAxesOfLargestVarianceInOrder() throws {
        let d = 16, count = 4_000
        var rng = SplitMix64(seed: 3)
        func gaussian() -> Float {  // Box–Muller
            let u = Double(rng.next() % 1_000_000 + 1) / 1_000_001, v = Double(rng.next() % 1_000_000) / 1_000_000
            return Float((-2 * log(u)).squareRoot() * cos(2 * .pi * v))
        }
        // Standard deviation 8 along coordinate 5, 4 along coordinate 11, 0.1 elsewhere, plus an offset
        // (PCA centres to find the axes; the head itself does not centre).
        var samples = [Float]()
        for _ in 0..<count {
            samples += (0..<d).map { j in 3 + gaussian() * (j == 5 ? 8 : j == 11 ? 4 : 0.1) }
        }
        let (head, share) = try MatryoshkaHead.fitPCA(samples: samples, count: count, dimensions: d)
        let m = try XCTUnwrap(head.matrix)
        XCTAssertGreaterThan(abs(m[0 * d + 5]), 0.999, "first axis is coordinate 5")
        XCTAssertGreaterThan(abs(m[1 * d + 11]), 0.999, "second axis is coordinate 11")
        XCTAssertEqual(share[0], 64 / (64 + 16 + 14 * 0.01), accuracy: 0.02)
        XCTAssertTrue(zip(share, share.dropFirst()).allSatisfy { $0 >= $1 }, "largest variance first")
        for i in 0..<d {
            for j in 0..<d {
                let dot = (0..<d).reduce(Float(0)) { $0 + m[i * d + $1] * m[j * d + $1] }
                XCTAssertEqual(dot, i == j ? 1 : 0, accuracy: 1e-5, "rows \(i), \(j) orthonormal")
            }
        }
        // A rotation: lengths (and so cosines) are kept, and apply agrees with the matrix.
        let x = Array(samples[0..<d])
        let y = head.apply(x)
        XCTAssertEqual(x.reduce(0) { $0 + $1 * $1 }, y.reduce(0) { $0 + $1 * $1 }, accuracy: 1e-3)
        XCTAssertEqual(y[0], (0..<d).reduce(Float(0)) { $0 + m[$1] * x[$1] }, accuracy: 1e-5)
    }

    func testBadInputIsRefusedWithAClearError() {
        XCTAssertThrowsError(try MatryoshkaHead.fitPCA(samples: [Float](repeating: 1, count: 8 * 4), count: 4, dimensions: 8)) {
            XCTAssertTrue("\($0)".contains("needs at least 8 documents"), "\($0)")
        }
        XCTAssertThrowsError(try MatryoshkaHead(kind: .pca, dimensions: 8, matrix: [1, 2, 3])) {
            XCTAssertTrue("\($0)".contains("expected 64"), "\($0)")
        }
        // An adaptor for 8-d vectors is a matrix and an offset: one fitted for other dims is refused.
        XCTAssertThrowsError(try MatryoshkaHead(kind: .adaptor, dimensions: 8, matrix: [Float](repeating: 0, count: 4 * 4 + 4))) {
            XCTAssertTrue("\($0)".contains("expected 72 for 8-d vectors"), "\($0)")
        }
        let shift = try! MatryoshkaHead(kind: .adaptor, dimensions: 2, matrix: [2, 0, 0, 1, 10, 20])
        XCTAssertEqual(shift.apply([1, 1]), [12, 21], "W x + offset")
        XCTAssertEqual(shift.apply(rows: [1, 1, 0, 2], count: 2), [12, 21, 10, 22])
        XCTAssertEqual(MatryoshkaHead.identity(dimensions: 3).apply([1, 2, 3]), [1, 2, 3])
    }
}
