import Foundation
@testable import Search
import XCTest

/// What a filtered search's plan says of its choice.
final class FilterChoiceTests: XCTestCase {
    /// The reason's numbers read as `%.Nf` writes them, without its cost (values a rounding
    /// error away from a half are left out: either way of writing them is as good).
    func testDecimalsAreWrittenAsPrintfWritesThem() {
        var rng = SplitMix64(seed: 9)
        let edges: [Double] = [0, 0.0004, 0.00049, 0.05, 0.95, 0.9999, 1, 9.99, 9.9996, 10, 99.95, 100, 123_456.789]
        let values = edges + (0..<2_000).map { _ in Double(rng.next() % 10_000_000) / Double(1 + rng.next() % 100_000) }
        for value in values {
            for places in [0, 1, 3] {
                let scaled = value * pow(10, Double(places))
                guard abs(scaled - scaled.rounded(.down) - 0.5) > 1e-6 else { continue }
                XCTAssertEqual(FilterChoice.decimal(value, places: places), String(format: "%.\(places)f", value), "\(value), \(places) places")
            }
        }
    }

    /// The reason names the share and both predicted times.
    func testTheChoiceSaysWhy() {
        let choice = FilterChoice.choose(matching: 606, live: 60_605, scanMs: 0.0526, walkMs: 0.9)
        XCTAssertEqual(choice.strategy, .exactScan)
        XCTAssertEqual(choice.why, "606 of 60605 rows match (1.0%): scoring them all is predicted faster than walking for them (0.053 ms against 0.900 ms)")
        XCTAssertEqual(FilterChoice.choose(matching: 6, live: 60_605, scanMs: nil, walkMs: nil).why,
                       "6 of 60605 rows match (0.010%): few enough to score them all (no measured plans to compare)")
    }
}
