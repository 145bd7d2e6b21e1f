import Search
import Store

extension Index {
    /// The live rows of `snapshot` that `filter` matches. The field index is read into
    /// memory once per fields generation and kept; an index without one yet (made before
    /// filters, not opened for writing since) has its documents' meta read each time.
    public func matchingRows(_ filter: Filter, in snapshot: Snapshot) throws -> RowSet {
        try fieldColumns(snapshot).rows(filter, live: LiveRows(snapshot, of: self))
    }

    private func fieldColumns(_ snapshot: Snapshot) throws -> FieldColumns {
        guard let generation = try snapshot.fieldsGeneration() else { return try FieldColumns(snapshot, generation: nil) }
        if let cached = fieldColumnsCache.withLock({ $0 }), cached.generation == generation { return cached }
        let fresh = try FieldColumns(snapshot, generation: generation)
        fieldColumnsCache.withLock { $0 = fresh }
        return fresh
    }
}
