import Search
import Store

extension Index {
    /// The live rows of `snapshot` that `filter` matches. The field index is read into
    /// memory once per fields generation and kept; an index without one yet (made before
    /// filters, not opened for writing since) has its documents' meta read each time.
    public func matchingRows(_ filter: Filter, in snapshot: Snapshot) throws -> RowSet {
        try fieldColumns(snapshot).rows(filter, live: LiveRows(snapshot, of: self))
    }

    /// Reads the filter fields into memory again after a write that changed them, when a
    /// filtered search has read them since the last such refresh, and makes again the codes of
    /// those it read in a field's order (`refreshOrderedCodes`): so the first filtered search
    /// after a write does not wait for it (74-150 ms for five fields of the 60,605 Debian
    /// documents), and an index nobody filters, or writes faster than it is filtered, reads
    /// them no more often than its filtered searches would.
    func refreshFieldColumnsIfUsed() throws {
        guard fieldColumnsUsed.exchange(false, ordering: .relaxed) else { return }
        try store.read { snapshot in
            guard try snapshot.fieldsGeneration() != nil else { return }
            try refreshOrderedCodes(try columns(of: snapshot), in: snapshot)
        }
    }

    func fieldColumns(_ snapshot: Snapshot) throws -> FieldColumns {
        fieldColumnsUsed.store(true, ordering: .relaxed)
        return try columns(of: snapshot)
    }

    /// The field columns of `snapshot`'s fields generation: the cached ones, or read now and cached.
    private func columns(of snapshot: Snapshot) throws -> FieldColumns {
        guard let generation = try snapshot.fieldsGeneration() else { return try FieldColumns(snapshot, generation: nil) }
        if let cached = fieldColumnsCache.withLock({ $0 }), cached.generation == generation { return cached }
        let fresh = try FieldColumns(snapshot, generation: generation)
        fieldColumnsCache.withLock { $0 = fresh }
        return fresh
    }
}
