import CLMDB
@testable import Engine
import Foundation
import Search
@testable import Store
import XCTest

/// `Index.matchingRows` against a brute-force reading of every stored document's meta, for
/// random documents and random filters, through upserts, changes, deletes, a repeated id in
/// one batch, reopening, and an index made before the field index existed.
final class MatchingRowsTests: XCTestCase {
    static let dims = 32
    private var rng = SplitMix64(seed: 2026)

    private func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }

    // MARK: random documents and filters

    private let strings: [JSON] = ["", "a", "ab", "abc", "b", "é", "Ab", "src/a.swift", .string(String(repeating: "x", count: 300))]
    private let numbers: [JSON] = [0, -0.0, 1, -1, 2.5, 3, 1e300, -1e300, .integer(Int64.max)]
    private let fields = ["color", "size", "tags", "path", "ext", "n", "o.x", "o", "missing"]
    private let paths = ["src/a.swift", "src/deep/b.SWIFT", "docs/README.md", "x/.bashrc", "a.tar.GZ", "notes.", "Makefile", "/home/u/src/c.swift", "/docs/x.md"]

    private func scalar() -> JSON {
        switch rng.next() % 3 {
        case 0: pick(strings)
        case 1: pick(numbers)
        default: .bool(rng.next() % 2 == 0)
        }
    }

    private func meta() -> String? {
        guard rng.next() % 8 != 0 else { return nil }
        var object: [String: JSON] = [:]
        for field in ["color", "size", "tags", "n", "o", "ext"] where rng.next() % 3 != 0 {
            switch rng.next() % 6 {
            case 0: object[field] = .array((0..<Int(rng.next() % 4)).map { _ in scalar() })
            case 1: object[field] = ["x": scalar(), "y": [scalar()]]
            case 2: object[field] = .null
            default: object[field] = scalar()
            }
        }
        if rng.next() % 2 == 0 { object["path"] = .string(pick(paths)) }
        return JSON.object(object).serialized
    }

    private func filter(depth: Int = 0) -> JSON {
        if depth < 3, rng.next() % 3 == 0 {
            switch rng.next() % 3 {
            case 0: return ["and": .array((0..<1 + Int(rng.next() % 3)).map { _ in filter(depth: depth + 1) })]
            case 1: return ["or": .array((0..<1 + Int(rng.next() % 3)).map { _ in filter(depth: depth + 1) })]
            default: return ["not": filter(depth: depth + 1)]
            }
        }
        let field = JSON.string(pick(fields))
        let bound = { () -> JSON in self.rng.next() % 2 == 0 ? self.pick(self.numbers) : self.pick(Array(self.strings.dropLast())) }
        switch rng.next() % 7 {
        case 0: return ["field": field, "eq": scalar().withoutLongStrings]
        case 1: return ["field": field, "ne": scalar().withoutLongStrings]
        case 2: return ["field": field, "in": .array((0..<1 + Int(rng.next() % 3)).map { _ in scalar().withoutLongStrings })]
        case 3:
            let low = bound()
            var range: [String: JSON] = [pick(["gt", "gte"]): low]
            if rng.next() % 2 == 0 { range[pick(["lt", "lte"])] = low.string != nil ? pick(["b", "z", "é"]) : pick([1, 3, 1e301]) }
            return ["field": field, "range": .object(range)]
        case 4: return ["field": field, "prefix": pick(["", "a", "src/", "A", "é"])]
        case 5: return ["field": field, "glob": pick(["*.swift", "src/**", "**/*.md", "?", "[ab]*", "*", "/home/**/*.swift", "**/src/**", "/docs/*"])]
        default: return ["field": field, "exists": .bool(rng.next() % 2 == 0)]
        }
    }

    // MARK: the reference

    /// The field's values in a meta object, by the README's rules, read straight off the JSON.
    private func values(of field: String, in meta: [String: JSON]) -> [JSON] {
        var found: [JSON] = []
        func walk(_ name: String, _ value: JSON) {
            if case .object(let members) = value {
                for (key, member) in members { walk(name + "." + key, member) }
            } else if name == field {
                for element in value.array ?? [value] where element.isScalar { found.append(element) }
            }
        }
        for (key, value) in meta { walk(key, value) }
        if field == "ext", meta["ext"] == nil, let path = meta["path"]?.string {
            let name = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? ""
            if let dot = name.lastIndex(of: "."), dot != name.startIndex, name.index(after: dot) != name.endIndex {
                found.append(.string(name[name.index(after: dot)...].lowercased()))
            }
        }
        return found.filter { $0.string.map { $0.utf8.count <= 256 } ?? true }
    }

    private func matches(_ filter: JSON, _ meta: [String: JSON]) -> Bool {
        if let members = filter["and"]?.array { return members.allSatisfy { matches($0, meta) } }
        if let members = filter["or"]?.array { return members.contains { matches($0, meta) } }
        if let inner = filter["not"] { return !matches(inner, meta) }
        let values = values(of: filter["field"]?.string ?? "", in: meta)
        if let wanted = filter["eq"] { return values.contains { same($0, wanted) } }
        if let unwanted = filter["ne"] { return !values.contains { same($0, unwanted) } }
        if let options = filter["in"]?.array { return values.contains { value in options.contains { same(value, $0) } } }
        if let exists = filter["exists"]?.bool { return values.isEmpty != exists }
        if let prefix = filter["prefix"]?.string { return values.contains { $0.string.map { Array($0.utf8).starts(with: Array(prefix.utf8)) } ?? false } }
        if let pattern = filter["glob"]?.string {
            let glob = Glob(pattern)
            return values.contains { value in
                // A leading / starts no name: absolute paths match globs anchored at the root.
                value.string.map { path in
                    let names = path.split(separator: "/", omittingEmptySubsequences: false).map { Array($0.utf8) }
                    return glob.matches(names.dropFirst(path.hasPrefix("/") ? 1 : 0))
                } ?? false
            }
        }
        let range = filter["range"]?.object ?? [:]
        return values.contains { value in
            range.allSatisfy { bound, limit in
                guard let order = compare(value, limit) else { return false }
                switch bound {
                case "gt": return order > 0
                case "gte": return order >= 0
                case "lt": return order < 0
                default: return order <= 0
                }
            }
        }
    }

    private func same(_ a: JSON, _ b: JSON) -> Bool { compare(a, b) == 0 }

    /// -1, 0, 1 for two values of one kind (numbers as Doubles, strings by UTF-8 bytes); nil across kinds.
    private func compare(_ a: JSON, _ b: JSON) -> Int? {
        if let x = a.number, let y = b.number { return x < y ? -1 : x > y ? 1 : 0 }
        if let x = a.string.map({ Array($0.utf8) }), let y = b.string.map({ Array($0.utf8) }) {
            return x == y ? 0 : x.lexicographicallyPrecedes(y) ? -1 : 1
        }
        if let x = a.bool, let y = b.bool { return x == y ? 0 : !x ? -1 : 1 }
        return nil
    }

    // MARK: the checks

    private var metas: [String: String?] = [:]

    private func document(_ id: String) -> DocumentInput {
        let meta = meta()
        metas[id] = .some(meta)
        let vector = (0..<MatchingRowsTests.dims).map { _ in Float(rng.next() % 1000) / 1000 + 0.01 }
        return DocumentInput(id: id, text: "doc \(id)", meta: meta, vector: vector)
    }

    private func assertMatchesReference(_ index: Index, filters count: Int = 150, file: StaticString = #filePath, line: UInt = #line) throws {
        for _ in 0..<count {
            let json = filter()
            let filter = try Filter(json: json)
            let found = try index.store.read { snapshot in
                var ids: Set<String> = []
                try index.matchingRows(filter, in: snapshot).forEach { row in
                    if let id = try snapshot.documentID(internalID: row) { ids.insert(id) } else { XCTFail("row \(row) is not live") }
                }
                return ids
            }
            let expected = Set(metas.compactMap { id, meta in
                matches(json, (meta.flatMap { try? JSON.parse(Array($0.utf8)) }?.object) ?? [:]) ? id : nil
            })
            XCTAssertEqual(found, expected, "\(json.serialized)", file: file, line: line)
        }
    }

    func testMatchingRowsEqualsABruteForceReadingOfTheMeta() throws {
        let data = temporaryData(self)
        var index: Index? = try Index.create(name: "f", in: data, dimensions: MatchingRowsTests.dims, model: nil)
        _ = try index?.upsert((0..<400).map { document("d\($0)") })
        try assertMatchesReference(try XCTUnwrap(index))

        // Changes, deletes (their rows reused by new documents), and one id twice in a batch.
        _ = try index?.upsert((0..<100).map { document("d\($0 * 3)") })
        XCTAssertEqual(try index?.delete(ids: (0..<60).map { "d\($0 * 5 + 1)" }), 60)
        for n in 0..<60 { metas["d\(n * 5 + 1)"] = nil }
        _ = try index?.upsert((0..<30).map { document("new\($0)") } + [document("d2"), document("d2")])
        try assertMatchesReference(try XCTUnwrap(index))

        index = nil
        let reopened = try Index.open(name: "f", in: data, mode: .read)
        try assertMatchesReference(reopened, filters: 50)
    }

    /// Once a filtered search has read the fields, the upkeep after a write that changed them
    /// reads them again, so the next filtered search finds them ready; without a filtered
    /// search since (or ever), it reads nothing.
    func testUpkeepReadsChangedFieldsAgainOnceFiltersUseThem() throws {
        let index = try Index.create(name: "u", in: temporaryData(self), dimensions: MatchingRowsTests.dims, model: nil)
        _ = try index.upsert((0..<50).map { document("d\($0)") })
        _ = try index.upkeep()
        XCTAssertNil(index.fieldColumnsCache.withLock { $0 }, "no filter used: nothing read")
        let filter = try Filter(json: ["field": "path", "exists": true])
        _ = try index.store.read { try index.matchingRows(filter, in: $0) }
        let first = try XCTUnwrap(index.fieldColumnsCache.withLock { $0 }?.generation)
        _ = try index.upsert((50..<80).map { document("d\($0)") })
        let changed = try XCTUnwrap(try index.store.read { try $0.fieldsGeneration() })
        XCTAssertNotEqual(changed, first)
        XCTAssertEqual(index.fieldColumnsCache.withLock { $0 }?.generation, first, "the write itself reads nothing")
        _ = try index.upkeep()
        XCTAssertEqual(index.fieldColumnsCache.withLock { $0 }?.generation, changed)
        // No filtered search since: the next write's upkeep leaves them for the next one.
        _ = try index.upsert((80..<90).map { document("d\($0)") })
        _ = try index.upkeep()
        XCTAssertEqual(index.fieldColumnsCache.withLock { $0 }?.generation, changed)
    }

    /// Made before the field index, or left with its database created but never filled by a
    /// run that died in between: either way the index gets it on its first write open.
    func testAnIndexWithoutACompleteFieldIndexGetsItOnItsFirstWriteOpen() throws {
        for leftEmpty in [false, true] {
            let data = temporaryData(self)
            var index: Index? = try Index.create(name: "old", in: data, dimensions: MatchingRowsTests.dims, model: nil)
            metas = [:]
            _ = try index?.upsert((0..<200).map { document("d\($0)") })
            try XCTUnwrap(index).store.dropFieldIndex(leavingItEmpty: leftEmpty)
            index = nil

            // Opened for reading, it has no field index: filters read the documents' meta.
            var reader: Index? = try Index.open(name: "old", in: data, mode: .read)
            XCTAssertNil(try reader?.store.read { try $0.fieldsGeneration() })
            try assertMatchesReference(try XCTUnwrap(reader), filters: 50)
            reader = nil

            let writer = try Index.open(name: "old", in: data, mode: .write)
            XCTAssertNotNil(try writer.store.read { try $0.fieldsGeneration() })
            try assertMatchesReference(writer, filters: 50)
            _ = try writer.upsert((0..<20).map { document("d\($0)") })
            try assertMatchesReference(writer, filters: 50)
        }
    }
}

extension MatchingRowsTests {
    /// A daemon opens an index for reading while another process builds its field index,
    /// then becomes its writer: its writes do not keep that index, so it must stop being
    /// taken for complete (by anyone) until a write open builds it again.
    func testAWriterThatDoesNotKeepTheFieldIndexUnmarksIt() throws {
        let data = temporaryData(self)
        var index: Index? = try Index.create(name: "x", in: data, dimensions: MatchingRowsTests.dims, model: nil)
        _ = try index?.upsert((0..<100).map { document("d\($0)") })
        try XCTUnwrap(index).store.dropFieldIndex(leavingItEmpty: false)
        index = nil

        var reader: Index? = try Index.open(name: "x", in: data, mode: .read)
        let store = try XCTUnwrap(reader).store
        // Another process's first write open, as this environment sees it: database built and marked.
        let fields = try store.env.openDatabases(FieldIndex.databaseNames, create: true)
        try store.build([(FieldIndex(databases: fields), fields)])
        try store.takeWriterLock()
        _ = try reader?.upsert((0..<50).map { document("d\($0)") })
        XCTAssertNil(try store.read { try $0.fieldsGeneration() })
        try assertMatchesReference(try XCTUnwrap(reader), filters: 30)
        reader = nil

        let later = try Index.open(name: "x", in: data, mode: .read)
        XCTAssertNil(try later.store.read { try $0.fieldsGeneration() }, "not marked complete")
        try assertMatchesReference(later, filters: 30)
    }
}

private extension JSON {
    var isScalar: Bool { string != nil || number != nil || bool != nil }

    /// Filters may not hold strings longer than a field can: the long one becomes short.
    var withoutLongStrings: JSON { (string?.utf8.count ?? 0) > 256 ? "x" : self }
}

extension IndexStore {
    /// Makes this index as one made before the field index (its database, generation and
    /// mark gone), or as one whose run died after creating the database and before filling it.
    func dropFieldIndex(leavingItEmpty: Bool) throws {
        let fields = try XCTUnwrap(documentIndex(FieldIndex.self)).fields
        try env.write { txn in
            try Environment.check(mdb_drop(txn.handle, fields, leavingItEmpty ? 0 : 1), "drop the field index", directory)
            try txn.delete(meta, FieldIndex.generationKey)
            try txn.delete(meta, IndexStore.builtKey(FieldIndex.self))
        }
    }
}
