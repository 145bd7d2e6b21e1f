import Search
import Store

/// The field index in memory as of one fields generation, read in one cursor scan: per
/// field, its distinct values sorted (kind first, strings by bytes), each with its rows. So
/// eq is a binary search, a range or a prefix is one run of values, and a glob is matched
/// once per distinct string.
final class FieldColumns: Sendable {
    /// The generation it was read at; nil when derived from the documents of an index
    /// without a field index (then not kept).
    let generation: UInt64?
    private let columns: [String: FieldColumn]

    init(_ snapshot: Snapshot, generation: UInt64?) throws {
        var columns: [String: FieldColumn] = [:]
        try snapshot.forEachField { name, entries in columns[name] = FieldColumn(entries) }
        self.columns = columns
        self.generation = generation
    }

    /// Where `filter` tests one field whose rows hold one value each (and is not a complement:
    /// `ne`, `exists: false`), its matching rows as runs of positions in the field's order
    /// (`order`, its rows sorted by value): what the ordered scan reads in sequence. Where it
    /// is an `and` with such tests among its members, the runs of the one matching fewest rows,
    /// and the other members as `rest`, which the rows of the runs must pass too; `rows`, the
    /// runs' rows. nil for any other filter.
    func orderedRuns(_ filter: Filter) -> (field: String, order: [UInt32], runs: [Range<Int>], rows: Int, rest: Filter?)? {
        // One test is an `and` of one member.
        let members: [Filter] = if case .and(let members) = filter { members } else { [filter] }
        let narrowest = members.indices.compactMap { i -> (member: Int, field: String, order: [UInt32], runs: [Range<Int>], rows: Int)? in
            guard case .field(let name, let test) = members[i], let order = order(of: name),
                  let runs = columns[name]?.orderedPositions(test) else { return nil }
            return (i, name, order, runs, runs.reduce(0) { $0 + $1.count })
        }.min { $0.rows < $1.rows }
        guard let narrowest else { return nil }
        var others = members
        others.remove(at: narrowest.member)
        return (narrowest.field, narrowest.order, narrowest.runs, narrowest.rows, others.isEmpty ? nil : .and(others))
    }

    /// The rows of `field` sorted by value, where each holds one value (nil otherwise).
    func order(of field: String) -> [UInt32]? {
        columns[field].flatMap { $0.singleValued ? $0.rows : nil }
    }

    /// The rows `filter` matches among the live rows: `not`, `ne` and `exists: false` are
    /// complements within them.
    func rows(_ filter: Filter, live: LiveRows) -> RowSet {
        switch filter {
        case .field(let name, let test):
            var rows = RowSet(capacity: live.capacity)
            switch test {
            case .ne(let value):
                columns[name]?.add(.eq(value), to: &rows)
                return live.all.subtracting(rows)
            case .exists(false):
                columns[name]?.add(.exists(true), to: &rows)
                return live.all.subtracting(rows)
            default:
                columns[name]?.add(test, to: &rows)
                return rows
            }
        case .and(let filters):
            guard let first = filters.first else { return live.all }
            var rows = self.rows(first, live: live)
            for filter in filters.dropFirst() where rows.count > 0 { rows.formIntersection(self.rows(filter, live: live)) }
            return rows
        case .or(let filters):
            var rows = RowSet(capacity: live.capacity)
            for filter in filters { rows.formUnion(self.rows(filter, live: live)) }
            return rows
        case .not(let filter):
            return live.all.subtracting(rows(filter, live: live))
        }
    }
}

/// The live rows of a snapshot, read from its vector blocks' live bytes only when a
/// complement first needs them (a filter without `not`, `ne` or `exists: false` never does),
/// and kept on the index until a write commits.
final class LiveRows {
    /// Rows `0..<capacity` hold every live row.
    let capacity: Int
    private let blocks: [VectorBlock]
    private let version: CommittedVersion
    private let index: Index

    init(_ snapshot: Snapshot, of index: Index) throws {
        blocks = try snapshot.vectorBlocks()
        version = snapshot.version
        self.index = index
        capacity = blocks.last.map { Int($0.firstID) + $0.rows } ?? 0
    }

    var all: RowSet {
        if let cached = index.liveRowsCache.withLock({ $0 }), cached.version == version { return cached.rows }
        var live = RowSet(capacity: capacity)
        for block in blocks {
            for i in 0..<block.rows where block.live[i] != 0 { live.insert(block.firstID + UInt32(i)) }
        }
        index.liveRowsCache.withLock { $0 = (version, live) }
        return live
    }
}

/// One field's entries: `values[i]`'s rows are `rows[starts[i]..<starts[i + 1]]`.
struct FieldColumn: Sendable {
    let values: [FieldValue]
    let starts: [Int]
    let rows: [UInt32]
    /// No row has two values: each appears once in `rows`, so runs of it hold no row twice.
    let singleValued: Bool

    /// From (value, row) entries in any order. Numbers are sorted as plain Doubles and
    /// strings grouped before only their distinct values are sorted: sorting all the entries
    /// as `FieldValue`s (a switch per comparison, a retain per move) took about twice as long.
    init(_ entries: [(value: FieldValue, row: UInt32)]) {
        var bools: [[UInt32]] = [[], []], numbers: [(Double, UInt32)] = [], strings: [[UInt8]: [UInt32]] = [:]
        for (value, row) in entries {
            switch value {
            case .bool(let b): bools[b ? 1 : 0].append(row)
            case .number(let d): numbers.append((d, row))
            case .string(let bytes): strings[bytes, default: []].append(row)
            }
        }
        var values: [FieldValue] = [], starts: [Int] = [], rows: [UInt32] = []
        rows.reserveCapacity(entries.count)
        func add(_ value: FieldValue, _ valueRows: some Sequence<UInt32>) {
            values.append(value)
            starts.append(rows.count)
            rows += valueRows
        }
        for (b, boolRows) in bools.enumerated() where !boolRows.isEmpty { add(.bool(b == 1), boolRows) }
        numbers.sort { $0.0 < $1.0 }
        var i = 0
        while i < numbers.count {
            var end = i + 1
            while end < numbers.count, numbers[end].0 == numbers[i].0 { end += 1 }
            add(.number(numbers[i].0), numbers[i..<end].lazy.map(\.1))
            i = end
        }
        for bytes in strings.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) { add(.string(bytes), strings[bytes] ?? []) }
        starts.append(rows.count)
        (self.values, self.starts, self.rows) = (values, starts, rows)
        var seen = RowSet(capacity: Int(rows.max() ?? 0) + 1)
        seen.insert(contentsOf: rows[...])
        singleValued = seen.count == rows.count
    }

    /// Adds the rows with a value that passes `test` (not `ne` or `exists: false`, which
    /// `FieldColumns` takes as complements).
    func add(_ test: FieldTest, to set: inout RowSet) {
        for run in positions(test) { set.insert(contentsOf: rows[run]) }
    }

    /// `positions(test)` where the test holds of exactly the rows of those positions: not for
    /// `ne` or `exists: false`, whose rows are the complement.
    func orderedPositions(_ test: FieldTest) -> [Range<Int>]? {
        switch test {
        case .ne, .exists(false): nil
        default: positions(test)
        }
    }

    /// The positions in `rows` of the values that pass `test` (`ne` and `exists: false`:
    /// those of `eq` and `exists: true`, their complements), as runs in ascending order that
    /// do not overlap: a range or a prefix is one run, eq one, `in` and a glob one per value.
    func positions(_ test: FieldTest) -> [Range<Int>] {
        let valueRuns: [Range<Int>]
        switch test {
        case .eq(let value), .ne(let value):
            valueRuns = index(of: value).map { [$0..<$0 + 1] } ?? []
        case .isIn(let values):
            valueRuns = Set(values.compactMap(index(of:))).sorted().map { $0..<$0 + 1 }
        case .range(let range):
            let first = firstIndex { range.isBelow($0) }
            valueRuns = [first..<max(first, firstIndex { !range.isAbove($0) })]
        case .prefix(let prefix):
            let start = FieldValue.string(prefix)
            let first = firstIndex { $0 < start }
            valueRuns = [first..<max(first, firstIndex { $0 < start || $0.hasPrefix(prefix) })]
        case .glob(let pattern):
            let glob = Glob(pattern)
            valueRuns = values.indices.filter { glob.matches(values[$0].names) }.map { $0..<$0 + 1 }
        case .exists:
            valueRuns = [0..<values.count]
        }
        return valueRuns.filter { !$0.isEmpty }.map { starts[$0.lowerBound]..<starts[$0.upperBound] }
    }

    /// The first index whose value fails `holds`, which holds for a prefix of the sorted values.
    private func firstIndex(where holds: (FieldValue) -> Bool) -> Int {
        var low = 0, high = values.count
        while low < high {
            let mid = (low + high) / 2
            if holds(values[mid]) { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The index of `value` among the values, if the field has it.
    private func index(of value: FieldValue) -> Int? {
        let i = firstIndex { $0 < value }
        return i < values.count && values[i] == value ? i : nil
    }
}

private extension FieldValue {
    func hasPrefix(_ prefix: [UInt8]) -> Bool {
        if case .string(let bytes) = self { bytes.starts(with: prefix) } else { false }
    }

    /// A string's names between `/`, as a glob reads a path: a leading `/` (folder indexes'
    /// absolute paths) starts no name, so `/home/**` is anchored at the root. None for other
    /// kinds, which no glob matches.
    var names: ArraySlice<[UInt8]> {
        guard case .string(let bytes) = self else { return [] }
        let slash = UInt8(ascii: "/")
        return bytes.dropFirst(bytes.first == slash ? 1 : 0).split(separator: slash, omittingEmptySubsequences: false).map(Array.init)[...]
    }
}
