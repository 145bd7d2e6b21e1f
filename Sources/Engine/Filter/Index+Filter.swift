import Search
import Store

extension Index {
    /// The live rows of `snapshot` that `filter` matches. The field index is read into
    /// memory once per fields generation and kept; an index without one yet (made before
    /// filters, not opened for writing since) has its documents' meta read each time.
    public func matchingRows(_ filter: Filter, in snapshot: Snapshot) throws -> RowSet {
        try fieldColumns(snapshot).rows(filter, live: try liveRows(snapshot))
    }

    private func fieldColumns(_ snapshot: Snapshot) throws -> FieldColumns {
        guard let generation = try snapshot.fieldsGeneration() else { return try FieldColumns(snapshot, generation: nil) }
        if let cached = fieldColumnsCache.withLock({ $0 }), cached.generation == generation { return cached }
        let fresh = try FieldColumns(snapshot, generation: generation)
        fieldColumnsCache.withLock { $0 = fresh }
        return fresh
    }

    /// Every live row, from the vector blocks' live bytes.
    private func liveRows(_ snapshot: Snapshot) throws -> RowSet {
        let blocks = try snapshot.vectorBlocks()
        var live = RowSet(capacity: blocks.last.map { Int($0.firstID) + $0.rows } ?? 0)
        for block in blocks {
            for i in 0..<block.rows where block.live[i] != 0 { live.insert(block.firstID + UInt32(i)) }
        }
        return live
    }
}
