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
    func beam<Graph: GraphAdjacency>(
        _ graph: Graph, _ vectors: GraphVectors, _ query: UnsafePointer<Float>,
        entry: Hit, level: Int, ef: Int, deadline: UInt64, cost: inout Int,
        allow: (UInt32) -> Bool
    ) -> Bool {
        startBeam(graph, entry: entry, allow: allow)
        return continueBeam(graph, vectors, query, level: level, ef: ef, pauseWidth: nil, deadline: deadline,
                            cost: &cost, allow: allow) == .deadline
    }

    /// How `continueBeam` stopped.
    enum BeamStop { case converged, paused, deadline }

    /// Forgets the last walk and starts one at `entry`.
    func startBeam<Graph: GraphAdjacency>(_ graph: Graph, entry: Hit, allow: (UInt32) -> Bool) {
        visited.reset(nodes: graph.idLimit)
        candidates.removeAll()
        results.removeAll()
        narrow.removeAll()
        deferred.removeAll(keepingCapacity: true)
        _ = visited.insert(entry.id)
        candidates.push(Hit(id: entry.id, score: -entry.score))
        if allow(entry.id) {
            results.push(entry)
            narrow.push(entry)
        }
    }

    /// Walks the beam of width `ef` on until it converges. With `pauseWidth`, it pauses where
    /// a beam that narrow would have converged, its best `pauseWidth` nodes in `narrow`: up to
    /// there it is exactly the narrow beam's walk, since the nodes only the wide beam admits
    /// rank below the narrow beam's last, and wait in `deferred`. Called again without
    /// `pauseWidth`, they become candidates and it goes on to the walk of width `ef` from the
    /// start (the same nodes expanded, in the same order).
    func continueBeam<Graph: GraphAdjacency>(
        _ graph: Graph, _ vectors: GraphVectors, _ query: UnsafePointer<Float>,
        level: Int, ef: Int, pauseWidth: Int?, deadline: UInt64, cost: inout Int,
        allow: (UInt32) -> Bool
    ) -> BeamStop {
        // Locals, written back at the end: see HitHeap.
        var visited = self.visited, candidates = self.candidates, results = self.results, narrow = self.narrow
        var deferred: [Hit] = []
        swap(&deferred, &self.deferred)  // moved, not shared: appending to a shared array would copy it
        defer {
            self.visited = visited; self.candidates = candidates; self.results = results; self.narrow = narrow
            swap(&deferred, &self.deferred)
        }
        if pauseWidth == nil {
            for hit in deferred { candidates.push(hit) }
            deferred.removeAll(keepingCapacity: true)
        }
        var expansions = 0
        while !candidates.isEmpty {
            let next = candidates.pop()
            // The best unexpanded node is worse than the worst kept one: nothing left can enter.
            if results.count >= ef && -next.score < results.top.score { break }
            if let pauseWidth, narrow.count >= pauseWidth && -next.score < narrow.top.score {
                candidates.push(next)
                return .paused
            }
            if expansions & 63 == 0 && deadline != .max && DispatchTime.now().uptimeNanoseconds >= deadline {
                return .deadline
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
                guard results.count < ef || score > results.top.score else { continue }
                let allowed = allow(node)
                if let pauseWidth, narrow.count >= pauseWidth && score <= narrow.top.score {
                    // Only the wide beam takes it: never expanded before the pause, so kept
                    // out of the candidates' heap until then.
                    deferred.append(Hit(id: node, score: -score))
                } else {
                    candidates.push(Hit(id: node, score: -score))
                    if let pauseWidth, allowed {
                        narrow.push(Hit(id: node, score: score))
                        if narrow.count > pauseWidth { _ = narrow.pop() }
                    }
                }
                if allowed {
                    results.push(Hit(id: node, score: score))
                    if results.count > ef { _ = results.pop() }
                }
            }
        }
        return .converged
    }

    /// Empties `results` (or `narrow`, the best of a paused walk) into `out`, best first;
    /// returns how many.
    func drainResults(into out: UnsafeMutablePointer<Hit>, narrow fromNarrow: Bool = false) -> Int {
        let n = fromNarrow ? narrow.count : results.count
        for i in stride(from: n - 1, through: 0, by: -1) { out[i] = fromNarrow ? narrow.pop() : results.pop() }
        return n
    }
}
