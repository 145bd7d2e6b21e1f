/// Deleting: the node leaves every list, and each node that linked to it is re-linked so
/// the graph stays navigable around the hole.
extension GraphBuilder {
    /// Removes one node; see `delete(_:)`.
    public func delete(id: UInt32) { delete([id]) }

    /// Removes nodes from the graph: each node that linked to one of them at some level
    /// re-chooses its links there, by the insert rule, among its remaining links and the
    /// deleted nodes' links. A deleted entry point is replaced by a node of the highest
    /// remaining level. Ids not in the graph are ignored; their vectors are left as they are.
    ///
    /// Finding who links to a node means reading every list (links are one-way), so one
    /// call costs a pass over the graph whatever its size: delete in batches.
    public func delete<Ids: Sequence>(_ ids: Ids) where Ids.Element == UInt32 {
        var doomed = [Bool](repeating: false, count: layers.idLimit)
        var any = false
        for id in ids where layers.contains(id) {
            doomed[Int(id)] = true
            any = true
        }
        guard any else { return }
        let worker = workers.first ?? BuildWorker(dimensions: vectors.dimensions, m: parameters.m)
        for level in 0...layers.maxLevel {
            for node in 0..<UInt32(layers.idLimit) where !doomed[Int(node)] && (layers.level(of: node) ?? -1) >= level {
                if layers.neighbors(of: node, level: level).contains(where: { doomed[Int($0)] }) {
                    relink(node, level: level, doomed: doomed, worker: worker)
                }
            }
        }
        for node in doomed.indices where doomed[node] { layers.remove(UInt32(node)) }
        if let entry = layers.entryPoint, doomed[Int(entry)] {
            var best: (node: UInt32, level: Int)?
            for node in 0..<UInt32(layers.idLimit) {
                if let level = layers.level(of: node), level > best?.level ?? -1 { best = (node, level) }
            }
            layers.entryPoint = best?.node
            layers.maxLevel = best?.level ?? 0
        }
    }

    /// Re-chooses the links of `node` at `level` among its live links and the live links
    /// of its deleted ones.
    private func relink(_ node: UInt32, level: Int, doomed: [Bool], worker: BuildWorker) {
        let old = layers.neighbors(of: node, level: level)
        let capacity = level == 0 ? 2 * parameters.m : parameters.m
        let hits = worker.pruned.reserve(old.count * (capacity + 1))
        let base = worker.nodeQuery.pointer
        vectors.prepare(row: node, into: base)
        var visited = worker.scratch.visited
        defer { worker.scratch.visited = visited }
        visited.reset(nodes: layers.idLimit)
        _ = visited.insert(node)
        var count = 0
        func offer(_ candidate: UInt32) {
            guard !doomed[Int(candidate)], visited.insert(candidate) else { return }
            hits[count] = Hit(id: candidate, score: vectors.similarity(base, candidate))
            count += 1
        }
        for link in old {
            if doomed[Int(link)] {
                for far in layers.neighbors(of: link, level: level) { offer(far) }
            } else {
                offer(link)
            }
        }
        sortBestFirst(hits, count: count)
        // Two hops can offer ~M0² candidates; the best efConstruction are the ones an insert
        // would have chosen from, and keep the heuristic's pairwise work bounded.
        count = min(count, parameters.efConstruction)
        let kept = selectDiverse(hits, count: count, limit: capacity, vectors: vectors, scratch: worker.other.pointer)
        layers.setLinks(of: node, level: level, to: hits, count: kept)
    }
}
