import Foundation
import Search
import Store

/// How a search ranks: by the embedding (`semantic`), by BM25 over the lexical index
/// (`lexical`), or both, fused (`hybrid`).
public enum SearchMode: String, Sendable, CaseIterable {
    case semantic, lexical, hybrid
}

/// How a hybrid search fuses its two rankings (see `Index.fuse`): by each hit's rank in them or
/// by its scores, the semantic ranking weighted by `weight` (0...1), the lexical one by 1 − it.
public struct Fusion: Sendable, Equatable {
    public enum Method: String, Sendable, CaseIterable {
        case reciprocalRank = "reciprocal_rank", relativeScore = "relative_score"
    }

    public var method: Method
    public var weight: Double

    public init(method: Method, weight: Double) {
        self.method = method
        self.weight = weight
    }

    /// As answers and `mrl tune` show it.
    public var json: JSON { ["method": .string(method.rawValue), "weight": .number(weight)] }

    public var description: String {
        String(format: "%@, semantic weight %.2f", method == .reciprocalRank ? "reciprocal rank" : "relative score", weight)
    }
}

extension Index {
    /// Reciprocal rank fusion's constant: a hit's fused score is the weighted sum over the
    /// rankings that hold it of 1 / (fusionK + rank), rank from 1 (see `fuse`).
    static let fusionK = 60.0
    /// Each ranking a hybrid search fuses is at least this deep, so a hit near the top of one
    /// list and just below k in the other still counts twice.
    static let fusionDepth = 50
    /// The semantic ranking's weight in a hybrid search of an index `mrl tune` has not fitted
    /// one for: both rankings count alike (plain reciprocal rank fusion).
    public static let equalFusionWeight = 0.5

    /// How a hybrid search of an index `mrl tune` has not fitted a fusion for fuses.
    public static let equalFusion = Fusion(method: .reciprocalRank, weight: equalFusionWeight)

    /// A lexical or hybrid search (`search` sends them here, after validation and grouping).
    func searchByMode(_ request: SearchRequest) throws -> SearchResult {
        let text = request.query ?? ""  // validated: lexical and hybrid requests have one
        guard request.mode == .hybrid else {
            return try store.read { snapshot in
                let start = DispatchTime.now()
                let rows = try request.filter.map { try matchingRows($0, in: snapshot) }
                let (hits, cost, partial) = try lexicalHits(text, k: request.k, rows: rows, request: request, snapshot: snapshot,
                                                            deadline: request.deadline(from: start))
                return SearchResult(hits: hits, plan: .lexical, partial: partial, predictedMs: nil, predictedRecall: nil,
                                    tookMs: Index.milliseconds(since: start), distanceComputations: 0, bytesTouched: 0,
                                    mode: .lexical, lexicalCost: cost)
            }
        }
        return try hybridRankings(request) { semantic, lexical, stored in
            var result = semantic
            var fusion = stored ?? Index.equalFusion
            if let weight = request.fusionWeight { fusion.weight = weight }
            result.hits = Index.fuse(semantic: semantic.hits, lexical: lexical, fusion: fusion, k: request.k)
            result.fusion = fusion
            return result
        }
    }

    /// Both rankings of a hybrid `request`, each `fusionDepth` deep (or k, if deeper), from
    /// one snapshot, handed to `fuse` with the fusion `mrl tune` stored (nil: none): the
    /// semantic stage's result (its plan, cost and time; the lexical stage's time, cost and
    /// partialness added) and the lexical hits.
    func hybridRankings<T>(_ request: SearchRequest,
                           fuse: (_ semantic: SearchResult, _ lexical: [SearchHit], _ stored: Fusion?) throws -> T) throws -> T {
        let depth = min(max(request.k, Index.fusionDepth), SearchRequest.maxK)
        var semanticRequest = request
        semanticRequest.mode = .semantic
        semanticRequest.k = depth
        semanticRequest.fusionWeight = nil
        if let embedded = request.embedded {
            (semanticRequest.query, semanticRequest.vector) = (nil, embedded)
        }
        let vector = try rawVector(of: semanticRequest)
        // Both rankings from one snapshot, so a write between them cannot mix two states, and
        // both among the rows of the filter, evaluated once.
        return try store.read { snapshot in
            if request.ef == nil, request.dims == nil, request.preset == nil, request.budgetMs == nil {
                semanticRequest.ef = try fusionDepthBeam(depth: depth, in: snapshot)
            }
            let rows = try request.filter.map { try matchingRows($0, in: snapshot) }
            let deadline = request.deadline(from: DispatchTime.now())  // one for both stages
            var result = try semanticSearch(semanticRequest, vector: vector, matching: rows, strategy: nil, in: snapshot)
            let start = DispatchTime.now()
            let (hits, cost, partial) = try lexicalHits(request.query ?? "", k: depth, rows: rows, request: request,
                                                        snapshot: snapshot, deadline: deadline)
            result.partial = result.partial || partial
            result.tookMs += Index.milliseconds(since: start)
            result.lexicalCost = cost
            result.mode = .hybrid
            return try fuse(result, hits, try storedFusion(in: snapshot))
        }
    }

    /// The fusion `mrl tune` stored (nil: none), read once per committed state: every hybrid
    /// search asks, and its record also holds the MRR of each of the 202 fusions tried.
    private func storedFusion(in snapshot: Snapshot) throws -> Fusion? {
        let version = snapshot.version
        if let cached = fusionCache.withLock({ $0 }), cached.version == version { return cached.fusion }
        let fusion = try snapshot.meta(Index.fusionKey, as: FusionTuning.self)?.fusion
        fusionCache.withLock { $0 = (version, fusion) }
        return fusion
    }

    /// The beam the semantic stage of a hybrid search walks with when the request names no
    /// plan: the default plan's, widened by depth / k of its calibration, so that it keeps its
    /// recall at the depth the fusion reads rather than at k (the plan adapted to 50 hits kept
    /// a beam of 50, and on PyPI names hybrid lost 0.008 MRR@10 to an exact semantic stage).
    /// Nil without a graph or a cost model, or when the default plan is an exact scan.
    private func fusionDepthBeam(depth: Int, in snapshot: Snapshot) throws -> Int? {
        let (record, _) = try currentHead(in: snapshot)
        guard let graph = try loadedGraph(in: snapshot, head: record), let planner = try planner(in: snapshot, graph: graph) else { return nil }
        let calibrated = planner.model.k
        guard let ef = planner.plan(budgetMs: nil, k: calibrated).plan.ef, calibrated > 0, depth > calibrated else { return nil }
        return min(ef * depth / calibrated, SearchRequest.maxK)
    }

    /// Fuses a semantic and a lexical ranking (each best first) by `fusion`'s method and
    /// weight w, into the `k` hits of the highest score, a ranking that lacks a hit adding
    /// nothing for it:
    /// - reciprocal rank: 2w / (K + semantic rank) + 2(1 − w) / (K + lexical rank), plain RRF at
    ///   w = 0.5;
    /// - relative score: w × the semantic score + (1 − w) × the BM25 score, each min-max scaled
    ///   over its ranking to 0...1 (1 for a ranking whose scores are all equal), so that how far
    ///   ahead a hit is counts, not only its place.
    /// At w = 1 the semantic ranking's order, at 0 the lexical one's: equal scores are ordered
    /// by the weighted reciprocal rank, then the equal-weight one (so the hits only the other
    /// ranking has follow in its order), then by id. Each hit keeps what its first ranking
    /// returned of it, its score the fused one.
    static func fuse(semantic: [SearchHit], lexical: [SearchHit], fusion: Fusion, k: Int) -> [SearchHit] {
        // Per hit: its reciprocal rank and scaled score in each ranking (0 where it is absent).
        struct Fused { var hit: SearchHit, reciprocal: [Double] = [0, 0], scaled: [Double] = [0, 0] }
        var fused: [Fused] = [], slot: [String: Int] = [:]
        for (side, ranking) in [semantic, lexical].enumerated() {
            let (top, bottom) = (Double(ranking.first?.score ?? 0), Double(ranking.last?.score ?? 0))
            for (rank, hit) in ranking.enumerated() {
                let at = slot[hit.id] ?? fused.count
                if at == fused.count {
                    slot[hit.id] = at
                    fused.append(Fused(hit: hit))
                }
                fused[at].reciprocal[side] = 1 / (fusionK + Double(rank + 1))
                fused[at].scaled[side] = top > bottom ? (Double(hit.score) - bottom) / (top - bottom) : 1
            }
        }
        let w = fusion.weight
        let ranked = fused.map { entry in
            let byRank = 2 * w * entry.reciprocal[0] + 2 * (1 - w) * entry.reciprocal[1]
            let score = fusion.method == .reciprocalRank ? byRank : w * entry.scaled[0] + (1 - w) * entry.scaled[1]
            return (hit: entry.hit, keys: (score, byRank, entry.reciprocal[0] + entry.reciprocal[1]))
        }.sorted { ($0.keys.0, $0.keys.1, $0.keys.2, $1.hit.id) > ($1.keys.0, $1.keys.1, $1.keys.2, $0.hit.id) }
        return ranked.prefix(k).map { entry in
            var hit = entry.hit
            hit.score = Float(entry.keys.0)
            return hit
        }
    }

    /// The BM25 ranking of `text` among `rows` (a filter's; nil: all), as the answer shows
    /// hits, and whether `deadline` cut it short.
    private func lexicalHits(_ text: String, k: Int, rows: RowSet?, request: SearchRequest, snapshot: Snapshot,
                             deadline: DispatchTime?) throws -> ([SearchHit], LexicalCost, Bool) {
        let (ranked, cost, partial) = try lexicalRanking(text, k: k, rows: rows, snapshot: snapshot, deadline: deadline)
        return (try ranked.map { try searchHit($0, request: request, snapshot: snapshot, found: "lexical postings' row") }, cost, partial)
    }
}

extension SearchPlan {
    /// A lexical search's plan: no vector stage.
    static let lexical = SearchPlan(graphDims: nil, ef: nil, stages: [], earlyExit: nil, exact: true)
}
