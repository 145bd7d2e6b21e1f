import Foundation
import Search
import Store

/// A query: text (embedded by the model) or a vector in the model's raw space.
public struct SearchRequest: Sendable {
    public var query: String?
    public var vector: [Float]?
    public var k: Int
    /// Search the first `dims` coordinates exactly (no graph); nil lets the planner choose.
    public var dims: Int?
    /// The graph walk's beam width, overriding the planner (rescoring at full dimensions).
    public var ef: Int?
    /// Latency budget of the search itself (planning to answer, not encoding), in ms: the
    /// planner picks the best plan predicted to fit.
    public var budgetMs: Double?
    /// A named plan measured by `mrl tune` (or the built-in fast, balanced, accurate).
    public var preset: String?
    /// Hard stop, in ms from the start of the search: past it the best results so far are
    /// returned with `partial` set.
    public var deadlineMs: Double?
    /// Return each hit's text and meta.
    public var includeText: Bool
    /// Return each hit's stored raw vector (what max-marginal-relevance search needs).
    public var includeVectors = false
    /// Return only the best chunk of each parent (a file's `path`, or the JSONL document a
    /// chunk came from), so k hits are k different documents.
    public var groupByParent = false
    /// How to rank: `lexical` and `hybrid` need a text `query` (see `SearchMode`).
    public var mode = SearchMode.semantic
    /// A text query's embedding when the caller already has it (the daemon embeds a batch's
    /// texts together): a hybrid search's semantic stage uses it instead of the model.
    public var embedded: [Float]?
    /// Only documents whose meta passes it (`Filter`).
    public var filter: Filter? = nil
    /// A hybrid search's weight of the semantic ranking, 0...1 (the lexical one's is 1 − it;
    /// see `Index.fuse`), in the fusion `mrl tune` fitted for the index (else reciprocal rank
    /// fusion); nil: the fitted weight, else equal weights.
    public var fusionWeight: Double? = nil
    /// The weights `fusionWeight` may take (NaN is not among them).
    public static let fusionWeights = 0.0...1.0

    public static let maxK = 10_000
    /// The longest `budget_ms` and `deadline_ms`: an hour is no limit for one search, and a
    /// bound keeps the deadline's arithmetic in range.
    public static let maxMilliseconds = 3_600_000.0

    /// When a search that started at `start` must stop: nil without `deadlineMs`.
    func deadline(from start: DispatchTime) -> DispatchTime? {
        deadlineMs.map { DispatchTime(uptimeNanoseconds: start.uptimeNanoseconds + UInt64($0 * 1e6)) }
    }

    public init(query: String? = nil, vector: [Float]? = nil, k: Int = 10, dims: Int? = nil, ef: Int? = nil,
                budgetMs: Double? = nil, preset: String? = nil, deadlineMs: Double? = nil, includeText: Bool = false) {
        self.preset = preset
        self.query = query
        self.vector = vector
        self.k = k
        self.dims = dims
        self.ef = ef
        self.budgetMs = budgetMs
        self.deadlineMs = deadlineMs
        self.includeText = includeText
    }

    /// The API's request shape (what the CLI sends a daemon).
    public var json: JSON {
        var object: [String: JSON] = ["k": JSON(k), "include_text": .bool(includeText)]
        if let query { object["query"] = .string(query) }
        if let vector { object["vector"] = .array(vector.map(JSON.float)) }
        if let dims { object["dims"] = JSON(dims) }
        if let ef { object["ef"] = JSON(ef) }
        if let budgetMs { object["budget_ms"] = .number(budgetMs) }
        if let preset { object["preset"] = .string(preset) }
        if groupByParent { object["group_by"] = "parent" }
        if includeVectors { object["include_vectors"] = true }
        if let deadlineMs { object["deadline_ms"] = .number(deadlineMs) }
        if mode != .semantic { object["mode"] = .string(mode.rawValue) }
        if let filter { object["filter"] = filter.json }
        if let fusionWeight { object["fusion_weight"] = .number(fusionWeight) }
        return .object(object)
    }

    /// Checks the request against an index of `dimensions`; throws `invalidRequest` naming the field.
    public func validate(dimensions: Int) throws {
        guard (query == nil) != (vector == nil) else {
            throw EngineError.invalidRequest(field: "query", message: "give exactly one of \"query\" (text) and \"vector\"")
        }
        if mode != .semantic, query == nil {
            throw EngineError.invalidRequest(field: "mode", message: "\"\(mode.rawValue)\" needs a text \"query\": vector queries are semantic only")
        }
        if mode == .lexical, dims != nil || ef != nil || budgetMs != nil || preset != nil {
            throw EngineError.invalidRequest(field: "mode", message: "\"lexical\" ranks by words, no vectors: give it without \"dims\", \"ef\", \"budget_ms\" and \"preset\"")
        }
        if let fusionWeight {
            guard SearchRequest.fusionWeights.contains(fusionWeight) else {
                throw EngineError.invalidRequest(field: "fusion_weight", message: "must be a number from 0 (lexical ranking only) to 1 (semantic ranking only), got \(fusionWeight)")
            }
            guard mode == .hybrid else {
                throw EngineError.invalidRequest(field: "fusion_weight", message: "weighs the two rankings of a hybrid search: give it with \"mode\": \"hybrid\"")
            }
        }
        guard (1...SearchRequest.maxK).contains(k) else {
            throw EngineError.invalidRequest(field: "k", message: "must be between 1 and \(SearchRequest.maxK), got \(k)")
        }
        if let ef, !(1...SearchRequest.maxK).contains(ef) {
            throw EngineError.invalidRequest(field: "ef", message: "must be between 1 and \(SearchRequest.maxK), got \(ef)")
        }
        for (field, value) in [("budget_ms", budgetMs), ("deadline_ms", deadlineMs)] {
            if let value, !(value > 0 && value <= SearchRequest.maxMilliseconds) {
                throw EngineError.invalidRequest(field: field, message: "must be a positive number of milliseconds up to \(Int(SearchRequest.maxMilliseconds)) (an hour), got \(value)")
            }
        }
        if dims != nil, ef != nil || budgetMs != nil || preset != nil {
            throw EngineError.invalidRequest(field: "dims", message: "asks for an exact scan of a prefix: give it without \"ef\", \"budget_ms\" and \"preset\"")
        }
        if preset != nil, ef != nil || budgetMs != nil {
            throw EngineError.invalidRequest(field: "preset", message: "names a plan: give it without \"ef\" and \"budget_ms\"")
        }
        if let dims, !(1...dimensions).contains(dims) {
            throw EngineError.invalidRequest(field: "dims", message: "must be between 1 and \(dimensions) (the index's dimensions), got \(dims)")
        }
        if let vector {
            guard vector.count == dimensions else {
                throw EngineError.invalidRequest(field: "vector", message: "has \(vector.count) dimensions, the index has \(dimensions)")
            }
            if let problem = VectorValues.problem(vector) {
                throw EngineError.invalidRequest(field: "vector", message: problem)
            }
            let prefix = vector.prefix(dims ?? dimensions)
            guard prefix.contains(where: { $0 != 0 }) else {
                throw EngineError.invalidRequest(field: "vector", message: "its first \(prefix.count) dimensions are all zero: no direction to search")
            }
        }
    }
}

public struct SearchHit: Sendable {
    public var id: String
    public var score: Float
    public var text: String?
    /// Canonical JSON of the document's meta, when asked for and present.
    public var meta: String?
    /// The stored raw vector, when asked for.
    public var vector: [Float]? = nil
}

public struct SearchResult: Sendable {
    public var hits: [SearchHit]
    public var plan: SearchPlan
    /// True when a deadline cut the search short.
    public var partial: Bool
    /// True when the plan's wider beam ran for this query (see `SearchPlan.widen`).
    public var widened = false
    public var predictedMs: Double?
    /// The plan's recall@k against exact search as calibrated (on held-out queries for a
    /// preset's plan; see `Planner.predictedRecall`); nil for a plan nobody measured.
    public var predictedRecall: Double?
    /// Time from the start of planning to the answer (query embedding excluded).
    public var tookMs: Double
    public var distanceComputations: Int
    public var bytesTouched: Int
    /// The generation of the vectors it was answered from (`Snapshot.vectorsGeneration`; nil
    /// without a graph, and through a daemon's client): the query log's and the presets'
    /// writes leave it as it is. The recall monitor checks only graph plans' answers.
    public var vectorsGeneration: UInt64?
    public var mode = SearchMode.semantic
    /// What the lexical stage read, for lexical and hybrid searches.
    public var lexicalCost: LexicalCost?
    /// How a hybrid search fused its rankings (see `SearchRequest.fusionWeight`).
    public var fusion: Fusion?

    /// The API's shape, snake_case names: what `mrl search --json` prints and the daemon sends.
    public var json: JSON {
        .object([
            "hits": .array(hits.map { hit in
                var object: [String: JSON] = ["id": .string(hit.id), "score": .float(hit.score)]
                if let text = hit.text { object["text"] = .string(text) }
                if let meta = hit.meta, let parsed = try? JSON.parse(meta) { object["meta"] = parsed }
                if let vector = hit.vector { object["vector"] = .array(vector.map(JSON.float)) }
                return .object(object)
            }),
            "plan": planJSON,
            "partial": .bool(partial),
            "predicted_ms": JSON(predictedMs),
            "predicted_recall": JSON(predictedRecall),
            "took_ms": .number(tookMs),
            "cost": ["distance_computations": JSON(distanceComputations), "bytes_touched": JSON(bytesTouched),
                     "dims": JSON(plan.stages.last?.dims ?? 0)],
        ])
    }
}

extension SearchResult {
    /// The plan as the answer shows it: for a plan that may widen its beam, whether it did.
    private var planJSON: JSON {
        guard case .object(var object) = plan.json else { return plan.json }
        if plan.widen != nil { object["widened"] = .bool(widened) }
        object["mode"] = .string(mode.rawValue)
        if let lexicalCost { object["lexical"] = lexicalCost.json }
        if let fusion { object["fusion"] = fusion.json }
        return .object(object)
    }

    /// Reads the API's shape back (what the CLI gets from a daemon); nil if it is not one.
    public init?(json: JSON) {
        guard let hits = json["hits"]?.array, let plan = json["plan"], let cost = json["cost"],
              let stages = plan["stages"]?.array, let tookMs = json["took_ms"]?.number else { return nil }
        self.hits = hits.compactMap { hit in
            guard let id = hit["id"]?.string, let score = hit["score"]?.number else { return nil }
            return SearchHit(id: id, score: Float(score), text: hit["text"]?.string, meta: hit["meta"].map(\.serialized),
                             vector: hit["vector"]?.array?.compactMap(\.float))
        }
        self.plan = SearchPlan(graphDims: plan["graph_dims"]?.int, ef: plan["ef"]?.int,
                               stages: stages.map { .init(dims: $0["dims"]?.int ?? 0, keep: $0["keep"]?.int ?? 0) },
                               earlyExit: plan["early_exit"]?.number, exact: plan["exact"]?.bool ?? false,
                               widen: plan["widen"].flatMap { try? SearchPlan.Widening(json: $0) })
        self.plan.filter = plan["filter"].flatMap { try? FilterChoice(json: $0) }
        widened = plan["widened"]?.bool ?? false
        mode = plan["mode"]?.string.flatMap(SearchMode.init(rawValue:)) ?? .semantic
        if let terms = plan["lexical"]?["terms"]?.int, let postings = plan["lexical"]?["postings"]?.int {
            lexicalCost = LexicalCost(terms: terms, postings: postings)
        }
        if let method = plan["fusion"]?["method"]?.string.flatMap(Fusion.Method.init(rawValue:)), let weight = plan["fusion"]?["weight"]?.number {
            fusion = Fusion(method: method, weight: weight)
        }
        partial = json["partial"]?.bool ?? false
        predictedMs = json["predicted_ms"]?.number
        predictedRecall = json["predicted_recall"]?.number
        self.tookMs = tookMs
        distanceComputations = cost["distance_computations"]?.int ?? 0
        bytesTouched = cost["bytes_touched"]?.int ?? 0
    }
}
