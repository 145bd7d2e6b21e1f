import Foundation

/// A query: text (embedded by the model) or a vector in the model's raw space.
public struct SearchRequest: Sendable {
    public var query: String?
    public var vector: [Float]?
    public var k: Int
    /// Search the first `dims` coordinates exactly; nil means all of them.
    public var dims: Int?
    /// Return each hit's text and meta.
    public var includeText: Bool

    public static let maxK = 10_000

    public init(query: String? = nil, vector: [Float]? = nil, k: Int = 10, dims: Int? = nil, includeText: Bool = false) {
        self.query = query
        self.vector = vector
        self.k = k
        self.dims = dims
        self.includeText = includeText
    }

    /// Checks the request against an index of `dimensions`; throws `invalidRequest` naming the field.
    func validate(dimensions: Int) throws {
        guard (query == nil) != (vector == nil) else {
            throw EngineError.invalidRequest(field: "query", message: "give exactly one of \"query\" (text) and \"vector\"")
        }
        guard (1...SearchRequest.maxK).contains(k) else {
            throw EngineError.invalidRequest(field: "k", message: "must be between 1 and \(SearchRequest.maxK), got \(k)")
        }
        if let dims, !(1...dimensions).contains(dims) {
            throw EngineError.invalidRequest(field: "dims", message: "must be between 1 and \(dimensions) (the index's dimensions), got \(dims)")
        }
        if let vector {
            guard vector.count == dimensions else {
                throw EngineError.invalidRequest(field: "vector", message: "has \(vector.count) dimensions, the index has \(dimensions)")
            }
            guard vector.allSatisfy(\.isFinite) else {
                throw EngineError.invalidRequest(field: "vector", message: "contains NaN or infinity")
            }
            let prefix = vector.prefix(dims ?? dimensions)
            guard prefix.contains(where: { $0 != 0 }) else {
                throw EngineError.invalidRequest(field: "vector", message: "its first \(prefix.count) dimensions are all zero: no direction to search")
            }
        }
    }
}

/// What a search did, returned with its hits (field names as in the socket API).
public struct SearchPlan: Equatable, Sendable {
    public struct Stage: Equatable, Sendable {
        public var dims: Int
        public var keep: Int
    }
    /// Dimensions of the graph traversal; nil for an exact scan.
    public var graphDims: Int?
    /// Beam width of the graph traversal; nil for an exact scan.
    public var ef: Int?
    public var stages: [Stage]
    public var earlyExit: Double?
    public var exact: Bool

    /// JSON object with the API's snake_case names.
    public var json: [String: Any] {
        [
            "graph_dims": graphDims as Any? ?? NSNull(),
            "ef": ef as Any? ?? NSNull(),
            "stages": stages.map { ["dims": $0.dims, "keep": $0.keep] },
            "early_exit": earlyExit as Any? ?? NSNull(),
            "exact": exact,
        ]
    }
}

public struct SearchHit: Sendable {
    public var id: String
    public var score: Float
    public var text: String?
    /// Canonical JSON of the document's meta, when asked for and present.
    public var meta: String?
}

public struct SearchResult: Sendable {
    public var hits: [SearchHit]
    public var plan: SearchPlan
    /// True when a deadline cut the search short.
    public var partial: Bool
    public var predictedMs: Double?
    /// Time from the start of planning to the answer (query embedding excluded).
    public var tookMs: Double
    public var distanceComputations: Int
    public var bytesTouched: Int

    /// JSON object with the API's snake_case names.
    public var json: [String: Any] {
        [
            "hits": hits.map { hit -> [String: Any] in
                var object: [String: Any] = ["id": hit.id, "score": Double(hit.score)]
                if let text = hit.text { object["text"] = text }
                if let meta = hit.meta, let parsed = try? JSONSerialization.jsonObject(with: Data(meta.utf8)) {
                    object["meta"] = parsed
                }
                return object
            },
            "plan": plan.json,
            "partial": partial,
            "predicted_ms": predictedMs as Any? ?? NSNull(),
            "took_ms": tookMs,
            "cost": ["distance_computations": distanceComputations, "bytes_touched": bytesTouched,
                     "dims": plan.stages.last?.dims ?? 0],
        ]
    }
}
