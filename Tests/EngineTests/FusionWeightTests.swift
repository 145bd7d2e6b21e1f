@testable import Engine
import Foundation
import Search
import Store
import TestSupport
import XCTest

/// Hybrid search's fusion weight: what weights 0 and 1 give, the fit `mrl tune` makes on
/// labelled queries (against a brute-force fit through the public search), that it is stored
/// and used by default, and the request's override.
final class FusionWeightTests: XCTestCase {
    private static let dims = 8
    /// Words each document's text draws from; every document also has a word of its own.
    private static let vocabulary = ["viewer", "pdf", "window", "manager", "font", "driver", "kernel", "game", "library", "tool"]

    private var random = SplitMix64(seed: 7)

    private func unit() -> [Float] {
        let v = (0..<Self.dims).map { _ in Float(Double(random.next() % 2_001) / 1_000 - 1) }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / max(norm, 1e-6) }
    }

    private func word() -> String { Self.vocabulary[Int(random.next() % UInt64(Self.vocabulary.count))] }

    /// 80 documents of random vectors, each text a few common words and its own word `uN`; and
    /// 60 known items: about two thirds found by meaning (the query vector near the answer's,
    /// the text common words) and the rest by a word (the answer's own word among common
    /// ones, the vector random), so that the best weight leans semantic but not all the way.
    private func labelledIndex(in data: DataDirectory? = nil) throws -> (Index, [KnownItemQuery]) {
        let index = try Index.create(name: "fusion", in: data ?? temporaryData(self), dimensions: Self.dims, model: nil)
        var vectors: [[Float]] = []
        let documents = (0..<80).map { n -> DocumentInput in
            vectors.append(unit())
            let text = ((0..<3).map { _ in word() } + ["u\(n)"]).joined(separator: " ")
            return DocumentInput(id: "d\(n)", text: text, vector: vectors[n])
        }
        _ = try index.upsert(documents)
        let queries = (0..<60).map { q -> KnownItemQuery in
            let answer = Int(random.next() % 80)
            if random.next() % 3 < 2 {
                let noise = unit()
                let near = zip(vectors[answer], noise).map { $0 + 0.6 * $1 }
                return KnownItemQuery(query: "\(word()) \(word())", vector: near, relevantID: "d\(answer)")
            }
            return KnownItemQuery(query: "\(word()) u\(answer) \(word())", vector: unit(), relevantID: "d\(answer)")
        }
        return (index, queries)
    }

    private func hybrid(_ query: KnownItemQuery, weight: Double?, k: Int = 10) -> SearchRequest {
        var request = SearchRequest(query: query.query, k: k)
        (request.mode, request.embedded, request.fusionWeight) = (.hybrid, query.vector, weight)
        return request
    }

    /// MRR@10 of `queries` searched at `weight` through the public search.
    private func mrr(_ index: Index, _ queries: [KnownItemQuery], weight: Double) throws -> Double {
        try queries.reduce(0) { sum, query in
            let ids = try index.search(hybrid(query, weight: weight)).hits.map(\.id)
            return sum + (ids.firstIndex(of: query.relevantID).map { 1 / Double($0 + 1) } ?? 0)
        } / Double(queries.count)
    }

    /// The fusion of the best MRR@10 among both methods at weights 0, 0.01, ..., 1, ties to
    /// reciprocal rank, then to the weight nearest 0.5 (as the fit breaks them), each scored by
    /// searching with it: the stored fusion set to it, the weight given by the request.
    private func bestFusion(_ index: Index, _ queries: [KnownItemQuery]) throws -> (fusion: Fusion, mrr: Double) {
        var scored: [(Fusion, Double)] = []
        for method in Fusion.Method.allCases {
            try index.setFusion(Fusion(method: method, weight: 0.5))
            for weight in (0...100).map({ Double($0) / 100 }) {
                scored.append((Fusion(method: method, weight: weight), try mrr(index, queries, weight: weight)))
            }
        }
        func preference(_ entry: (Fusion, Double)) -> (Double, Int, Double) {
            (entry.1, entry.0.method == .reciprocalRank ? 1 : 0, -abs(entry.0.weight - 0.5))
        }
        return scored.max { preference($0) < preference($1) }!
    }

    func testWeightOneGivesTheSemanticOrderAndZeroTheLexicalOne() throws {
        let (index, queries) = try labelledIndex()
        for method in Fusion.Method.allCases {
            try index.setFusion(Fusion(method: method, weight: 0.5))
            for query in queries.prefix(20) {
                var semantic = SearchRequest(vector: query.vector, k: 10)
                semantic.mode = .semantic
                var lexical = SearchRequest(query: query.query, k: 10)
                lexical.mode = .lexical
                let lexicalIDs = try index.search(lexical).hits.map(\.id)
                XCTAssertEqual(try index.search(hybrid(query, weight: 1)).hits.map(\.id), try index.search(semantic).hits.map(\.id), "\(method)")
                // Past the documents holding a query word come the others, by meaning: their lexical score is 0.
                XCTAssertEqual(Array(try index.search(hybrid(query, weight: 0)).hits.map(\.id).prefix(lexicalIDs.count)), lexicalIDs, "\(method)")
            }
        }
    }

    func testTheFitPicksTheWeightOfTheBestMRRAndReportsHeldOutHalves() throws {
        let (index, queries) = try labelledIndex()
        let vectors = queries.map { $0.vector ?? [] }
        let tuning = try index.fitFusion(queries, vectors: vectors, seed: 3)
        let (expected, best) = try bestFusion(index, queries)
        XCTAssertEqual(tuning.fusion, expected)
        XCTAssertEqual(tuning.queries, queries.count)
        XCTAssertNotEqual(expected, Index.equalFusion, "the case is built so that plain RRF is not the best")
        XCTAssertEqual(tuning.byWeight.first { $0.fusion == expected }?.mrrAt10 ?? -1, best, accuracy: 1e-9)
        // The held-out figure: each half scored by the fusion the other half fits alone.
        let (first, second) = Index.heldOutSplit(Array(queries.indices), seed: 3)
        let halves = [first, second].map { half in half.map { queries[$0] } }
        let fitted = try halves.map { try bestFusion(index, $0).fusion }
        XCTAssertEqual(tuning.halves, fitted)
        func scored(_ half: [KnownItemQuery], by fusion: Fusion) throws -> Double {
            try index.setFusion(fusion)
            return try mrr(index, half, weight: fusion.weight) * Double(half.count)
        }
        let crossed = (try scored(halves[0], by: fitted[1]) + scored(halves[1], by: fitted[0])) / Double(queries.count)
        XCTAssertEqual(tuning.heldOut.fitted, crossed, accuracy: 1e-9)
        try index.setFusion(Index.equalFusion)
        XCTAssertGreaterThan(best, try mrr(index, queries, weight: 0.5))
        XCTAssertEqual(tuning.heldOut.equal, try mrr(index, queries, weight: 0.5), accuracy: 1e-9)
        // The two rankings alone, as their own modes rank.
        for (mode, measured) in [(SearchMode.semantic, tuning.heldOut.semantic), (.lexical, tuning.heldOut.lexical)] {
            let alone = try queries.reduce(0) { sum, query in
                var request = mode == .semantic ? SearchRequest(vector: query.vector, k: 10) : SearchRequest(query: query.query, k: 10)
                request.mode = mode
                return sum + (try index.search(request).hits.map(\.id).firstIndex(of: query.relevantID).map { 1 / Double($0 + 1) } ?? 0)
            } / Double(queries.count)
            XCTAssertEqual(measured, alone, accuracy: 1e-9, "\(mode)")
        }
    }

    func testTheStoredWeightSurvivesReopeningAndIsTheDefault() throws {
        let data = temporaryData(self)
        let (tuning, query): (FusionTuning, KnownItemQuery)
        do {
            let (index, queries) = try labelledIndex(in: data)
            query = queries[0]
            XCTAssertNil(try index.fusionTuning())
            XCTAssertEqual(try index.search(hybrid(query, weight: nil)).fusion, Index.equalFusion, "untuned: plain RRF")
            tuning = try index.fitFusion(queries, vectors: queries.map { $0.vector ?? [] })
            XCTAssertNotEqual(tuning.fusion, Index.equalFusion)
        }
        let reopened = try Index.open(name: "fusion", in: data, mode: .read)
        XCTAssertEqual(try reopened.fusionTuning(), tuning)
        XCTAssertEqual(try reopened.info().fusion, tuning)
        XCTAssertEqual(try reopened.search(hybrid(query, weight: nil)).fusion, tuning.fusion)
        let overridden = try reopened.search(hybrid(query, weight: 0.15))
        XCTAssertEqual(overridden.fusion, Fusion(method: tuning.fusion.method, weight: 0.15))
        XCTAssertEqual(overridden.json["plan"]?["fusion"]?["weight"], 0.15)
        XCTAssertEqual(SearchResult(json: overridden.json)?.fusion, overridden.fusion, "read back as a client reads it")
    }

    /// Without a plan named, the semantic stage of a hybrid search walks the default plan's beam
    /// widened by the fusion's depth over the k the plans were measured at, so that it keeps
    /// its recall 50 deep; a beam the request names is kept (at least the depth).
    func testTheSemanticStageWalksABeamForTheFusionDepth() throws {
        let docs = ClusteredCorpus.documents(3_000)
        let index = try makeClusteredIndex(docs)
        try buildClusteredGraph(index)
        let model = try XCTUnwrap(try index.calibrate(queryCount: 100))
        let ef = try XCTUnwrap(Planner(model: model).plan(budgetMs: nil, k: model.k).plan.ef)
        var request = SearchRequest(query: "anything", k: 10)
        (request.mode, request.embedded) = (.hybrid, docs[5].vector)
        XCTAssertEqual(try index.search(request).plan.ef, ef * 50 / model.k)
        request.ef = 24
        XCTAssertEqual(try index.search(request).plan.ef, 50)
    }

    func testTheOverrideIsValidated() throws {
        let index = try Index.create(name: "v", in: temporaryData(self), dimensions: Self.dims, model: nil)
        _ = try index.upsert([DocumentInput(id: "a", text: "pdf viewer", vector: unit())])
        let query = KnownItemQuery(query: "pdf", vector: unit(), relevantID: "a")
        for bad in [-0.01, 1.5, .nan, .infinity] {
            XCTAssertThrowsError(try index.search(hybrid(query, weight: bad))) {
                XCTAssertTrue("\($0)".hasPrefix(#"field "fusion_weight": must be a number from 0"#), "\($0)")
            }
        }
        for mode in [SearchMode.semantic, .lexical] {
            var request = hybrid(query, weight: 0.5)
            request.mode = mode
            if mode == .semantic { (request.query, request.vector) = (nil, query.vector) }
            XCTAssertThrowsError(try index.search(request)) {
                XCTAssertTrue("\($0)".hasPrefix(#"field "fusion_weight": weighs the two rankings of a hybrid search"#), "\($0)")
            }
        }
        XCTAssertThrowsError(try index.fitFusion([query], vectors: [query.vector ?? []])) {
            XCTAssertTrue("\($0)".hasPrefix(#"field "queries": "#), "\($0)")
        }
    }
}

extension Index {
    /// Stores `fusion` as if `mrl tune` had fitted it (the figures beside it left empty).
    func setFusion(_ fusion: Fusion) throws {
        try store.putMeta(Index.fusionKey, FusionTuning(fusion: fusion, queries: 0, halves: [], heldOut: .init(fitted: 0, semantic: 0, lexical: 0, equal: 0),
                                                        byWeight: [], measuredAt: ""))
    }
}
