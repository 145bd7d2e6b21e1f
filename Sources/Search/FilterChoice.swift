import Foundation
import JSONValue

/// How a search with a filter runs, chosen from how many rows the filter matches (see
/// `choose`), and why; the answer's plan shows it as `filter`.
public struct FilterChoice: Equatable, Hashable, Sendable {
    public enum Strategy: String, Sendable, CaseIterable {
        /// Every matching row scored: exact, and cheap when they are few.
        case exactScan = "exact_scan"
        /// The plan's walk, through every row but keeping only matching ones.
        case graphWalk = "graph_walk"
        /// The unfiltered plan for more hits, the matching ones kept.
        case postFilter = "post_filter"
    }

    public var strategy: Strategy
    /// Live rows the filter matches.
    public var matching: Int
    public var why: String

    public init(strategy: Strategy, matching: Int, why: String) {
        self.strategy = strategy
        self.matching = matching
        self.why = why
    }
}

extension FilterChoice: JSONRepresentable {
    public var json: JSON { ["strategy": .string(strategy.rawValue), "matching": JSON(matching), "why": .string(why)] }

    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: FilterChoice.self)
        let name: String = try fields["strategy"]
        guard let strategy = Strategy(rawValue: name) else {
            throw JSONDecodingError(record: "FilterChoice", field: "strategy", problem: "expected one of \(Strategy.allCases.map(\.rawValue)), got \"\(name)\"")
        }
        self.init(strategy: strategy, matching: try fields["matching"], why: try fields["why"])
    }
}

extension FilterChoice {
    /// From this share of the live rows on, a filter is served by the unfiltered plan asked for
    /// more hits: nearly every hit matches, and the plan runs as it was measured.
    public static let postFilterShare = 0.9
    /// Without measurements to compare, a filter matching less than this share of the live
    /// rows is scanned, a larger one walked: about where the measured costs cross on the Debian
    /// reference vectors (above 10%).
    public static let unmeasuredScanShare = 0.1
    /// A filtered walk's time is the unfiltered one's ÷ share^exponent. To collect ef matching
    /// rows a walk passes about ef ÷ share rows, but its upper levels and first steps cost the
    /// same at any share: on the Debian reference vectors (ef 32) it took 3.5x, 34x and 250x the
    /// unfiltered walk's time at 10%, 1% and 0.1%, and recall@10 stayed 0.99-1.0 (the beam
    /// needs no widening: it already walks on until ef matching rows are in it).
    public static let walkCostExponent = 0.8
    /// A matching row scanned among rows that do not match costs this many rows of the full
    /// scan (which is timed on 2 threads, reading every row in sequence): 0.45-0.6 µs against
    /// 0.23 µs on the Debian reference vectors at 1% and 10%.
    public static let scatteredRowCost = 2.5

    /// A matching row scored by the scan at the walk's prefix costs this share of one of the
    /// measured walk's distance computations (the rows come in id order, asked for ahead, and
    /// no candidate heap is kept): 0.064 µs against 0.16 µs on the Debian reference vectors.
    public static let scannedRowCost = 0.4

    /// A matching row read in a field's order (`OrderedCodes`, one code of 64 bytes in
    /// sequence) costs this share of one of the measured walk's distance computations: 2.5-5 ns
    /// (15-30 µs for 6,062 rows, from cache or memory) against about 120 ns on the Debian
    /// reference vectors at 10%; the upper end, as for the 32-byte codes before.
    public static let orderedRowCost = 0.04

    /// The time of scanning a filter's share of the rows, from that of scanning them all.
    public static func predictedScanMs(_ scanMs: Double, share: Double) -> Double { scanMs * share * scatteredRowCost }

    /// The time of a filtered walk, from that of the unfiltered one.
    public static func predictedWalkMs(_ walkMs: Double, share: Double) -> Double { walkMs / pow(share, walkCostExponent) }

    /// A filter no row passes: the scan of its rows reads nothing.
    public static let noMatch = FilterChoice(strategy: .exactScan, matching: 0, why: "no row matches the filter")

    /// How many hits the post-filter asks the unfiltered plan for, so that k of them match a
    /// filter of `share` with room for chance.
    public static func postFilterK(_ k: Int, share: Double) -> Int {
        Int((Double(k) * 1.25 / max(share, postFilterShare)).rounded(.up))
    }

    /// The strategy for a filter matching `matching` of `live` rows, predicted to take `scanMs`
    /// scanning them and `walkMs` walking for them (nil: not measured): the cheaper, or the
    /// post-filter when nearly every row matches.
    public static func choose(matching: Int, live: Int, scanMs: Double?, walkMs: Double?) -> FilterChoice {
        let share = Double(matching) / Double(max(live, 1))
        let percent = decimal(share * 100, places: share < 0.001 ? 3 : 1) + "%"
        func choice(_ strategy: Strategy, _ why: String) -> FilterChoice {
            FilterChoice(strategy: strategy, matching: matching, why: "\(matching) of \(live) rows match (\(percent)): \(why)")
        }
        guard matching > 0 else { return .noMatch }
        if share >= postFilterShare {
            return choice(.postFilter, "nearly all, so the unfiltered plan asks for more hits and keeps the matching ones")
        }
        guard let walk = walkMs, let scan = scanMs else {
            return share < unmeasuredScanShare
                ? choice(.exactScan, "few enough to score them all (no measured plans to compare)")
                : choice(.graphWalk, "too many to score them all (no measured plans to compare)")
        }
        let times = "\(decimal(min(scan, walk), places: 3)) ms against \(decimal(max(scan, walk), places: 3)) ms"
        return scan <= walk
            ? choice(.exactScan, "scoring them all is predicted faster than walking for them (\(times))")
            : choice(.graphWalk, "walking for them is predicted faster than scoring them all (\(times))")
    }

    /// `value` (finite, not negative) with `places` decimals, as `%.Nf` writes it (but for a
    /// value within rounding of a half, which may round the other way): every search
    /// with a filter says why it chose its strategy, and `String(format:)` took about 20 µs of
    /// such a search.
    static func decimal(_ value: Double, places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = (value * scale).rounded(.toNearestOrEven)
        guard scaled.isFinite, scaled >= 0, scaled < 1e15 else { return "\(value)" }
        let units = Int(scaled), divisor = Int(scale)
        let fraction = String(units % divisor)
        return places == 0 ? String(units) : "\(units / divisor).\(String(repeating: "0", count: places - fraction.count))\(fraction)"
    }
}
