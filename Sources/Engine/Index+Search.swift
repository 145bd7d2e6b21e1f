import Foundation
import Search
import Store

extension VectorBlock: PrefixBlock {}

extension Index {
    /// Searches the index: an exact scan of a prefix when `dims` is given (or the index has
    /// no usable graph), otherwise the Matryoshka funnel, with the plan the planner picks for
    /// the budget (or the default), or the beam width given as `ef`. The answer says which
    /// plan ran. Throws `invalidRequest` for a bad field, `modelUnavailable` for a text
    /// query without the model, and the store's read errors.
    public func search(_ request: SearchRequest) throws -> SearchResult {
        try search(request, matching: nil)
    }

    /// Searches only the rows of `matching` (nil: those the request's filter matches, or every
    /// row without one), by the strategy `filtered` picks for their number (or `strategy`, for
    /// benchmarks that compare them); the answer's plan says which and why.
    public func search(_ request: SearchRequest, matching: RowSet?, strategy: FilterChoice.Strategy? = nil) throws -> SearchResult {
        try request.validate(dimensions: manifest.dimensions)
        if request.groupByParent { return try searchGroupedByParent(request, matching: matching, strategy: strategy) }
        if request.mode != .semantic { return try searchByMode(request) }
        let vector = try rawVector(of: request)
        return try store.read { snapshot in
            try semanticSearch(request, vector: vector, matching: matching, strategy: strategy, in: snapshot)
        }
    }

    /// The semantic search of `request` in `snapshot`, `vector` its query in the model's raw
    /// space (embedded beforehand, so that no read transaction waits for the encoder).
    func semanticSearch(_ request: SearchRequest, vector: [Float], matching: RowSet?, strategy: FilterChoice.Strategy?,
                        in snapshot: Snapshot) throws -> SearchResult {
        // Loading the head and graph (once per process and committed state) is start-up,
        // like loading the model: the budget and took_ms count from planning on.
        let (record, head) = try currentHead(in: snapshot)
        let graph = request.dims == nil ? try loadedGraph(in: snapshot, head: record) : nil
        let start = DispatchTime.now()
        let deadline = request.deadline(from: start)
        let rows = try matching.map(FilterRows.init) ?? request.filter.map { try filterRows($0, in: snapshot, graph: graph) }
        let unfiltered = try plan(for: request, snapshot: snapshot, graph: graph)
        let choice = try rows.map {
            try filtered(unfiltered, request: request, matching: $0, forced: strategy, snapshot: snapshot, graph: graph)
        } ?? unfiltered
        // Prefixes are taken in the head's space; full dimensions score the raw vectors,
        // which a rotation leaves the same, so only the prefix the plan needs is rotated.
        let prefix = choice.plan.headSpacePrefix(fullDimensions: manifest.dimensions)
        let query = head.apply(vector, prefix: prefix)
        guard hasDirection(choice.plan, query: query, rawQuery: vector) else {
            let shortest = choice.plan.shortestPrefix
            let hint = choice.plan.exact ? "" : " (where the graph walks): give \"dims\" for an exact scan of a longer prefix"
            throw EngineError.invalidRequest(field: "vector", message: "its first \(shortest) dimensions in the index's head space are all zero: no direction to search\(hint)")
        }
        let answer = try run(choice.plan, query: query, rawQuery: vector, k: request.k, snapshot: snapshot,
                             head: record, graph: graph, matching: rows, deadline: deadline)
        // Equal scores in id order (UTF-8 bytes, i.e. code points), so that the shards of a
        // sharded index, merged by score then id, order them as one index does.
        let resolved = try answer.hits.map { try searchHit($0, request: request, snapshot: snapshot, found: "live vector") }
            .sorted { $0.score != $1.score ? $0.score > $1.score : $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
        let took = Index.milliseconds(since: start)
        if let measured = choice.measured {
            plannerCache.withLock { $0?.planner.observe(measured, tookMs: took, distanceComputations: answer.cost.distanceComputations) }
        }
        return SearchResult(
            hits: resolved, plan: choice.plan, partial: answer.partial, widened: answer.widened,
            predictedMs: choice.predictedMs, predictedRecall: choice.recall, tookMs: took,
            distanceComputations: answer.cost.distanceComputations, bytesTouched: answer.cost.bytesTouched,
            vectorsGeneration: graph?.core.key.vectorsGeneration)  // read once per state, with the graph
    }

    /// A row found by a search as the answer shows it: its id, and its text, meta and stored
    /// vector when asked for. `found` names what found the row, for the error a row without
    /// a document (a damaged index) gets.
    func searchHit(_ hit: Hit, request: SearchRequest, snapshot: Snapshot, found: String) throws -> SearchHit {
        let missing = StoreError.corrupt(path: store.directory, detail: "\(found) \(hit.id) has no document")
        let vector = request.includeVectors ? try snapshot.vector(internalID: hit.id) : nil
        if request.includeVectors, vector == nil { throw missing }
        guard request.includeText else {
            guard let id = try snapshot.documentID(internalID: hit.id) else { throw missing }
            return SearchHit(id: id, score: hit.score, text: nil, meta: nil, vector: vector)
        }
        guard let doc = try snapshot.document(internalID: hit.id) else { throw missing }
        return SearchHit(id: doc.id, score: hit.score, text: doc.text, meta: doc.meta, vector: vector)
    }

    /// Milliseconds from `start` to now.
    static func milliseconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
    }

    /// The query in the model's raw space: its vector, or its text embedded.
    func rawVector(of request: SearchRequest) throws -> [Float] {
        if let vector = request.vector { return vector }
        guard acceptsText else {
            throw EngineError.invalidRequest(field: "query", message:
                "index \"\(name)\" holds vectors of your own model (\(manifest.dimensions)-d): search it with a vector")
        }
        return try Model.encoder().embed([request.query ?? ""], precision: textPrecision())[0]
    }

    /// The best chunk per parent: a wider search (8 hits per one asked, which the plan adapts
    /// to), then the first hit of each parent in rank order.
    private func searchGroupedByParent(_ request: SearchRequest, matching: RowSet?, strategy: FilterChoice.Strategy?) throws -> SearchResult {
        var wide = request
        wide.groupByParent = false
        wide.includeText = true
        wide.k = min(request.k * 8, SearchRequest.maxK)
        var result = try search(wide, matching: matching, strategy: strategy)
        var seen = Set<String>()
        result.hits = result.hits.filter { hit in
            let meta = hit.meta.flatMap { try? JSON.parse($0) }
            return seen.insert(meta?["parent"]?.string ?? meta?["path"]?.string ?? hit.id).inserted
        }.prefix(request.k).map { hit in
            request.includeText ? hit : SearchHit(id: hit.id, score: hit.score, text: nil, meta: nil, vector: hit.vector)
        }
        return result
    }

    /// The plan for `request`: an exact scan without a usable graph (or with `dims`), a walk
    /// of the given `ef`, else the planner's choice for the budget; with no cost model
    /// measured yet, a walk of beam `defaultEf`. Returns the predicted ms and its measurement too, and
    /// the predicted recall: 1 for an exact scan of every dimension, the measured one for a
    /// planned or preset plan, nil for a walk nobody measured.
    private func plan(for request: SearchRequest, snapshot: Snapshot, graph: LoadedGraph?) throws -> PlanChoice {
        if let name = request.preset {
            return try presetPlan(name, k: request.k, snapshot: snapshot, graph: graph)
        }
        guard let graph else {
            let dims = request.dims ?? manifest.dimensions
            return (.exact(dims: dims, k: request.k), nil, nil, dims == manifest.dimensions ? 1 : nil)
        }
        if request.ef == nil, let planner = try planner(in: snapshot, graph: graph) {
            let picked = planner.plan(budgetMs: request.budgetMs, k: request.k)
            return (picked.plan, picked.predictedMs, picked.measured, picked.recall)
        }
        let walk = SearchPlan(graphDims: graph.record.dims, ef: request.ef ?? Index.defaultEf,
                              stages: [.init(dims: manifest.dimensions, keep: request.k)], earlyExit: nil, exact: false)
        return (walk.adapted(to: request.k), nil, nil, nil)
    }

    /// A preset's plan, its time predicted like the planner's; `invalidRequest` naming the
    /// presets there are when `name` is not one of them.
    private func presetPlan(_ name: String, k: Int, snapshot: Snapshot, graph: LoadedGraph?) throws -> PlanChoice {
        guard let graph, let planner = try planner(in: snapshot, graph: graph) else {
            throw EngineError.invalidRequest(field: "preset", message: "index \"\(self.name)\" has no measured plans yet (they come with its graph, from 5,000 documents on): run `mrl tune --index \(self.name)`")
        }
        guard let preset = planner.model.preset(name) else {
            let names = planner.model.presets.map(\.name).joined(separator: ", ")
            throw EngineError.invalidRequest(field: "preset", message: "index \"\(self.name)\" has no preset \"\(name)\" (it has \(names)): `mrl tune --index \(self.name) --name \(name) --target-recall R` makes one")
        }
        let scale = planner.currentSlowdown
        return (preset.measurement.plan.adapted(to: k), preset.measurement.meanMs * scale, preset.measurement, preset.measurement.recall)
    }

    /// The beam while no cost model has been measured (recall about 0.96 on MiniLM vectors).
    static let defaultEf = 64

    /// Runs one plan: an exact scan or the funnel, over the rows of `matching` (nil: all) by
    /// the plan's filter strategy. `query` is the head-space prefix the plan needs (see
    /// `headSpacePrefix`), `rawQuery` the query in the model's space; it must pass `hasDirection`.
    func run(_ plan: SearchPlan, query: [Float], rawQuery: [Float], k: Int, snapshot: Snapshot, head: HeadRecord?,
             graph: LoadedGraph?, matching: FilterRows? = nil, deadline: DispatchTime?) throws -> Funnel.Answer {
        guard !plan.exact, let graph else {
            let matching = try matching?.set()
            let dims = plan.stages.last!.dims
            let full = dims == manifest.dimensions
            let blocks = try snapshot.vectorBlocks(space: full ? .raw : head?.space ?? .raw)
            let (hits, cost, partial) = ExactSearch.run(query: full ? rawQuery : query, dimensions: dims, k: k, blocks: blocks, layout: layout,
                                                        matching: matching, threads: scanThreads, deadline: deadline ?? .distantFuture)
            return .init(hits: hits, cost: cost, partial: partial, exitedEarly: false)
        }
        let searcher = graphSearchers.withLock { $0.popLast() } ?? GraphSearcher()
        defer { graphSearchers.withLock { $0.append(searcher) } }
        func walk(_ plan: SearchPlan, k: Int, matching: RowSet?) -> Funnel.Answer {
            graph.funnel.run(query, fullQuery: rawQuery, plan: plan, k: k, graph: graph.graph, vectors: graph.vectors,
                             searcher: searcher, matching: matching, deadline: deadline ?? .distantFuture)
        }
        if let ordered = matching?.ordered, plan.filter?.strategy == .exactScan {
            return graph.funnel.scan(query, fullQuery: rawQuery, plan: plan, k: k, codes: ordered.codes, runs: ordered.runs,
                                     allowed: ordered.allowed, vectors: graph.vectors, deadline: deadline ?? .distantFuture)
        }
        guard let matching = try matching?.set() else { return walk(plan, k: k, matching: nil) }
        if plan.filter?.strategy == .exactScan {
            return graph.funnel.scan(query, fullQuery: rawQuery, plan: plan, k: k, matching: matching, vectors: graph.vectors,
                                     deadline: deadline ?? .distantFuture)
        }
        guard plan.filter?.strategy == .postFilter else { return walk(plan, k: k, matching: matching) }
        return postFiltered(walk(plan, k: plan.stages.last?.keep ?? k, matching: nil), k: k, matching: matching) {
            walk(plan.adapted(to: k), k: k, matching: matching)
        }
    }

    /// Whether the query has a direction wherever `plan` scores it, the condition `run` needs:
    /// in the head-space prefix of the plan's shortest prefix (so in every longer one), and in
    /// the raw vector when a stage scores full dimensions (an adaptor head's offset gives even
    /// a zero vector a head-space direction). `query` is the head-space prefix (at least the
    /// shortest prefix long), `rawQuery` the model-space vector, as `run` takes them.
    func hasDirection(_ plan: SearchPlan, query: [Float], rawQuery: [Float]) -> Bool {
        let shortest = plan.shortestPrefix, full = manifest.dimensions
        let rawHasOne = rawQuery.contains { $0 != 0 }
        guard shortest < full else { return rawHasOne }
        return query.prefix(shortest).contains { $0 != 0 } && (plan.stages.last?.dims != full || rawHasOne)
    }

    /// The planner for the stored cost model, if one was measured on this graph; kept across
    /// snapshots (with what it learnt of the machine's load) while the model is the same.
    func planner(in snapshot: Snapshot, graph: LoadedGraph) throws -> Planner? {
        let version = snapshot.version
        if let cached = plannerCache.withLock({ $0 }), cached.version == version { return cached.planner }
        let stored = try snapshot.meta(Index.costModelKey, as: CostModel.self)
        let plans = (stored?.measurements.map(\.plan) ?? []) + (stored?.presets.map(\.measurement.plan) ?? [])
        // A model measured on an earlier build of a graph over the same prefix stands in until
        // the upkeep measures the new one, seconds later (a rebuild by the query log, a head
        // refit): its plans name beams and prefixes, which the new graph walks alike; only
        // their times and recall are the old graph's. Searches naming a preset go on meanwhile.
        guard let model = stored, !model.measurements.isEmpty,
              model.graphBuiltAt == graph.record.builtAt || plans.allSatisfy({ $0.exact || $0.graphDims == graph.record.dims }) else {
            plannerCache.withLock { $0 = nil }
            return nil
        }
        if let problem = plans.lazy.compactMap({ $0.problem(boundaries: self.layout.boundaries, walked: graph.record.dims) }).first {
            throw StoreError.corrupt(path: store.directory, detail: "cost model: \(problem); `mrl tune` measures it again")
        }
        let planner = plannerCache.withLock { cached in
            let kept = cached?.planner.model == model ? cached!.planner : Planner(model: model)
            cached = (version, kept)
            return kept
        }
        return planner
    }

    static let costModelKey = "cost_model"
}
