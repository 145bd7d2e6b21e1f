import Search
import XCTest

/// The set operations filters combine with, on sets of different capacities.
final class RowSetTests: XCTestCase {
    func testUnionIntersectionAndDifferenceMatchSetsOfRows() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<200 {
            let a = Set((0..<Int(rng.next() % 50)).map { _ in UInt32(rng.next() % 300) })
            let b = Set((0..<Int(rng.next() % 50)).map { _ in UInt32(rng.next() % 700) })
            let setA = RowSet(a, capacity: 300), setB = RowSet(b, capacity: 700)
            var union = setA, intersection = setA
            union.formUnion(setB)
            intersection.formIntersection(setB)
            for (result, expected) in [(union, a.union(b)), (intersection, a.intersection(b)), (setA.subtracting(setB), a.subtracting(b)),
                                       (setB.subtracting(setA), b.subtracting(a))] {
                var rows: [UInt32] = []
                result.forEach { rows.append($0) }
                XCTAssertEqual(rows, expected.sorted())
                XCTAssertEqual(result.count, expected.count)
            }
        }
    }

    /// A value's rows added at once: repeats counted once, rows past the capacity left out.
    func testRowsAddedAtOnceAreCountedOnceAndKeptWithinCapacity() {
        var rng = SplitMix64(seed: 8)
        for _ in 0..<100 {
            let rows = (0..<Int(rng.next() % 200)).map { _ in UInt32(rng.next() % 400) }
            var set = RowSet([5, 6], capacity: 300)
            set.insert(contentsOf: rows[...])
            let expected = Set(rows.filter { $0 < UInt32(set.capacity) }).union([5, 6])
            var listed: [UInt32] = []
            set.forEach { listed.append($0) }
            XCTAssertEqual(listed, expected.sorted())
            XCTAssertEqual(set.count, expected.count)
        }
    }
}

