import CKernels
import Dispatch

/// Matryoshka adaptive retrieval: candidates from a graph walk over a short prefix, then
/// rescored at longer prefixes, each stage keeping fewer, until the top k at the last.
///
/// ```swift
/// let plan = SearchPlan(graphDims: 64, ef: 48, stages: [.init(dims: 384, keep: 10)], earlyExit: nil, exact: false)
/// let funnel = Funnel(blocks: headBlocks, fullBlocks: rawBlocks, layout: layout, blockRows: 1024)
/// let answer = funnel.run(headPrefix, fullQuery: raw, plan: plan, k: 10, graph: graph, vectors: codes, searcher: searcher)
/// ```
/// Scores are cosines of the truncated vectors (the prefix renormalised), as in the exact scan.
/// A stage at full dimensions scores `fullBlocks` with `fullQuery`: for a rotation head the
/// raw vectors give the same cosines without rotating the whole query.
public final class Funnel: @unchecked Sendable {  // immutable after init
    public let layout: PrefixLayout
    public let blockRows: Int
    /// Per block, pointers to each segment and its squared norms (block b, segment s at
    /// b × segments + s), for the head's copy and for the full-dimension one; and the live
    /// bytes. Flat tables of pointers, so the hot loops index memory, not arrays of structs.
    private let segments: [UnsafePointer<Float>], norms: [UnsafePointer<Float>]
    private let fullSegments: [UnsafePointer<Float>], fullNorms: [UnsafePointer<Float>]
    private let live: [UnsafePointer<UInt8>], rows: [Int]

    /// `blocks` and `fullBlocks` must hold the same ids (the head's copy and the raw one) and
    /// stay valid (their snapshot's state) while the funnel is used.
    public init<Block: PrefixBlock>(blocks: [Block], fullBlocks: [Block], layout: PrefixLayout, blockRows: Int) {
        precondition(blocks.count == fullBlocks.count)
        self.layout = layout
        self.blockRows = blockRows
        segments = blocks.flatMap(\.segments)
        norms = blocks.flatMap(\.segmentSquaredNorms)
        fullSegments = fullBlocks.flatMap(\.segments)
        fullNorms = fullBlocks.flatMap(\.segmentSquaredNorms)
        live = blocks.map(\.live)
        rows = blocks.map(\.rows)
    }

    public struct Answer: Sendable {
        public var hits: [Hit]
        public var cost: SearchCost
        /// The deadline cut the search short; `hits` are the best found until then.
        public var partial: Bool
        /// The early exit skipped the stages after a middle one.
        public var exitedEarly: Bool
        /// The plan's wider beam ran (see `SearchPlan.widen`).
        public var widened: Bool

        public init(hits: [Hit], cost: SearchCost, partial: Bool, exitedEarly: Bool, widened: Bool = false) {
            self.hits = hits
            self.cost = cost
            self.partial = partial
            self.exitedEarly = exitedEarly
            self.widened = widened
        }
    }

    /// Runs `plan` (not exact; stage dims on the layout's boundaries, last stage keeping at
    /// least k) for `query`, the query's head-space prefix long enough for the walk and every
    /// stage short of full dimensions, and `fullQuery` in `fullBlocks`' space; stops at `deadline`.
    ///
    /// With `matching` (a filter's rows), the walk still moves through the rows outside it,
    /// which guide it, but only matching rows enter its results, so every stage scores only them.
    public func run<Graph: GraphAdjacency>(_ query: [Float], fullQuery: [Float], plan: SearchPlan, k: Int, graph: Graph,
                                           vectors: GraphVectors, searcher: GraphSearcher, matching: RowSet? = nil,
                                           deadline: DispatchTime = .distantFuture) -> Answer {
        precondition(!plan.exact && plan.graphDims == vectors.dimensions)
        return live.withUnsafeBufferPointer { live in
            rows.withUnsafeBufferPointer { rows in
                func accepts(_ id: UInt32) -> Bool { isLive(id, live: live, rows: rows) && matching?.contains(id) != false }
                var cost = SearchCost()
                let walk = searcher.search(ExactSearch.normalizedPrefix(query, vectors.dimensions), ef: plan.ef!,
                                           widening: plan.widen?.ef, in: graph, vectors: vectors, deadline: deadline, allow: accepts)
                guard let widen = plan.widen, plan.stages.count == 1 else {
                    return stages(of: plan, after: walk, vectors: vectors, query: query, fullQuery: fullQuery, k: k, deadline: deadline, cost: &cost)
                }
                // One stage, whose scores of the narrow walk's candidates are kept: widened, only
                // what the wide walk adds is scored, and the answer is the wide plan's.
                charge(walk, vectors: vectors, cost: &cost)
                let dims = plan.stages[0].dims
                guard !walk.partial, DispatchTime.now() < deadline else {
                    return Answer(hits: Array(walk.hits.prefix(k)), cost: cost, partial: true, exitedEarly: false)
                }
                var scored = scoreAll(walk.hits, dims: dims, query: query, fullQuery: fullQuery, cost: &cost)
                var widened = false
                // A query whose k-th hit is far from it is one the narrow beam serves poorly.
                if scored.count < k || Double(scored[k - 1].score) < widen.below,
                   let wide = searcher.widen(in: graph, vectors: vectors, deadline: deadline, allow: accepts) {
                    charge(wide, vectors: vectors, cost: &cost)
                    widened = true
                    let narrow = Set(walk.hits.map(\.id)), kept = Set(wide.hits.map(\.id))
                    let added = scoreAll(wide.hits.filter { !narrow.contains($0.id) }, dims: dims, query: query, fullQuery: fullQuery, cost: &cost)
                    scored = (scored.filter { kept.contains($0.id) } + added).sorted(by: Hit.ranksBefore)
                    if wide.partial {
                        return Answer(hits: Array(scored.prefix(k)), cost: cost, partial: true, exitedEarly: false, widened: true)
                    }
                }
                return Answer(hits: Array(scored.prefix(k)), cost: cost, partial: false, exitedEarly: false, widened: widened)
            }
        }
    }

    /// The walk `run` starts a plan of beam `ef` (not widening) with, unfiltered: with
    /// `stages(of:after:)`, what `run` answers. Calibration times plans that differ only in
    /// their stages on one walk.
    public func walk<Graph: GraphAdjacency>(_ query: [Float], ef: Int, graph: Graph, vectors: GraphVectors,
                                            searcher: GraphSearcher) -> GraphSearchResult {
        live.withUnsafeBufferPointer { live in
            rows.withUnsafeBufferPointer { rows in
                searcher.search(ExactSearch.normalizedPrefix(query, vectors.dimensions), ef: ef, in: graph, vectors: vectors) {
                    isLive($0, live: live, rows: rows)
                }
            }
        }
    }

    /// `plan`'s stages over `walk`, a walk of `walk(_:ef:...)` of the plan's beam.
    public func stages(of plan: SearchPlan, after walk: GraphSearchResult, vectors: GraphVectors, query: [Float], fullQuery: [Float],
                       k: Int) -> Answer {
        var cost = SearchCost()
        return stages(of: plan, after: walk, vectors: vectors, query: query, fullQuery: fullQuery, k: k, deadline: .distantFuture, cost: &cost)
    }

    /// Runs `plan` with every row of `matching` scored on the walk's vectors in place of the
    /// walk: the best `ef` of them go through the plan's stages. For filters too selective to
    /// walk for: the walk's rows are in memory and a fraction of a stored row's bytes, and a
    /// stored 384-d row scattered in the map took 0.7 µs to score on the Debian vectors.
    public func scan(_ query: [Float], fullQuery: [Float], plan: SearchPlan, k: Int, matching: RowSet,
                     vectors: GraphVectors, deadline: DispatchTime = .distantFuture) -> Answer {
        var rows: [UInt32] = []
        rows.reserveCapacity(matching.count)
        matching.forEach { rows.append($0) }
        var cost = SearchCost()
        return scan(query, fullQuery: fullQuery, plan: plan, k: k, vectors: vectors, deadline: deadline, cost: &cost, rows: rows)
    }

    /// `scan(matching:)` for a filter's rows laid out as `runs` of `codes` (those of its
    /// positions in `allowed`, if given): every one ranked on the codes, read in sequence, and
    /// only the best `OrderedCodes.candidates(ef:)` scored on the walk's vectors before the
    /// plan's stages.
    public func scan(_ query: [Float], fullQuery: [Float], plan: SearchPlan, k: Int, codes: OrderedCodes, runs: [Range<Int>],
                     allowed: RowSet? = nil, vectors: GraphVectors, deadline: DispatchTime = .distantFuture) -> Answer {
        let ef = max(plan.ef ?? k, k)
        let ranked = codes.best(query, runs: runs, allowed: allowed, keep: OrderedCodes.candidates(ef: ef), deadline: deadline)
        var cost = SearchCost()
        cost.distanceComputations = ranked.scored
        cost.bytesTouched = ranked.scored * codes.bytesPerRow
        var answer = scan(query, fullQuery: fullQuery, plan: plan, k: k, vectors: vectors, deadline: deadline, cost: &cost, rows: ranked.ids)
        answer.partial = answer.partial || ranked.partial
        return answer
    }

    /// `rows` scored on the walk's vectors: the best `ef` go through the plan's stages; their
    /// cost is added to `cost`.
    private func scan(_ query: [Float], fullQuery: [Float], plan: SearchPlan, k: Int, vectors: GraphVectors, deadline: DispatchTime,
                      cost: inout SearchCost, rows ids: [UInt32]) -> Answer {
        let prefix = ExactSearch.normalizedPrefix(query, vectors.dimensions)
        var prepared = [Float](repeating: 0, count: vectors.dimensions)
        prefix.withUnsafeBufferPointer { q in
            prepared.withUnsafeMutableBufferPointer { out in
                if let q = q.baseAddress, let out = out.baseAddress { vectors.prepare(query: q, into: out) }
            }
        }
        var top = TopK(k: max(plan.ef ?? k, k)), scored = 0, partial = false
        prepared.withUnsafeBufferPointer { q in live.withUnsafeBufferPointer { live in rows.withUnsafeBufferPointer { rows in
            guard let q = q.baseAddress else { return }
            // Rows are asked for a few ahead, as the walk asks for its neighbours.
            let ahead = 8
            for id in ids.prefix(ahead) { vectors.prefetch(id) }
            for (i, id) in ids.enumerated() {
                if i + ahead < ids.count { vectors.prefetch(ids[i + ahead]) }
                if i & 1023 == 1023, deadline != .distantFuture, DispatchTime.now() > deadline {
                    partial = true
                    break
                }
                guard isLive(id, live: live, rows: rows) else { continue }
                scored += 1
                let similarity = vectors.similarity(q, id)
                if similarity > top.threshold { top.offer(Hit(id: id, score: similarity)) }
            }
        } } }
        let candidates = GraphSearchResult(hits: top.sorted(), distanceComputations: scored, partial: partial)
        return stages(of: plan, after: candidates, vectors: vectors, query: query, fullQuery: fullQuery, k: k, deadline: deadline, cost: &cost)
    }

    /// Whether row `id` holds a live vector: in a block, below its row count, not deleted.
    private func isLive(_ id: UInt32, live: UnsafeBufferPointer<UnsafePointer<UInt8>>, rows: UnsafeBufferPointer<Int>) -> Bool {
        let b = Int(id) / blockRows, row = Int(id) % blockRows
        return b < live.count && row < rows[b] && live[b][row] != 0
    }

    /// Counts a walk's distance computations and the bytes its rows took.
    private func charge(_ walk: GraphSearchResult, vectors: GraphVectors, cost: inout SearchCost) {
        cost.distanceComputations += walk.distanceComputations
        cost.bytesTouched += walk.distanceComputations * vectors.bytesPerRow
    }

    /// Every candidate's cosine at `dims` (a stage's), best first.
    private func scoreAll(_ candidates: [Hit], dims: Int, query: [Float], fullQuery: [Float], cost: inout SearchCost) -> [Hit] {
        let full = dims == layout.dimensions
        return rescore(candidates, query: ExactSearch.normalizedPrefix(full ? fullQuery : query, dims),
                       segments: full ? fullSegments : segments, norms: full ? fullNorms : norms, cost: &cost)
    }

    /// The plan's stages over a walk's hits, its cost added to `cost`.
    private func stages(of plan: SearchPlan, after walk: GraphSearchResult, vectors: GraphVectors, query: [Float], fullQuery: [Float], k: Int,
                        deadline: DispatchTime, cost: inout SearchCost) -> Answer {
        charge(walk, vectors: vectors, cost: &cost)
        var candidates = walk.hits
        var partial = walk.partial, exitedEarly = false
        for (s, stage) in plan.stages.enumerated() {
            if partial || DispatchTime.now() >= deadline {
                partial = true
                break
            }
            candidates = Array(scoreAll(candidates, dims: stage.dims, query: query, fullQuery: fullQuery, cost: &cost).prefix(stage.keep))
            if let margin = plan.earlyExit, s < plan.stages.count - 1, candidates.count > k,
               candidates[k - 1].score - candidates[k].score > Float(margin) {
                exitedEarly = true
                break
            }
        }
        return Answer(hits: Array(candidates.prefix(k)), cost: cost, partial: partial, exitedEarly: exitedEarly)
    }

    /// The candidates' cosines at the query prefix's length, best first.
    private func rescore(_ candidates: [Hit], query: [Float], segments: [UnsafePointer<Float>], norms: [UnsafePointer<Float>],
                         cost: inout SearchCost) -> [Hit] {
        let dims = query.count, perBlock = layout.segmentCount
        let used = layout.boundaries.firstIndex(of: dims)!  // stage dims fall on boundaries
        var scored = [Hit]()
        scored.reserveCapacity(candidates.count)
        query.withUnsafeBufferPointer { q in
            segments.withUnsafeBufferPointer { segments in
                norms.withUnsafeBufferPointer { norms in
                    // Candidates are scattered rows the hardware prefetchers cannot foresee:
                    // each is asked for `ahead` candidates before it is scored.
                    let ahead = 4
                    func prefetch(_ c: Int) {
                        guard c < candidates.count else { return }
                        let block = Int(candidates[c].id) / blockRows, row = Int(candidates[c].id) % blockRows
                        for s in 0..<used {
                            let width = layout.width(s), start = UnsafeRawPointer(segments[block * perBlock + s] + row * width)
                            for line in stride(from: 0, to: width * MemoryLayout<Float>.size, by: 64) { mrl_prefetch(start + line) }
                            mrl_prefetch(norms[block * perBlock + s] + row)
                        }
                    }
                    for c in 0..<ahead { prefetch(c) }
                    for (c, candidate) in candidates.enumerated() {
                        prefetch(c + ahead)
                        let block = Int(candidate.id) / blockRows, row = Int(candidate.id) % blockRows
                        var dot: Float = 0, squared: Float = 0
                        for s in 0..<used {
                            let width = layout.width(s)
                            dot += mrl_dot(q.baseAddress! + layout.boundaries[s], segments[block * perBlock + s] + row * width, width)
                            squared += norms[block * perBlock + s][row]
                        }
                        scored.append(Hit(id: candidate.id, score: squared > 0 ? dot / squared.squareRoot() : -.infinity))
                    }
                }
            }
        }
        cost.distanceComputations += candidates.count
        cost.bytesTouched += candidates.count * dims * MemoryLayout<Float>.size
        scored.sort(by: Hit.ranksBefore)
        return scored
    }
}
