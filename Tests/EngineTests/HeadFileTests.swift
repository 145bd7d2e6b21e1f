import Embedding
import Engine
import Foundation
import Search
import Store
import XCTest

/// A head saved from one index and installed in another (how the shards of a sharded index
/// share one head): the same space, the same scores, and no refit as the index grows.
final class HeadFileTests: XCTestCase {
    static let dims = 32

    private func documents(_ range: Range<Int>, seed: UInt64 = 3) -> [DocumentInput] {
        var rng = SplitMix64(seed: seed)
        return range.map { n in
            let vector = (0..<HeadFileTests.dims).map { j in Float(Int(rng.next() % 2_001) - 1_000) / 1_000 * (j < 8 ? 1 : 0.05) }
            return DocumentInput(id: "d\(n)", text: "document \(n)", vector: vector)
        }
    }

    private func index(_ name: String, _ data: DataDirectory, _ docs: [DocumentInput]) throws -> Index {
        let index = try Index.create(name: name, in: data, dimensions: HeadFileTests.dims, model: nil)
        if !docs.isEmpty { _ = try index.upsert(docs) }
        return index
    }

    func testAnInstalledHeadSearchesAsWhereItWasFittedAndIsNeverRefitted() throws {
        let data = temporaryData(self)
        let docs = documents(0..<3_000)
        let fitted = try index("fitted", data, docs)
        try fitted.changeHead(to: .pca, automatic: true)
        let saved = try fitted.headFile()
        XCTAssertEqual(saved.head, .pca)
        XCTAssertEqual(saved.fittedOn, 3_000)

        // Through JSON text, as a file or a request body carries it.
        let file = try HeadFile(json: try JSON.parse(saved.json.serialized))
        XCTAssertEqual(file, saved)

        let shard = try index("shard", data, [])
        let change = try shard.installHead(file)
        XCTAssertEqual(change.kind, .pca)
        _ = try shard.upsert(docs)
        XCTAssertEqual(try shard.headFile(), saved, "the installed head is the saved one, matrix and all")
        for query in docs.prefix(50) {
            // A prefix is read in the head's space: the same ranking, and scores equal up to the
            // rounding of a matrix product over batches of another size.
            let a = try fitted.search(SearchRequest(vector: query.vector, k: 5, dims: 16))
            let b = try shard.search(SearchRequest(vector: query.vector, k: 5, dims: 16))
            XCTAssertEqual(a.hits.map(\.id), b.hits.map(\.id))
            for (x, y) in zip(a.hits, b.hits) { XCTAssertEqual(x.score, y.score, accuracy: 1e-5) }
            // Full dimensions score the raw vectors: the very same floats.
            let fullA = try fitted.search(SearchRequest(vector: query.vector, k: 5, dims: HeadFileTests.dims))
            let fullB = try shard.search(SearchRequest(vector: query.vector, k: 5, dims: HeadFileTests.dims))
            XCTAssertEqual(fullA.hits.map(\.id), fullB.hits.map(\.id))
            XCTAssertEqual(fullA.hits.map(\.score), fullB.hits.map(\.score))
        }

        // Grown well past the automatic refit's 4x, the installed head stays.
        _ = try shard.upsert(documents(3_000..<13_000, seed: 4))
        XCTAssertNil(try shard.refitHeadIfDue())
        XCTAssertEqual(try shard.currentHead().record?.automatic, false)
        XCTAssertEqual(try shard.headFile(), saved)
    }

    func testBadHeadFilesAreRefusedNamingTheField() throws {
        let data = temporaryData(self)
        let target = try index("target", data, documents(0..<10))
        let identity = ["format": "mrl-head", "kind": "none", "dimensions": JSON(HeadFileTests.dims), "matrix": []] as JSON
        func problem(_ change: (inout [String: JSON]) -> Void) -> String {
            var fields = identity.object ?? [:]
            change(&fields)
            do {
                try target.installHead(try HeadFile(json: .object(fields)))
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(problem { _ in }, "accepted")
        XCTAssertTrue(problem { $0["format"] = "npy" }.contains("\"format\""))
        XCTAssertTrue(problem { $0["kind"] = "svd" }.contains("\"kind\""))
        XCTAssertTrue(problem { $0["dimensions"] = 1e300 }.contains("\"dimensions\""))
        XCTAssertTrue(problem { $0["kind"] = "pca" }.contains("\"matrix\": has 0 numbers"))
        let square = HeadFileTests.dims * HeadFileTests.dims
        XCTAssertTrue(problem { $0["kind"] = "pca"; $0["matrix"] = .array(Array(repeating: .number(1e300), count: square)) }.contains("\"matrix[0]\""))
        XCTAssertTrue(problem { $0["matrix"] = ["x"] }.contains("\"matrix\""))
        XCTAssertTrue(problem { $0["dimensions"] = 8 }.contains("8-d vectors"), "another index's dimensions")
        XCTAssertTrue(problem { $0["model"] = 5 }.contains("\"model\""))
        XCTAssertTrue(problem { $0["fitted_on"] = -1 }.contains("\"fitted_on\""))
        XCTAssertEqual(try target.currentHead().record?.kind, "none", "only the good file was installed")

        let texts = try Index.create(name: "texts", in: data, dimensions: HeadFileTests.dims, model: ModelIdentity(name: "m", fingerprint: "f1"))
        var foreign = try HeadFile(json: identity)
        foreign.model = "f2"
        XCTAssertThrowsError(try texts.installHead(foreign)) { XCTAssertTrue("\($0)".contains("model f2"), "\($0)") }
        foreign.model = "f1"
        XCTAssertNoThrow(try texts.installHead(foreign))
    }
}
