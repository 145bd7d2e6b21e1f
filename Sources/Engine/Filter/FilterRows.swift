import Search
import Store

/// The rows a filter matches, in the form the search's strategy reads them: a row set, or,
/// where the filter is runs of one field's values, those runs of the field's ordered codes
/// (`OrderedCodes`), which the scan reads in sequence without a set. The set is then made
/// only when another strategy needs it (a walk, the post-filter, an exact scan).
final class FilterRows {
    /// How many live rows match.
    let count: Int
    /// The field whose order the runs are in, its codes, the runs, and the positions of them
    /// the filter's other tests pass (nil: all).
    let ordered: (field: String, codes: OrderedCodes, runs: [Range<Int>], allowed: RowSet?)?
    private let makeSet: () throws -> RowSet
    private var made: RowSet?

    init(_ set: RowSet) {
        (count, ordered, made) = (set.count, nil, set)
        makeSet = { set }
    }

    init(count: Int, ordered: (field: String, codes: OrderedCodes, runs: [Range<Int>], allowed: RowSet?),
         makeSet: @escaping () throws -> RowSet) {
        (self.count, self.ordered, self.makeSet) = (count, ordered, makeSet)
    }

    /// The rows as a set, made on first use.
    func set() throws -> RowSet {
        if let made { return made }
        let set = try makeSet()
        made = set
        return set
    }
}

extension Index {
    /// The rows of `snapshot` that `filter` matches, for a search with `graph`: as runs of a
    /// field's ordered codes where `FieldColumns.orderedRuns` finds them (the codes made once
    /// per fields generation and graph state, and kept), those the filter's other tests pass
    /// marked by position; as a row set otherwise.
    func filterRows(_ filter: Filter, in snapshot: Snapshot, graph: LoadedGraph?) throws -> FilterRows {
        let columns = try fieldColumns(snapshot)
        guard let graph, columns.generation != nil, let runs = columns.orderedRuns(filter) else {
            return FilterRows(try matchingRows(filter, in: snapshot))
        }
        let codes = orderedCodes(of: runs.field, order: runs.order, columns: columns, graph: graph)
        var count = runs.rows, allowed: RowSet?
        if let rest = runs.rest {
            let passing = try matchingRows(rest, in: snapshot)
            var positions = RowSet(capacity: runs.order.count)
            for run in runs.runs {
                for p in run where passing.contains(runs.order[p]) { positions.insert(UInt32(p)) }
            }
            (count, allowed) = (positions.count, positions)
        }
        return FilterRows(count: count, ordered: (runs.field, codes, runs.runs, allowed)) { try self.matchingRows(filter, in: snapshot) }
    }

    /// The codes of `field`'s rows (`order`, from `columns`) in that order, for `graph`: kept,
    /// or made from the rows' codes of the graph state (kept too).
    func orderedCodes(of field: String, order: [UInt32], columns: FieldColumns, graph: LoadedGraph) -> OrderedCodes {
        orderedCodesCache.withLock { cache in
            if let kept = cache.fields[field], kept.columns === columns, kept.core === graph.core { return kept.codes }
            let rows = cache.rows.flatMap { $0.core === graph.core ? $0.codes : nil } ?? RowCodes(vectors: graph.vectors)
            cache.rows = .init(core: graph.core, columns: nil, codes: rows)
            let codes = OrderedCodes(rows, order: order)
            cache.fields[field] = .init(core: graph.core, columns: columns, codes: codes)
            return codes
        }
    }

    /// Makes again the ordered codes of the fields filtered searches read so, for `snapshot`'s
    /// fields and graph: the upkeep after a write, so that the next such search finds them
    /// ready (the rows' codes took about 40 ms for the 60,605 Debian rows, by `perf`; then a
    /// copy per field).
    func refreshOrderedCodes(_ columns: FieldColumns, in snapshot: Snapshot) throws {
        let fields = orderedCodesCache.withLock { Array($0.fields.keys) }
        guard !fields.isEmpty, let graph = try loadedGraph(in: snapshot, head: try currentHead(in: snapshot).record) else { return }
        for field in fields {
            if let order = columns.order(of: field) { _ = orderedCodes(of: field, order: order, columns: columns, graph: graph) }
        }
    }
}

/// What `Index.orderedCodesCache` keeps: the rows' codes of a graph state, and per field their
/// copy in its order.
struct OrderedCodesCache {
    /// Codes with the graph state (and field columns) they were made from, held weakly: an old
    /// graph's memory goes with its last search, not with codes nobody reads any more.
    struct Entry<Codes> {
        weak var core: GraphCore?
        weak var columns: FieldColumns?
        let codes: Codes
    }

    var rows: Entry<RowCodes>?
    var fields: [String: Entry<OrderedCodes>] = [:]
}
