import Search
import XCTest

/// The walk's rows made on the fly (the engine's walk rows from vector blocks): stored as the
/// same rows given as one array are, with the rows not given at 0.
final class GraphVectorsTests: XCTestCase {
    func testRowsMadeOnTheFlyAreStoredAsAnArrayOfThemIs() {
        let dims = 16, rows = 50
        let floats = GraphFixture.randomUnitVectors(count: rows, dimensions: dims, seed: 91)
        let given = (0..<rows).filter { $0 % 7 != 3 }  // rows 3, 10, 17, ... are not given (dead)
        var withZeros = floats
        for i in 0..<rows where !given.contains(i) { for j in 0..<dims { withZeros[i * dims + j] = 0 } }
        for encoding in [GraphVectors.Encoding.float32, .int8] {
            let whole = withZeros.withUnsafeBufferPointer { GraphVectors(encoding: encoding, dimensions: dims, floats: $0) }
            var passes = 0
            let made = GraphVectors(encoding: encoding, dimensions: dims, rows: rows) { visit in
                passes += 1
                floats.withUnsafeBufferPointer { f in for i in given.reversed() { visit(i, f.baseAddress! + i * dims) } }
                visit(rows, [Float](repeating: 1, count: dims))  // past the rows: left out
            }
            XCTAssertEqual(passes, encoding == .int8 ? 2 : 1, "int8 reads the rows once for the scales")
            XCTAssertEqual(made.rows, rows)
            XCTAssertEqual(made.scales, whole.scales)
            XCTAssertEqual(Array(made.bytes), Array(whole.bytes), "\(encoding)")
        }
    }
}
