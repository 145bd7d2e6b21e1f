import Dispatch

/// The two walks of HNSW, shared by the builder and the searcher: generic over where the
/// links live, allocation-free once the scratch has grown.
extension SearchScratch {
    /// Greedy descent on one upper level: moves to the best-scoring neighbour until none
    /// beats the current node. Upper levels only route, so no filter applies here.
    func greedyClosest<Graph: GraphAdjacency>(
        _ graph: Graph, _ vectors: GraphVectors, _ query: UnsafePointer<Float>,
        from start: Hit, level: Int, cost: inout Int
    ) -> Hit {
        var best = start
        var moved = true
        while moved {
            moved = false
            for node in graph.neighbors(of: best.id, level: level) {
                let score = vectors.similarity(query, node)
                cost &+= 1
                if score > best.score {
                    best = Hit(id: node, score: score)
                    moved = true
                }
            }
        }
        return best
    }

    /// Beam search of width `ef` on one level from `entry`. Afterwards `results` holds the
    /// best `ef` nodes that `allow` accepts (rejected nodes still route the walk). Returns
    /// true if it stopped early because the clock passed `deadline` (uptime nanoseconds),
    /// which is read every 64 expansions, the first included.
    ///
    /// With `settingAside`, it also keeps what it passes over (`outranked`: scored nodes the
    /// beam did not take; `evicted`: nodes that left `results`), so that `widen` can turn
    /// it into the walk of a wider beam at the same point, at no cost unless it does.
    func beam<Graph: GraphAdjacency>(
        _ graph: Graph, _ vectors: GraphVectors, _ query: UnsafePointer<Float>,
        entry: Hit, level: Int, ef: Int, settingAside: Bool = false, deadline: UInt64, cost: inout Int,
        allow: (UInt32) -> Bool
    ) -> Bool {
        visited.reset(nodes: graph.idLimit)
        candidates.removeAll()
        results.removeAll()
        outranked.removeAll(keepingCapacity: true)
        evicted.removeAll(keepingCapacity: true)
        _ = visited.insert(entry.id)
        candidates.push(Hit(id: entry.id, score: -entry.score))
        if allow(entry.id) { results.push(entry) }
        // Two copies of the loop: the plain walk's has no setting aside in it.
        return settingAside
            ? walk(graph, vectors, query, level: level, ef: ef, settingAside: true, deadline: deadline, cost: &cost, allow: allow)
            : walk(graph, vectors, query, level: level, ef: ef, settingAside: false, deadline: deadline, cost: &cost, allow: allow)
    }

    /// Makes the converged walk of the last `beam` (called `settingAside`; its `results`
    /// since drained into `evicted`) the walk of width `ef` at the point where the narrow one
    /// stopped, and walks that on. It expands what a walk of width `ef` from the start expands,
    /// in the same order: up to the narrow beam's stop, the wide beam takes more nodes but
    /// expands none of them (they rank below the narrow beam's last); its results are the best
    /// `ef` accepted nodes scored, its candidates the nodes passed over that rank above their
    /// worst (those below it a wide walk would never expand).
    func widen<Graph: GraphAdjacency>(
        _ graph: Graph, _ vectors: GraphVectors, _ query: UnsafePointer<Float>,
        level: Int, ef: Int, deadline: UInt64, cost: inout Int, allow: (UInt32) -> Bool
    ) -> Bool {
        results.removeAll()
        // The narrow beam's best first: most of what it passed over then ranks too low to enter.
        for hit in [evicted, outranked].joined() where (results.count < ef || hit.score > results.top.score) && allow(hit.id) {
            results.push(hit)
            if results.count > ef { _ = results.pop() }
        }
        for hit in outranked where results.count < ef || hit.score > results.top.score {
            candidates.push(Hit(id: hit.id, score: -hit.score))
        }
        outranked.removeAll(keepingCapacity: true)
        evicted.removeAll(keepingCapacity: true)
        return walk(graph, vectors, query, level: level, ef: ef, settingAside: false, deadline: deadline, cost: &cost, allow: allow)
    }

    /// The beam's loop, from where `candidates` and `results` stand; true if the deadline stopped it.
    @inline(__always)
    private func walk<Graph: GraphAdjacency>(
        _ graph: Graph, _ vectors: GraphVectors, _ query: UnsafePointer<Float>,
        level: Int, ef: Int, settingAside: Bool, deadline: UInt64, cost: inout Int,
        allow: (UInt32) -> Bool
    ) -> Bool {
        // Locals, written back at the end: see HitHeap. The lists are moved, not shared:
        // appending to a shared array would copy it.
        var visited = self.visited, candidates = self.candidates, results = self.results
        var outranked: [Hit] = [], evicted: [Hit] = []
        swap(&outranked, &self.outranked)
        swap(&evicted, &self.evicted)
        defer {
            self.visited = visited; self.candidates = candidates; self.results = results
            swap(&outranked, &self.outranked)
            swap(&evicted, &self.evicted)
        }
        var expansions = 0
        while !candidates.isEmpty {
            let next = candidates.pop()
            // The best unexpanded node is worse than the worst kept one: nothing left can enter.
            if results.count >= ef && -next.score < results.top.score {
                if settingAside { candidates.push(next) }  // a wider beam may expand it
                break
            }
            if expansions & 63 == 0 && deadline != .max && DispatchTime.now().uptimeNanoseconds >= deadline {
                return true
            }
            expansions &+= 1
            // First the unseen neighbours, all asked for at once, so their rows load while
            // the first are scored (one prefetch ahead left most of a walk waiting on memory).
            let links = graph.neighbors(of: next.id, level: level)
            let fresh = pending.reserve(links.count)
            var freshCount = 0
            for node in links where visited.insert(node) {
                vectors.prefetch(node)
                fresh[freshCount] = node
                freshCount &+= 1
            }
            for f in 0..<freshCount {
                let node = fresh[f]
                let score = vectors.similarity(query, node)
                cost &+= 1
                guard results.count < ef || score > results.top.score else {
                    if settingAside { outranked.append(Hit(id: node, score: score)) }
                    continue
                }
                candidates.push(Hit(id: node, score: -score))
                if allow(node) {
                    results.push(Hit(id: node, score: score))
                    if results.count > ef {
                        let out = results.pop()
                        if settingAside { evicted.append(out) }
                    }
                }
            }
        }
        return false
    }

    /// Empties `results` into `out`, best first; returns how many.
    func drainResults(into out: UnsafeMutablePointer<Hit>) -> Int {
        let n = results.count
        for i in stride(from: n - 1, through: 0, by: -1) { out[i] = results.pop() }
        return n
    }
}
