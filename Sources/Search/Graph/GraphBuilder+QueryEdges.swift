extension GraphBuilder {
    /// What `addQueryEdges` did.
    public struct QueryEdges: Sendable, Equatable {
        /// Links proposed by the queries' neighbour lists (each pair once).
        public var proposed = 0
        /// Links added, into free slots of level 0.
        public var added = 0
        /// Nodes that gained links.
        public var nodes = 0
    }

    /// Links, on level 0, the documents that queries find together (RoarGraph's idea, Chen
    /// et al., PVLDB 2024, in a simple form): each of `neighborLists` is one query's nearest
    /// nodes, best first, and its first is linked with each of the others, both ways. A short
    /// query out of the documents' distribution has true neighbours that lie far apart in a
    /// graph built from the documents alone; once the walk reaches one of them, these links
    /// lead it to the others. Links go only into free slots (a node keeps at most 2M), the
    /// most asked-for first, so the links the documents chose are all kept.
    @discardableResult
    public func addQueryEdges(_ neighborLists: [[UInt32]]) -> QueryEdges {
        // Proposals per node: how many queries ask for each link.
        var asked: [UInt32: [UInt32: Int]] = [:]
        for list in neighborLists {
            guard let pivot = list.first else { continue }
            for other in list.dropFirst() where other != pivot {
                asked[pivot, default: [:]][other, default: 0] += 1
                asked[other, default: [:]][pivot, default: 0] += 1
            }
        }
        var done = QueryEdges()
        let capacity = 2 * parameters.m
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: vectors.dimensions)
        defer { scratch.deallocate() }
        for (node, wanted) in asked.sorted(by: { $0.key < $1.key }) {
            done.proposed += wanted.count
            guard layers.contains(node), let list = layers.list(of: node, level: 0) else { continue }
            let present = Int(list[0] & GraphFormat.countMask)
            guard present < capacity else { continue }  // no free slot: nothing to score
            let existing = Set((0..<present).map { list[1 + $0] })
            vectors.prepare(row: node, into: scratch)
            // Most asked for first, then the closest, then the lower id: the same graph every run.
            let ranked = wanted.filter { !existing.contains($0.key) && layers.contains($0.key) }
                .map { (id: $0.key, times: $0.value, score: vectors.similarity(scratch, $0.key)) }
                .sorted { ($0.times, $0.score, $1.id) > ($1.times, $1.score, $0.id) }
            let room = min(capacity - present, ranked.count)
            guard room > 0 else { continue }  // every link asked for is there already
            for (i, link) in ranked.prefix(room).enumerated() { list[1 + present + i] = link.id }
            list[0] += UInt32(room)
            done.added += room
            done.nodes += 1
        }
        return done
    }
}
