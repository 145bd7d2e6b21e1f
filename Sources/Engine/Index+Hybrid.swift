import Foundation
import Search
import Store

/// How a search ranks: by the embedding (`semantic`), by BM25 over the lexical index
/// (`lexical`), or both, fused (`hybrid`).
public enum SearchMode: String, Sendable, CaseIterable {
    case semantic, lexical, hybrid
}

extension Index {
    /// Reciprocal rank fusion's constant: a hit's fused score is the sum over the rankings
    /// that hold it of 1 / (fusionK + rank), rank from 1.
    static let fusionK = 60.0
    /// Each ranking a hybrid search fuses is at least this deep, so a hit near the top of one
    /// list and just below k in the other still counts twice.
    static let fusionDepth = 50

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
        let depth = min(max(request.k, Index.fusionDepth), SearchRequest.maxK)
        var semanticRequest = request
        semanticRequest.mode = .semantic
        semanticRequest.k = depth
        if let embedded = request.embedded {
            (semanticRequest.query, semanticRequest.vector) = (nil, embedded)
        }
        let vector = try rawVector(of: semanticRequest)
        // Both rankings from one snapshot, so a write between them cannot mix two states, and
        // both among the rows of the filter, evaluated once.
        return try store.read { snapshot in
            let rows = try request.filter.map { try matchingRows($0, in: snapshot) }
            let deadline = request.deadline(from: DispatchTime.now())  // one for both stages
            var result = try semanticSearch(semanticRequest, vector: vector, matching: rows, strategy: nil, in: snapshot)
            let start = DispatchTime.now()
            let (hits, cost, partial) = try lexicalHits(text, k: depth, rows: rows, request: request, snapshot: snapshot, deadline: deadline)
            result.hits = Index.fuse([result.hits, hits], k: request.k)
            result.partial = result.partial || partial
            result.tookMs += Index.milliseconds(since: start)
            result.lexicalCost = cost
            result.mode = .hybrid
            return result
        }
    }

    /// Reciprocal rank fusion of `rankings` (each best first): the `k` ids of the highest
    /// fused score, equal scores by id. Each hit keeps what its first ranking returned of it.
    static func fuse(_ rankings: [[SearchHit]], k: Int) -> [SearchHit] {
        var fused: [String: SearchHit] = [:], order: [String] = []
        for ranking in rankings {
            for (rank, hit) in ranking.enumerated() {
                let score = Float(1 / (fusionK + Double(rank + 1)))
                if fused[hit.id] == nil {
                    order.append(hit.id)
                    fused[hit.id] = hit
                    fused[hit.id]?.score = 0
                }
                fused[hit.id]?.score += score
            }
        }
        let ranked = order.compactMap { fused[$0] }.sorted { ($0.score, $1.id) > ($1.score, $0.id) }
        return Array(ranked.prefix(k))
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
