import Embedding
import Engine
import Foundation
import Search
import Store
import XCTest

/// A damaged index (issue 16): numbers read back from its records are checked where they are
/// read, so using it is an error naming the index and what is wrong, never a trap.
final class DamagedIndexTests: XCTestCase {
    private func graphIndex(_ data: DataDirectory) throws -> Index {
        let index = try Index.create(name: "g", in: data, dimensions: 64, model: nil)
        _ = try index.upsert((0..<300).map { n in
            var rng = SplitMix64(seed: UInt64(n) &+ 1)
            return DocumentInput(id: "d\(n)", text: "doc \(n)", vector: (0..<64).map { _ in Float(rng.next() % 1000) / 500 - 1 })
        })
        var options = Index.GraphOptions()
        options.dims = 32
        options.m = 8
        try index.buildGraph(options)
        return index
    }

    private func assertDamaged(_ body: @autoclosure () throws -> Any, saying words: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard case StoreError.corrupt(let path, let detail) = error else {
                return XCTFail("\(error) is not a damaged index", file: file, line: line)
            }
            XCTAssertTrue(path.hasSuffix("/g"), path, file: file, line: line)
            XCTAssertTrue(detail.contains(words), "\(detail) should say \(words)", file: file, line: line)
        }
    }

    /// Rewrites the stored graph record with `change` applied.
    private func damageGraphRecord(_ index: Index, _ change: (inout GraphRecord) -> Void) throws {
        var record = try XCTUnwrap(try index.store.read { try $0.graphRecord() })
        change(&record)
        try index.store.putMeta("graph", record)
    }

    func testAGraphRecordOffTheStoredPrefixesIsReportedNotTrapped() throws {
        let data = temporaryData(self)
        let index = try graphIndex(data)
        try damageGraphRecord(index) { $0.dims = 7 }
        let reopened = try Index.open(name: "g", in: data, mode: .read)
        assertDamaged(try reopened.search(SearchRequest(vector: [Float](repeating: 1, count: 64), k: 3)), saying: "dims 7")
    }

    func testAGraphRecordWhoseMDisagreesWithTheGraphIsReportedNotTrapped() throws {
        let data = temporaryData(self)
        try damageGraphRecord(try graphIndex(data)) { $0.m = 9 }
        let reopened = try Index.open(name: "g", in: data, mode: .write)
        assertDamaged(try reopened.upsert([DocumentInput(id: "new", text: "new", vector: [Float](repeating: 1, count: 64))]),
                      saying: "M 8 over 300 rows and M 9")
    }

    func testACostModelWithPlansTheGraphCannotRunIsReportedNotTrapped() throws {
        let index = try graphIndex(temporaryData(self))
        var model = try XCTUnwrap(try index.tune(queries: nil, sampleCount: 20))
        // Every plan rescores at 7 dims, no stored prefix, whichever the planner picks.
        func damage(_ plan: inout SearchPlan) {
            (plan.exact, plan.graphDims, plan.ef, plan.stages) = (false, 32, 16, [.init(dims: 7, keep: 10), .init(dims: 64, keep: 10)])
        }
        for i in model.measurements.indices { damage(&model.measurements[i].plan) }
        for i in model.presets.indices { damage(&model.presets[i].measurement.plan) }
        try index.store.putMeta("cost_model", model)
        assertDamaged(try index.search(SearchRequest(vector: [Float](repeating: 1, count: 64), k: 3)), saying: "cost model: a plan has stages [\"7d keep 10\", \"64d keep 10\"]")
    }

    func testACostModelWithAWideningPlanThatCannotWidenIsReportedNotTrapped() throws {
        let index = try graphIndex(temporaryData(self))
        var model = try XCTUnwrap(try index.tune(queries: nil, sampleCount: 20))
        for i in model.measurements.indices where !model.measurements[i].plan.exact {
            model.measurements[i].plan.widen = .init(ef: 8, below: 0.5)  // narrower than the beam it widens
        }
        try index.store.putMeta("cost_model", model)
        assertDamaged(try index.search(SearchRequest(vector: [Float](repeating: 1, count: 64), k: 3)), saying: "cost model: a plan widens its beam of")
    }

    func testAHeadMatrixWithNaNIsReportedNotTrapped() throws {
        let index = try graphIndex(temporaryData(self))
        var matrix = [Float](repeating: 0, count: 64 * 64)
        for i in 0..<64 { matrix[i * 65] = 1 }
        matrix[5] = .nan
        let pending = try index.store.beginHead(kind: "pca", matrix: matrix, fittedOn: 300, automatic: false)
        try index.store.writeHeadBlocks(pending, blocks: try index.store.read { try $0.blockIDs() }) { rows, _ in rows }
        XCTAssertTrue(try index.store.finishHead(pending))
        XCTAssertThrowsError(try index.search(SearchRequest(vector: [Float](repeating: 1, count: 64), k: 3))) { error in
            XCTAssertEqual(error as? HeadError, .badEntries(kind: "pca"))
        }
    }

    func testALevel0LinkPastTheIdsIsReportedNotFollowed() throws {
        let index = try graphIndex(temporaryData(self))
        let record = try XCTUnwrap(try index.store.read { try $0.graphRecord() })
        // A copy of the stored graph whose node 0 links to an id far past the rows.
        func copy(_ stored: UnsafeRawBufferPointer) -> UnsafeMutableRawBufferPointer {
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: stored.count, alignment: 4)
            copy.copyMemory(from: stored)
            return copy
        }
        let (blocks, upper) = try index.store.read { snapshot in
            let data = try XCTUnwrap(try snapshot.graphData(blockCount: 1))
            return (data.level0.map(copy), Array(data.upperLevels))
        }
        defer { blocks.forEach { $0.deallocate() } }
        blocks[0].storeBytes(of: UInt32(0xFF_FFFF), toByteOffset: 4, as: UInt32.self)
        let generation = try index.store.read { try $0.vectorsGeneration() }
        XCTAssertTrue(try index.store.replaceGraph(ifGeneration: generation) { graph in
            try graph.put(record, blockCount: blocks.count, level0Block: { UnsafeRawBufferPointer(blocks[$0]) }, upperLevels: upper)
        })
        assertDamaged(try index.search(SearchRequest(vector: [Float](repeating: 1, count: 64), k: 3, ef: 16)), saying: "graph node 0 links to 16777215, past 300 ids")
    }

    func testADamagedManifestIsReportedAtOpen() throws {
        let data = temporaryData(self)
        let bad = [Manifest(dimensions: 64, segmentBoundaries: [0, 32, 32, 64], model: nil),
                   Manifest(dimensions: 0, segmentBoundaries: [0], model: nil),
                   Manifest(dimensions: 64, segmentBoundaries: [0, 32, 64], model: nil, blockRows: 0)]
        for manifest in bad {
            let directory = try data.directory(of: "g")
            // create reads the manifest back: it is the first to see the damage.
            assertDamaged(try IndexStore.create(directory: directory, manifest: manifest), saying: "manifest: ")
            assertDamaged(try Index.open(name: "g", in: data, mode: .read), saying: "manifest: ")
            try FileManager.default.removeItem(atPath: directory)
        }
    }
}
