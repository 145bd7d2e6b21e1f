import Search
import Store

extension Index {
    /// A plan with what the planner predicts of it: its time (scaled by the machine's recent
    /// slowdown), the model's measurement behind that (fed back to the planner once it ran;
    /// nil when nothing measured it), and its recall@k.
    typealias PlanChoice = (plan: SearchPlan, predictedMs: Double?, measured: PlanMeasurement?, recall: Double?)

    /// The plan for a search of the rows of `matching` (a filter's), given the one chosen
    /// without the filter: a scan of the matching rows (at the walk's prefix, then the plan's
    /// stages; see `Funnel.scan`), the walk keeping only them, or the unfiltered plan for more
    /// hits (see `FilterChoice.choose`). An exact request (`dims`) or an index without a graph
    /// scans them exactly; `forced` overrides the choice otherwise.
    func filtered(_ unfiltered: PlanChoice, request: SearchRequest, matching: FilterRows, forced: FilterChoice.Strategy?,
                  snapshot: Snapshot, graph: LoadedGraph?) throws -> PlanChoice {
        let live = try snapshot.documentCount()
        let measured: Planner? = try graph.flatMap { try self.planner(in: snapshot, graph: $0) }
        let slowdown = measured?.currentSlowdown ?? 1
        // Predictions stand only for plans the planner measured: the exact scan of every live
        // row, and the walk the unfiltered search takes.
        let fullScanMs = measured?.exactScan.map { $0.meanMs * slowdown }
        let share = Double(matching.count) / Double(max(live, 1))
        // A matching row scanned costs a share of a distance computation of the measured walk:
        // both score one of the walk's in-memory rows. Rows read in a field's order cost less
        // (see `FilterChoice.orderedRowCost`), and only the best of them are scored so.
        let distanceMs = unfiltered.measured.flatMap { walk in
            walk.meanDistanceComputations > 0 ? walk.meanMs * slowdown / walk.meanDistanceComputations : nil
        }
        let scanMs = distanceMs.map { distance in
            guard let ordered = matching.ordered else { return distance * FilterChoice.scannedRowCost * Double(matching.count) }
            let read = ordered.runs.reduce(0) { $0 + $1.count }  // the runs' rows, whether the other tests pass them or not
            let scored = min(matching.count, OrderedCodes.candidates(ef: max(unfiltered.plan.ef ?? request.k, request.k)))
            return distance * (FilterChoice.orderedRowCost * Double(read) + FilterChoice.scannedRowCost * Double(scored))
        }
        let walkMs = unfiltered.measured == nil ? nil : unfiltered.predictedMs.map { FilterChoice.predictedWalkMs($0, share: share) }
        var choice: FilterChoice
        if matching.count == 0 {
            choice = .noMatch
        } else if unfiltered.plan.exact {
            let why = graph == nil ? "the index has no graph to walk" : request.dims != nil ? "an exact scan was asked for (dims)" : "the plan is an exact scan"
            choice = FilterChoice(strategy: .exactScan, matching: matching.count, why: why)
        } else if let forced {
            choice = FilterChoice(strategy: forced, matching: matching.count, why: "asked for")
        } else {
            choice = .choose(matching: matching.count, live: live, scanMs: scanMs, walkMs: walkMs)
        }
        var result: PlanChoice
        switch choice.strategy {
        case .exactScan where unfiltered.plan.exact:
            let dims = unfiltered.plan.stages.last?.dims ?? manifest.dimensions
            result = (unfiltered.plan, fullScanMs.map { FilterChoice.predictedScanMs($0, share: share) }, nil, dims == manifest.dimensions ? 1 : nil)
        case .exactScan where matching.count <= unfiltered.plan.ef ?? 0:
            // No more rows than the walk's beam: its stages would rescore them all, so score them
            // exactly at once.
            result = (.exact(dims: manifest.dimensions, k: request.k), fullScanMs.map { FilterChoice.predictedScanMs($0, share: share) }, nil, 1)
        case .exactScan:  // at the walk's prefix, then the plan's stages (see `Funnel.scan`)
            result = (unfiltered.plan, scanMs, nil, nil)
            if let field = matching.ordered?.field { choice.why += "; read in the order of field \"\(field)\"" }
        case .graphWalk:
            result = (unfiltered.plan, walkMs, nil, nil)
        case .postFilter:
            let k = min(FilterChoice.postFilterK(request.k, share: share), SearchRequest.maxK)
            result = (unfiltered.plan.adapted(to: k), unfiltered.predictedMs, unfiltered.measured, unfiltered.recall)
        }
        result.plan.filter = choice
        return result
    }

    /// The post-filter's answer: the hits of `wide` (the unfiltered plan's, asked for more)
    /// that match, the first k; when fewer than k match while more rows do, the walk keeping
    /// only matching rows (`walk`) answers instead, its cost added.
    func postFiltered(_ wide: Funnel.Answer, k: Int, matching: RowSet, walk: () -> Funnel.Answer) -> Funnel.Answer {
        var answer = wide
        answer.hits = Array(wide.hits.filter { matching.contains($0.id) }.prefix(k))
        guard answer.hits.count < min(k, matching.count), !wide.partial else { return answer }
        var walked = walk()
        walked.cost.distanceComputations += wide.cost.distanceComputations
        walked.cost.bytesTouched += wide.cost.bytesTouched
        return walked
    }
}
