import Foundation
import Search
import Store

/// How hybrid searches fuse, as `mrl tune` fitted it on labelled queries, stored with the
/// index (meta `fusion`): what hybrid searches use (a request's `fusion_weight` replacing its
/// weight).
public struct FusionTuning: Sendable, Equatable {
    /// The method and weight of the best MRR@10 on all the queries (see `Index.fuse`).
    public var fusion: Fusion
    /// The labelled queries it was fitted on (those with a text whose relevant document is
    /// in the index).
    public var queries: Int
    /// What each half of the queries (drawn with the tune's seed) fits on its own; the other
    /// half is scored with it, so that every query's held-out score comes from a fusion never
    /// fitted on it.
    public var halves: [Fusion]
    /// MRR@10 over all queries, each scored by the fusion fitted on the other half, and, on
    /// the same rankings, the semantic ranking alone, the lexical one, and plain reciprocal
    /// rank fusion (what an untuned index runs).
    public var heldOut: HeldOut
    /// MRR@10 of each method and weight of the grid on all the queries (what `fusion` was picked by).
    public var byWeight: [Score]
    public var measuredAt: String

    public struct HeldOut: Sendable, Equatable {
        public var fitted, semantic, lexical, equal: Double
    }

    public struct Score: Sendable, Equatable {
        public var fusion: Fusion
        public var mrrAt10: Double
    }
}

extension Index {
    static let fusionKey = "fusion"

    /// The fusions `fitFusion` chooses among: each method at weights 0 (lexical first) to 1
    /// (semantic first) by 0.01. Fine, because with K = 60 the reciprocal ranks are flat: at
    /// w = 0.55 the semantic ranking's first 13 already come before the lexical one's first.
    static let fusionGrid = Fusion.Method.allCases.flatMap { method in (0...100).map { Fusion(method: method, weight: Double($0) / 100) } }

    /// The fusion `mrl tune` stored, if any.
    public func fusionTuning() throws -> FusionTuning? {
        try store.read { try $0.meta(Index.fusionKey, as: FusionTuning.self) }
    }

    /// The positions in `queries` a fusion is fitted on: a text, and a relevant document in the
    /// index. `invalidRequest` when fewer than 2 are: `mrl tune` asks before it measures any
    /// plan, so that a fit that cannot run leaves the index as it was.
    public func fusionQueries(_ queries: [KnownItemQuery]) throws -> [Int] {
        let present = try store.read { snapshot in try queries.map { try isPresent($0, in: snapshot, chunked: true) } }
        let usable = queries.indices.filter { queries[$0].query != nil && present[$0] }
        guard usable.count >= 2 else {
            throw EngineError.invalidRequest(field: "queries", message: "a fusion weight is fitted on labelled text queries whose relevant document is in the index: \(usable.count) of the \(queries.count) are, it takes 2")
        }
        return usable
    }

    /// Fits how hybrid searches fuse on `queries` (known items with texts; `vectors` their raw
    /// vectors, in order) and stores it with the index: each query's two rankings are computed
    /// once, as a hybrid search of k = 10 computes them (the semantic one by the index's default
    /// plan), and fused by each method at every weight of the grid; the best MRR@10 wins, ties
    /// going to reciprocal rank fusion, then to the weight nearest equal weights. Two halves
    /// drawn with `seed` are fitted alone too, each scoring the other, for the held-out MRR.
    /// Queries without a text or whose relevant documents are not in the index are left out.
    /// Throws `invalidRequest` (field `queries`) when fewer than two are left, and the
    /// search's errors (an index without a lexical index: field `mode`).
    public func fitFusion(_ queries: [KnownItemQuery], vectors: [[Float]], seed: UInt64 = 1) throws -> FusionTuning {
        let grid = Index.fusionGrid
        let usable = try fusionQueries(queries)
        // Each query's reciprocal rank by each fusion of the grid, then in its semantic and its
        // lexical ranking alone (at weights 1 and 0 the other ranking's hits follow; not here).
        let scores: [[Double]] = try usable.map { i in
            var request = SearchRequest(query: queries[i].query, k: 10, includeText: true)
            (request.mode, request.embedded) = (.hybrid, vectors[i])
            let relevant = Set(queries[i].relevantIDs)
            func reciprocalRank(_ hits: some Collection<SearchHit>) -> Double {
                hits.prefix(10).firstIndex { relevant.contains($0.id) || Index.parent(of: $0).map(relevant.contains) == true }
                    .map { 1 / Double(hits.distance(from: hits.startIndex, to: $0) + 1) } ?? 0
            }
            return try hybridRankings(request) { semantic, lexical, _ in
                grid.map { reciprocalRank(Index.fuse(semantic: semantic.hits, lexical: lexical, fusion: $0, k: 10)) }
                    + [reciprocalRank(semantic.hits), reciprocalRank(lexical)]
            }
        }
        func mrr(_ column: Int, _ among: [Int]) -> Double { among.reduce(0) { $0 + scores[$1][column] } / Double(max(among.count, 1)) }
        func best(_ among: [Int]) -> Int {
            func preference(_ i: Int) -> (Double, Int, Double) {
                (mrr(i, among), grid[i].method == .reciprocalRank ? 1 : 0, -abs(grid[i].weight - Index.equalFusionWeight))
            }
            return grid.indices.max { preference($0) < preference($1) } ?? 0
        }
        let all = Array(scores.indices)
        let (first, second) = Index.heldOutSplit(all, seed: seed)
        let (firstFit, secondFit) = (best(first), best(second))
        let fitted = (first.reduce(0) { $0 + scores[$1][secondFit] } + second.reduce(0) { $0 + scores[$1][firstFit] }) / Double(all.count)
        let equal = grid.firstIndex(of: Index.equalFusion) ?? 0
        let tuning = FusionTuning(
            fusion: grid[best(all)], queries: all.count, halves: [grid[firstFit], grid[secondFit]],
            heldOut: .init(fitted: fitted, semantic: mrr(grid.count, all), lexical: mrr(grid.count + 1, all), equal: mrr(equal, all)),
            byWeight: grid.indices.map { .init(fusion: grid[$0], mrrAt10: mrr($0, all)) },
            measuredAt: ISO8601DateFormatter().string(from: Date()))
        try store.putMeta(Index.fusionKey, tuning)
        return tuning
    }

    /// Whether the index holds `query`'s relevant documents (any of them); with `chunked`, a
    /// document chunked on the way in (`ID#0`, `ID#1`, ...) counts through its first chunk.
    func isPresent(_ query: KnownItemQuery, in snapshot: Snapshot, chunked: Bool) throws -> Bool {
        try query.relevantIDs.contains { id in
            try snapshot.internalID(of: id) != nil || (chunked && snapshot.internalID(of: id + "#0") != nil)
        }
    }

    /// The document (or file) a chunk hit is of: its meta's `parent`, or `path` for a folder's
    /// chunk; nil for a hit without them or without its meta.
    static func parent(of hit: SearchHit) -> String? {
        let meta = hit.meta.flatMap { try? JSON.parse($0) }
        return meta?["parent"]?.string ?? meta?["path"]?.string
    }
}

extension FusionTuning: JSONRepresentable {
    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: FusionTuning.self)
        fusion = try fields["fusion"]
        queries = try fields["queries"]
        halves = try fields["halves"]
        heldOut = try fields["held_out_mrr_at_10"]
        byWeight = try fields["mrr_at_10_by_weight"]
        measuredAt = try fields["measured_at"]
    }

    /// As stored, and as `mrl tune --json` and `mrl info --json` show it.
    public var json: JSON {
        ["fusion": fusion.json, "queries": JSON(queries), "halves": halves.json,
         "held_out_mrr_at_10": heldOut.json, "mrr_at_10_by_weight": byWeight.json, "measured_at": .string(measuredAt)]
    }

    /// One line for people: the fusion, and what it and the alternatives score on held-out queries.
    public var summary: String {
        String(format: "%@ (fitted by `mrl tune` on %d queries); held out, MRR@10: hybrid %.3f as fitted, %.3f by plain reciprocal rank, semantic %.3f, lexical %.3f",
               fusion.description, queries, heldOut.fitted, heldOut.equal, heldOut.semantic, heldOut.lexical)
    }
}

extension Fusion: JSONRepresentable {
    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: Fusion.self)
        self.init(method: try fields["method"], weight: try fields["weight"])
    }
}

extension FusionTuning.HeldOut: JSONRepresentable {
    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: FusionTuning.HeldOut.self)
        fitted = try fields["hybrid_fitted"]
        semantic = try fields["semantic"]
        lexical = try fields["lexical"]
        equal = try fields["hybrid_equal"]
    }

    public var json: JSON {
        ["hybrid_fitted": .number(fitted), "hybrid_equal": .number(equal), "semantic": .number(semantic), "lexical": .number(lexical)]
    }
}

extension FusionTuning.Score: JSONRepresentable {
    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: FusionTuning.Score.self)
        fusion = Fusion(method: try fields["method"], weight: try fields["weight"])
        mrrAt10 = try fields["mrr_at_10"]
    }

    public var json: JSON { ["method": .string(fusion.method.rawValue), "weight": .number(fusion.weight), "mrr_at_10": .number(mrrAt10)] }
}

extension Fusion.Method: JSONRepresentable {
    public init(json: JSON) throws(JSONDecodingError) {
        let name = try String(json: json)
        guard let method = Fusion.Method(rawValue: name) else {
            throw JSONDecodingError(record: "Fusion.Method", problem: "expected reciprocal_rank or relative_score, got \(name)")
        }
        self = method
    }

    public var json: JSON { .string(rawValue) }
}
