import Foundation
import Search
import Store

extension Index {
    /// Cosine gap between the k-th and (k+1)-th candidates after the middle stage past which
    /// the full-dimension stage is skipped (CALM-style): on unit vectors, a ranking that far
    /// apart at 256 of 384 dimensions rarely flips.
    static let earlyExitMargin = 0.03

    /// Beam widths and funnels the planner chooses among: a beam at the graph's prefix,
    /// rescored at full dimensions directly or through the 128-d prefix first; and the exact scan.
    /// Beams go to 1,024: short out-of-distribution queries (PyPI names) stop at recall 0.978 at
    /// 384 and reach 0.99 only at 768 (hnswlib M16 tops out at 0.989 at ef 512).
    static func candidatePlans(graphDims: Int, dimensions: Int, k: Int, layout: PrefixLayout) -> [SearchPlan] {
        let efs = [10, 16, 24, 32, 40, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024]
        var plans: [SearchPlan] = []
        for ef in efs where ef >= k {
            plans.append(SearchPlan(graphDims: graphDims, ef: ef, stages: [.init(dims: dimensions, keep: k)], earlyExit: nil, exact: false))
            if let middle = layout.boundaries.first(where: { $0 > graphDims && $0 < dimensions }), ef >= 4 * k {
                // With and without the early exit: the planner keeps whichever the timings favour.
                for exit in [nil, Index.earlyExitMargin] {
                    plans.append(SearchPlan(graphDims: graphDims, ef: ef, stages: [.init(dims: middle, keep: max(2 * k, ef / 4)),
                                                                                   .init(dims: dimensions, keep: k)],
                                            earlyExit: exit, exact: false))
                }
            }
        }
        return plans + [.exact(dims: dimensions, k: k)]
    }

    /// The plans that widen their beam per query that calibration offers: a walk of `ef`,
    /// rescored at full dimensions, goes on to `wide` for the `share` of the choosing queries
    /// whose k-th hit scores lowest. On held-out Debian titles, PyPI names and the two mixed,
    /// these took 11-22% fewer distance computations than the fixed beam of equal recall, and
    /// from 9% more to 15% less time, mostly less (32 → 128 saved 7-9% of distances but lost
    /// time: left out). They are measured like every plan and chosen only where they are faster.
    static let widenings: [(ef: Int, wide: Int, share: Double)] = [(64, 192, 0.25), (64, 192, 0.5), (96, 256, 0.5), (96, 384, 0.5)]

    /// `widenings` as plans, each threshold the k-th hit's score below which its share of
    /// `queries` (raw vectors) falls under the narrow walk; none without a usable graph.
    func wideningPlans(graphDims: Int, k: Int, queries: [[Float]]) throws -> [SearchPlan] {
        try store.read { snapshot in
            let (record, head) = try currentHead(in: snapshot)
            guard let graph = try loadedGraph(in: snapshot, head: record) else { return [] }
            var kthScores: [Int: [Double]] = [:]
            for ef in Set(Index.widenings.map(\.ef)) where ef >= k {
                let plan = SearchPlan(graphDims: graphDims, ef: ef, stages: [.init(dims: manifest.dimensions, keep: k)], earlyExit: nil, exact: false)
                kthScores[ef] = try queries.compactMap { q -> Double? in
                    let prefix = head.apply(q, prefix: plan.headSpacePrefix(fullDimensions: manifest.dimensions))
                    guard hasDirection(plan, query: prefix, rawQuery: q) else { return nil }
                    let hits = try run(plan, query: prefix, rawQuery: q, k: k, snapshot: snapshot, head: record, graph: graph, deadline: nil).hits
                    return hits.count < k ? -1 : Double(hits[k - 1].score)
                }.sorted()
            }
            return Index.widenings.compactMap { w in
                guard let scores = kthScores[w.ef], !scores.isEmpty else { return nil }
                return SearchPlan(graphDims: graphDims, ef: w.ef, stages: [.init(dims: manifest.dimensions, keep: k)], earlyExit: nil,
                                  exact: false, widen: .init(ef: w.wide, below: quantile(scores, w.share)))
            }
        }
    }

    /// Refuses queries (raw vectors) of another size than the index's, naming the first.
    func checkDimensions(of queries: [[Float]]) throws {
        if let wrong = queries.firstIndex(where: { $0.count != manifest.dimensions }) {
            throw EngineError.invalidRequest(field: "vector", message:
                "of query \(wrong + 1) has \(queries[wrong].count) dimensions, index \"\(name)\" has \(manifest.dimensions)")
        }
    }

    /// Measures recall@k (against exact full-dimension search) and latency of each plan on
    /// `queries` (the model's raw space), each query timed alone as a daemon serves it, from
    /// the query's rotation into head space to the ranked hits. `pause` is called before each
    /// exact search and each timed query, outside the timing (to pace the work; it may throw).
    /// The queries' size is checked by the callers (`checkDimensions`), before anything walks.
    /// A plan of `kept` (an exact scan's, whose time does not depend on the queries) is not
    /// measured again: its measurement is returned as it is.
    func measure(_ plans: [SearchPlan], queries given: [[Float]], k: Int, kept: [PlanMeasurement] = [],
                 progress: (Int, Int) -> Void = { _, _ in }, pause: () throws -> Void = {}) throws -> [PlanMeasurement] {
        try store.read { snapshot in
            let (record, head) = try currentHead(in: snapshot)
            // Every plan runs on the same queries: those with a direction in every plan's prefixes.
            // One rotation per query, to the longest head-space prefix any plan reads.
            let longest = plans.map { $0.headSpacePrefix(fullDimensions: manifest.dimensions) }.max() ?? 0
            let queries = given.filter { q in
                let rotated = head.apply(q, prefix: longest)
                return plans.allSatisfy { hasDirection($0, query: rotated, rawQuery: q) }
            }
            guard !queries.isEmpty else {
                throw EngineError.invalidRequest(field: "queries", message: "none of the \(given.count) queries has a direction in the prefixes the plans search (all zeros there)")
            }
            let graph = try loadedGraph(in: snapshot, head: record)
            let truth = try ExactBatch.run(queries: queries, k: k, blocks: try snapshot.vectorBlocks(space: .raw), layout: layout,
                                           pause: pause).map { Set($0.map(\.id)) }
            func prefix(_ plan: SearchPlan, _ q: [Float]) -> [Float] {
                head.apply(q, prefix: plan.headSpacePrefix(fullDimensions: manifest.dimensions))
            }
            // Plans of one beam that differ only in their stages walk alike: each query's walk
            // runs once, timed, and such a plan's time is its walk's plus its own rotation and
            // stages (the walks of a re-tune were two thirds of its work before).
            let searcher = GraphSearcher()
            var walks: [Int: [(walk: GraphSearchResult, ms: Double)]] = [:]
            func sharedWalks(ef: Int, graph: LoadedGraph, warmUp: Int) throws -> [(walk: GraphSearchResult, ms: Double)] {
                if let done = walks[ef] { return done }
                func walk(_ q: [Float]) -> GraphSearchResult {
                    graph.funnel.walk(head.apply(q, prefix: graph.vectors.dimensions), ef: ef, graph: graph.graph,
                                      vectors: graph.vectors, searcher: searcher)
                }
                for q in queries.prefix(warmUp) { _ = walk(q) }
                let timed = try queries.map { q in
                    try pause()
                    let start = DispatchTime.now()
                    let result = walk(q)
                    return (walk: result, ms: Index.milliseconds(since: start))
                }
                walks[ef] = timed
                return timed
            }
            // The answer to query q and its time.
            func answer(_ plan: SearchPlan, _ q: Int, walks: [(walk: GraphSearchResult, ms: Double)]?) throws -> (Funnel.Answer, Double) {
                let start = DispatchTime.now()
                let rotated = prefix(plan, queries[q])
                if let graph, let walks {
                    let answer = graph.funnel.stages(of: plan, after: walks[q].walk, vectors: graph.vectors, query: rotated,
                                                     fullQuery: queries[q], k: k)
                    return (answer, walks[q].ms + Index.milliseconds(since: start))
                }
                let answer = try run(plan, query: rotated, rawQuery: queries[q], k: k, snapshot: snapshot, head: record, graph: graph, deadline: nil)
                return (answer, Index.milliseconds(since: start))
            }
            return try plans.enumerated().map { p, plan in
                defer { progress(p + 1, plans.count) }
                if let measured = kept.first(where: { $0.plan == plan }) { return measured }
                // Warm-up: the first plan's walks fault the graph's pages in; later plans find them there.
                let warmUp = plan.exact ? 3 : p == 0 ? 20 : 5
                let shared = try graph.flatMap { graph in
                    plan.exact || plan.widen != nil ? nil : try plan.ef.map { try sharedWalks(ef: $0, graph: graph, warmUp: warmUp) }
                }
                // An exact scan finds what the truth holds and takes as long for every query:
                // a few queries time it (it cost as much as all graph plans together).
                let timed = plan.exact ? Array(queries.indices.prefix(Index.exactScanTimingQueries)) : Array(queries.indices)
                for q in timed.prefix(warmUp) { _ = try answer(plan, q, walks: shared) }
                var times: [Double] = [], recalls: [Double] = [], computations = 0
                for q in timed {
                    try pause()
                    let (result, ms) = try answer(plan, q, walks: shared)
                    times.append(ms)
                    recalls.append(Double(result.hits.filter { truth[q].contains($0.id) }.count) / Double(k))
                    computations += result.cost.distanceComputations
                }
                times.sort()
                let n = Double(timed.count), recall = recalls.reduce(0, +) / n
                let spread = (recalls.reduce(0) { $0 + ($1 - recall) * ($1 - recall) } / max(n - 1, 1)).squareRoot()
                return PlanMeasurement(plan: plan, recall: recall, meanMs: times.reduce(0, +) / n,
                                       p50Ms: quantile(times, 0.5), p99Ms: quantile(times, 0.99),
                                       meanDistanceComputations: Double(computations) / n, recallStandardError: spread / n.squareRoot())
            }
        }
    }

    /// Queries an exact scan is timed on in a calibration.
    static let exactScanTimingQueries = 50

    /// Logged queries an index needs before its plans are calibrated on them rather than on
    /// its documents: at 500, the half held out measures a preset's recall to about ±0.01.
    public static let loggedQueriesForCalibration = 500

    /// Measures the candidate plans on `queryCount` queries (see `tune`) and stores the result
    /// as the planner's cost model. Returns nil when the index has no usable graph.
    @discardableResult
    public func calibrate(queryCount: Int = 200, k: Int = 10, seed: UInt64 = 1,
                          progress: (Int, Int) -> Void = { _, _ in }) throws -> CostModel? {
        try tune(queries: nil, sampleCount: queryCount, seed: seed, k: k, progress: progress)
    }

    /// `mrl tune`: measures recall@k (against exact search for the same query) and latency
    /// of every candidate plan, chooses the built-in presets, the named `goals`, and the named
    /// goals of the model it replaces, and stores it all as the planner's cost model.
    ///
    /// The queries are `queries` (raw vectors) if given; else the `sampleCount` most recent of
    /// the query log once it holds `loggedQueriesForCalibration`; else `sampleCount` documents
    /// of the index drawn with `seed`. Half of them (drawn with `seed`) are held out: the
    /// plans are measured and the presets chosen on the other half, and each preset's recall
    /// and latency, what it promises, are measured on the held-out half, never on the queries
    /// that chose it. Returns nil when the index has no usable graph, or when its graph was
    /// rebuilt while the plans were measured.
    ///
    /// A `retune` (the recall monitor's, on a change of queries) keeps the exact scan's timing
    /// of the model it replaces when that was measured on the same graph: the scan's time does
    /// not depend on the queries, and timing it was a sixth of a re-tune's work.
    @discardableResult
    public func tune(queries given: [[Float]]?, sampleCount: Int = 500, seed: UInt64 = 1, k: Int = 10,
                     goals: [(name: String, goal: Preset.Goal)] = [], retune: Bool = false,
                     progress: (Int, Int) -> Void = { _, _ in }, pause: () throws -> Void = {}) throws -> CostModel? {
        let sample = try store.read { snapshot -> (GraphRecord, [[Float]], String, CostModel?)? in
            let head = try snapshot.head()
            guard let graph = try loadedGraph(in: snapshot, head: head) else { return nil }
            let previous = try? snapshot.meta(Index.costModelKey, as: CostModel.self)
            let (queries, source) = try given.map { ($0, "a queries file") }
                ?? recentLoggedQueries(snapshot, count: sampleCount).map { ($0, "logged queries") }
                ?? (sampleDocumentVectors(snapshot, count: sampleCount, seed: seed), "documents")
            return (graph.record, queries, source, previous)
        }
        guard let (graph, queries, source, previous) = sample, !queries.isEmpty else { return nil }
        try checkDimensions(of: queries)  // once, before anything walks with them
        let (choosing, heldOut) = Index.heldOutSplit(queries, seed: seed)
        let plans = Index.candidatePlans(graphDims: graph.dims, dimensions: manifest.dimensions, k: k, layout: layout)
            + (try wideningPlans(graphDims: graph.dims, k: k, queries: choosing))
        let exactScanTiming = retune && previous?.graphBuiltAt == graph.builtAt ? previous?.measurements.filter(\.plan.exact) ?? [] : []
        let measurements = try measure(plans, queries: choosing, k: k, kept: exactScanTiming, progress: progress, pause: pause)
        let builtIn = Set(Preset.builtIn.map(\.name)), asked = Set(goals.map(\.name))
        let kept = (previous?.presets ?? []).filter { !builtIn.contains($0.name) && !asked.contains($0.name) }.map { ($0.name, $0.goal) }
        var presets = Preset.chosen(for: Preset.builtInGoals + kept + goals, from: measurements)
        if !heldOut.isEmpty {
            // An exact scan's recall is 1 on any queries: its measurement on the choosing half stands.
            let walks = Array(Set(presets.map(\.measurement.plan))).filter { !$0.exact }
            let checked = walks.isEmpty ? [] : try measure(walks, queries: heldOut, k: k, pause: pause)
            for i in presets.indices {
                if let measured = checked.first(where: { $0.plan == presets[i].measurement.plan }) { presets[i].measurement = measured }
            }
        }
        var model = CostModel(k: k, queries: queries.count, graphBuiltAt: graph.builtAt, measurements: measurements, presets: presets)
        model.querySource = source
        model.heldOut = heldOut.count
        // Stored only over the graph it was measured on: one rebuilt meanwhile is calibrated anew.
        let stored = try store.putMeta(Index.costModelKey, model) { try currentGraphRecord($0)?.builtAt == graph.builtAt }
        return stored ? model : nil
    }

    /// The queries that choose the plans, and those held out to measure what they promise:
    /// half each, drawn with `seed` (a fusion weight's two halves are drawn alike).
    public static func heldOutSplit<Query>(_ queries: [Query], seed: UInt64) -> (choosing: [Query], heldOut: [Query]) {
        var rng = SplitMix64(seed: seed)
        let shuffled = queries.shuffled(using: &rng)
        return (Array(shuffled.dropFirst(queries.count / 2)), Array(shuffled.prefix(queries.count / 2)))
    }

    /// The `count` most recent queries of the log, when it holds `loggedQueriesForCalibration`.
    private func recentLoggedQueries(_ snapshot: Snapshot, count: Int) throws -> [[Float]]? {
        guard try snapshot.loggedQueryCount() >= Index.loggedQueriesForCalibration else { return nil }
        return try snapshot.loggedQueries().sorted { $0.time > $1.time }.prefix(count).map(\.vector)
    }

    /// The raw vectors of `count` live documents drawn with `seed` (with replacement), of
    /// those that have a direction.
    private func sampleDocumentVectors(_ snapshot: Snapshot, count: Int, seed: UInt64) throws -> [[Float]] {
        let blocks = try snapshot.vectorBlocks(space: .raw)
        var live: [(VectorBlock, Int)] = []
        for block in blocks { for i in 0..<block.rows where block.hasDirection(row: i) { live.append((block, i)) } }
        guard !live.isEmpty else { return [] }
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let (block, row) = live[Int(rng.next() % UInt64(live.count))]
            return (0..<layout.segmentCount).flatMap { s in
                UnsafeBufferPointer(start: block.segments[s] + row * layout.width(s), count: layout.width(s))
            }
        }
    }

    /// Calibrates when the index has a usable graph but no cost model measured on it (a new
    /// graph, or one rebuilt with a change of head). Returns the new model, or nil.
    public func calibrateIfDue(progress: (Int, Int) -> Void = { _, _ in }) throws -> CostModel? {
        guard try store.read(currentGraphRecord) != nil, try costModel() == nil else { return nil }
        return try calibrate(progress: progress)
    }

    /// The stored cost model, if one was measured on the current graph (read from the
    /// records alone: no graph is loaded to answer).
    public func costModel() throws -> CostModel? {
        try store.read { snapshot in
            guard let graph = try currentGraphRecord(snapshot),
                  let model = try snapshot.meta(Index.costModelKey, as: CostModel.self),
                  model.graphBuiltAt == graph.builtAt else { return nil }
            return model
        }
    }

    /// The graph's record when the graph is over the current head, nil otherwise.
    func currentGraphRecord(_ snapshot: Snapshot) throws -> GraphRecord? {
        guard let graph = try snapshot.graphRecord(), graph.isOver(try snapshot.head()) else { return nil }
        return graph
    }
}

extension Index {
    /// Recall@k and latency of every candidate plan of the current graph on `queries` (the
    /// model's raw space), for `mrl-bench ann`, with the widening plans of the stored cost model
    /// (their thresholds chosen by its calibration, not on these queries). Empty when the
    /// index has no usable graph.
    public func measurePlans(rawQueries: [[Float]], k: Int, progress: (Int, Int) -> Void = { _, _ in }) throws -> [PlanMeasurement] {
        try checkDimensions(of: rawQueries)
        guard let graph = try store.read(currentGraphRecord) else { return [] }
        let plans = Index.candidatePlans(graphDims: graph.dims, dimensions: manifest.dimensions, k: k, layout: layout)
            + (try costModel()?.measurements.map(\.plan).filter { $0.widen != nil } ?? [])
        return try measure(plans, queries: rawQueries, k: k, progress: progress)
    }
}
