import Foundation
import JSONValue
import Store
import XCTest

/// The field index's generation moves exactly when its entries do, so a reader's copy of it
/// is reloaded when needed and kept otherwise; and values at the key size limits are stored.
final class FieldIndexTests: XCTestCase {
    private func document(_ id: String, text: String = "t", meta: String?) -> DocumentWrite {
        var hash = ContentHash()
        hash.add(text)
        hash.add(meta ?? "")
        return DocumentWrite(id: id, text: text, meta: meta, vector: [1, 0, 0, 0, 0, 0, 0, 0], contentHash: hash.value)
    }

    private func entries(_ store: IndexStore) throws -> [String: [FieldValue]] {
        try store.read { snapshot in
            var found: [String: [FieldValue]] = [:]
            try snapshot.forEachField { name, entries in found[name] = entries.map(\.value) }
            return found
        }
    }

    func testTheGenerationMovesWhenAnEntryChangesAndOnlyThen() throws {
        let store = try IndexStore.create(directory: temporaryDirectory(self) + "/i", manifest: manifest(dims: 8))
        let generation = { try store.read { try $0.fieldsGeneration() } }
        XCTAssertEqual(try generation(), 0)
        _ = try store.upsert([document("a", meta: #"{"n":1}"#), document("b", meta: nil)])
        XCTAssertEqual(try generation(), 1)
        _ = try store.upsert([document("a", text: "other text", meta: #"{"n":1}"#)])
        XCTAssertEqual(try generation(), 1, "a change of text leaves the fields as they were")
        _ = try store.delete(ids: ["b"])
        XCTAssertEqual(try generation(), 1, "b had no fields")
        _ = try store.upsert([document("a", meta: #"{"n":2}"#)])
        XCTAssertEqual(try generation(), 2)
        _ = try store.delete(ids: ["a"])
        XCTAssertEqual(try generation(), 3)
        XCTAssertEqual(try entries(store).count, 0)
    }

    func testValuesAtTheLimitsAreStoredAndThosePastThemAreNot() throws {
        let store = try IndexStore.create(directory: temporaryDirectory(self) + "/i", manifest: manifest(dims: 8))
        let name = String(repeating: "n", count: FieldValue.maxFieldNameBytes)
        let longest = String(repeating: "é", count: FieldValue.maxStringBytes / 2)
        let meta = JSON.object([name: .string(longest), name + "x": 1, "long": .string(longest + "x"), "nul": "a\u{0}b",
                                "path": "docs/Guide.MD", "list": [1, "1", true, nil, ["x": 1]], "o": ["p": ["q": -0.0]]])
        _ = try store.upsert([document("a", meta: meta.serialized)])
        XCTAssertEqual(try entries(store), [
            name: [.string(Array(longest.utf8))], "path": [.string(Array("docs/Guide.MD".utf8))], "ext": [.string(Array("md".utf8))],
            "list": [.bool(true), .number(1), .string([49])], "o.p.q": [.number(0)],
        ])
    }
}
