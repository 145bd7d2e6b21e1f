import Engine
import NIOCore

/// `POST /indexes/{name}/search` and `/search/batch`.
extension Application {
    static let searchFields: Set<String> = ["query", "vector", "k", "budget_ms", "preset", "dims", "deadline_ms",
                                            "include_text", "include_vectors", "ef", "group_by", "mode",
                                            "filter", "fusion_weight"]

    /// A search request's fields as the library's `SearchRequest` (text not yet embedded).
    func searchRequest(_ fields: Fields) throws -> SearchRequest {
        try fields.allowOnly(Application.searchFields)
        var request = SearchRequest(
            query: try fields.string("query"), vector: try fields.vector("vector"), k: try fields.int("k") ?? 10,
            dims: try fields.int("dims"), ef: try fields.int("ef"), budgetMs: try fields.double("budget_ms"),
            preset: try fields.string("preset"), deadlineMs: try fields.double("deadline_ms"), includeText: try fields.bool("include_text") ?? false)
        request.includeVectors = try fields.bool("include_vectors") ?? false
        request.filter = try fields.filter("filter")
        request.fusionWeight = try fields.double("fusion_weight")
        switch try fields.string("group_by") {
        case nil: break
        case "parent": request.groupByParent = true
        case let other?: throw APIError.field(fields.path + "group_by", "can only be \"parent\", got \"\(other)\"")
        }
        if let mode = try fields.string("mode") {
            guard let known = SearchMode(rawValue: mode) else {
                throw APIError.field(fields.path + "mode", "can be \"semantic\", \"lexical\" or \"hybrid\", got \"\(mode)\"")
            }
            request.mode = known
        }
        guard (request.query == nil) != (request.vector == nil) else {
            throw APIError.field(fields.path + "query", "give exactly one of \"query\" (text) and \"vector\"")
        }
        return request
    }

    func search(_ request: Request, index name: String, on loop: EventLoop) throws -> EventLoopFuture<Response> {
        let target = try registry.index(name)
        let search = try searchRequest(Fields(try request.jsonObject(maxDepth: configuration.maxJSONDepth)))
        return try searches([search], batch: false, in: target.index, on: loop).map { results in .json(results[0]) }
    }

    func searchBatch(_ request: Request, index name: String, on loop: EventLoop) throws -> EventLoopFuture<Response> {
        let target = try registry.index(name)
        let fields = Fields(try request.jsonObject(maxDepth: configuration.maxJSONDepth))
        try fields.allowOnly(["queries"])
        let items = try fields.array("queries", max: configuration.maxBatchQueries)
        let searches = try items.enumerated().map { i, item in try searchRequest(try fields.element(item, of: "queries", at: i)) }
        // Each k counted as at most maxK (a k out of range gets its own 400 below): a sum of
        // whole numbers up to 2^63 would overflow.
        let hits = searches.reduce(0) { $0 + min(max($1.k, 0), SearchRequest.maxK) }
        guard hits <= configuration.maxBatchHits else {
            throw APIError(status: .payloadTooLarge, code: "too_large",
                           message: "\"queries\" ask for \(hits) hits in all (the sum of their k), over the limit of \(configuration.maxBatchHits): split the batch")
        }
        return try self.searches(searches, batch: true, in: target.index, on: loop).map { results in .json(["results": .array(results)]) }
    }

    /// Runs searches on this event loop; texts are embedded first, in one encoder batch
    /// shared with other requests' texts. Field errors of a `batch` name the query's position
    /// ("queries[0].k", even in a batch of one: the field is where the client wrote it).
    private func searches(_ requests: [SearchRequest], batch: Bool, in index: Index, on loop: EventLoop) throws -> EventLoopFuture<[JSON]> {
        // A lexical search needs no embedding.
        let texts = requests.filter { $0.mode != .lexical }.compactMap(\.query)
        if !texts.isEmpty, !index.acceptsText {
            throw APIError.field(batch ? "queries[\(requests.firstIndex { $0.query != nil && $0.mode != .lexical }!)].query" : "query",
                                 "cannot be used: index \"\(index.name)\" holds vectors of your own model (\(index.manifest.dimensions)-d): send \"vector\"")
        }
        for (i, request) in requests.enumerated() where request.query != nil {
            // Bad fields are reported before the text waits for the encoder.
            var probe = request
            probe.query = nil
            probe.vector = [Float](repeating: 1, count: index.manifest.dimensions)
            probe.mode = .semantic  // the text is there: only its other fields are checked here
            // A hybrid request's weight is checked for its range only (the probe is semantic).
            if request.mode == .hybrid, let weight = probe.fusionWeight, SearchRequest.fusionWeights.contains(weight) { probe.fusionWeight = nil }
            try rename(batch ? "queries[\(i)]." : "") { try probe.validate(dimensions: index.manifest.dimensions) }
        }
        let run = { @Sendable (vectors: [[Float]]) throws -> [JSON] in
            var vectors = vectors.makeIterator()
            var answer = AnswerSize(limit: self.configuration.maxAnswerBytes)
            return try requests.enumerated().map { i, request in
                var request = request
                let text = request.query
                switch request.mode {
                case _ where text == nil, .lexical: break
                case .semantic: (request.vector, request.query) = (vectors.next(), nil)
                case .hybrid: request.embedded = vectors.next()
                }
                let result = try self.rename(batch ? "queries[\(i)]." : "") { try index.search(request) }
                // A hybrid search's semantic stage is what calibration tunes, so its query is
                // logged too; only a semantic answer's hits are the stage's own, to be checked.
                if let vector = request.vector ?? request.embedded {
                    index.logQuery(vector: vector, k: request.k, text: text)
                    if request.mode == .semantic { index.offerToMonitor(request, vector: vector, result: result) }
                }
                for hit in result.hits { try answer.add(text: hit.text, meta: hit.meta, vector: hit.vector) }
                self.metrics.search(dims: result.plan.stages.last?.dims ?? 0, tookMs: result.tookMs, partial: result.partial)
                return result.json
            }
        }
        // One search runs on its event loop (a hop would cost more than most searches);
        // a batch can take long, so it runs off the loops, which other connections share.
        let execute = { (vectors: [[Float]]) -> EventLoopFuture<[JSON]> in
            guard requests.count > 1 else { return loop.makeCompletedFuture { try run(vectors) } }
            let promise = loop.makePromise(of: [JSON].self)
            self.batchSearches.async { promise.completeWith(Result { try run(vectors) }) }
            return promise.futureResult
        }
        guard !texts.isEmpty else { return execute([]) }
        return try batcher.embed(texts, precision: index.textPrecision(), on: loop).flatMap(execute)
    }

    /// Runs `body`, prefixing the field named in an `invalidRequest` with `path`.
    private func rename<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch EngineError.invalidRequest(let field, let message) {
            throw APIError.field(path + field, message)
        }
    }
}
