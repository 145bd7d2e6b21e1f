@testable import Engine
import Search
import Store
import XCTest

/// Records as the Codable code (before the JSONValue module) wrote them, captured byte for
/// byte from `JSONEncoder` output of that code: an index written then must read the same.
final class StoredRecordsTests: XCTestCase {
    static let manifest = #"{"vectorType":"f32","model":{"fingerprint":"sha256:9f2c1a","name":"all-MiniLM-L6-v2"},"segmentBoundaries":[0,32,64,128,256,384],"createdAt":"2026-11-30T18:05:00Z","format":1,"blockRows":1024,"dimensions":384}"#
    static let manifestWithoutModel = #"{"format":1,"blockRows":16,"segmentBoundaries":[0,2,4],"dimensions":4,"vectorType":"f32","createdAt":"2026-11-30T18:05:01Z"}"#
    static let head = #"{"automatic":true,"kind":"pca","model":"sha256:9f2c1a","createdAt":"2026-11-30T18:06:00Z","fittedOn":2048,"version":3}"#
    static let headWithoutModel = #"{"fittedOn":0,"automatic":false,"kind":"none","version":0,"createdAt":"2026-11-30T18:06:01Z"}"#
    static let graph = #"{"efConstruction":200,"m":16,"buildSeconds":1.2345678901234567,"builtAt":"2026-11-30T18:07:00Z","headVersion":3,"dims":64,"encoding":"int8","nodes":6000}"#
    static let costModel = #"{"machine":{"kernels":"avx2","cpu":"Intel(R) Xeon(R) CPU @ 2.20GHz","cores":2},"k":10,"queries":200,"measurements":[{"p50Ms":2.4123456789,"p99Ms":3.1,"meanDistanceComputations":6000,"meanMs":2.5,"recall":1,"plan":{"stages":[{"dims":384,"keep":10}],"exact":true}},{"p50Ms":0.12,"p99Ms":0.3333333333333333,"meanDistanceComputations":812.5,"meanMs":0.1234567890123,"recall":0.9512345,"plan":{"ef":80,"stages":[{"dims":128,"keep":40},{"dims":384,"keep":10}],"exact":false,"earlyExit":0.05,"graphDims":64}}],"graphBuiltAt":"2026-11-30T18:07:00Z","presets":[{"measurement":{"recall":0.9512345,"meanMs":0.1234567890123,"p50Ms":0.12,"p99Ms":0.3333333333333333,"meanDistanceComputations":812.5,"plan":{"stages":[{"keep":40,"dims":128},{"keep":10,"dims":384}],"earlyExit":0.05,"exact":false,"graphDims":64,"ef":80}},"name":"fast","goal":{"recall":{"_0":0.9}}},{"measurement":{"p99Ms":0.3333333333333333,"plan":{"exact":false,"ef":80,"graphDims":64,"earlyExit":0.05,"stages":[{"dims":128,"keep":40},{"dims":384,"keep":10}]},"p50Ms":0.12,"meanDistanceComputations":812.5,"meanMs":0.1234567890123,"recall":0.9512345},"name":"snappy","goal":{"budget":{"_0":0.5}}}],"measuredAt":"2026-11-30T18:08:00Z"}"#
    static let fileRecord = #"{"chunks":3,"modified":1764525600.123456,"hash":18364758544493064720,"size":1234,"path":"\/tmp\/notes\/a.md"}"#
    static let fileRecordSmallHash = #"{"hash":12345678901234567,"size":1,"chunks":1,"path":"\/tmp\/notes\/b.md","modified":1764525600}"#

    func record<Record: JSONRepresentable>(_ text: String, as: Record.Type = Record.self) throws -> Record {
        try Record(json: JSON.parse(text))
    }

    /// Decoded, written by the new code and decoded again: the same value.
    func assertRoundTrips<Record: JSONRepresentable & Equatable>(_ value: Record, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try Record(json: JSON.parse(value.json.serialized)), value, file: file, line: line)
    }

    func testManifestsWrittenByCodableRead() throws {
        let manifest: Manifest = try record(Self.manifest)
        XCTAssertEqual(manifest.format, 1)
        XCTAssertEqual(manifest.dimensions, 384)
        XCTAssertEqual(manifest.vectorType, "f32")
        XCTAssertEqual(manifest.blockRows, 1024)
        XCTAssertEqual(manifest.segmentBoundaries, [0, 32, 64, 128, 256, 384])
        XCTAssertEqual(manifest.model, ModelIdentity(name: "all-MiniLM-L6-v2", fingerprint: "sha256:9f2c1a"))
        XCTAssertEqual(manifest.createdAt, "2026-11-30T18:05:00Z")
        let bare: Manifest = try record(Self.manifestWithoutModel)
        XCTAssertNil(bare.model)
        XCTAssertEqual(bare.blockRows, 16)
        XCTAssertEqual(bare.segmentBoundaries, [0, 2, 4])
        XCTAssertFalse(bare.json.serialized.contains("model"), "a nil field is left out, as Codable did")
        try assertRoundTrips(manifest)
        try assertRoundTrips(bare)
    }

    func testHeadAndGraphRecordsWrittenByCodableRead() throws {
        let head: HeadRecord = try record(Self.head)
        XCTAssertEqual([head.kind, head.model, head.createdAt], ["pca", "sha256:9f2c1a", "2026-11-30T18:06:00Z"])
        XCTAssertEqual(head.version, 3)
        XCTAssertEqual(head.fittedOn, 2048)
        XCTAssertTrue(head.automatic)
        let none: HeadRecord = try record(Self.headWithoutModel)
        XCTAssertEqual(none.kind, "none")
        XCTAssertNil(none.model)
        XCTAssertFalse(none.automatic)
        let graph: GraphRecord = try record(Self.graph)
        XCTAssertEqual([graph.dims, graph.m, graph.efConstruction, graph.nodes], [64, 16, 200, 6000])
        XCTAssertEqual(graph.encoding, "int8")
        XCTAssertEqual(graph.headVersion, 3)
        XCTAssertEqual(graph.buildSeconds, 1.2345678901234567)
        XCTAssertEqual(graph.builtAt, "2026-11-30T18:07:00Z")
        for value in [head, none] { try assertRoundTrips(value) }
        try assertRoundTrips(graph)
    }

    func testACostModelWrittenByCodableReads() throws {
        let model: CostModel = try record(Self.costModel)
        XCTAssertEqual(model.k, 10)
        XCTAssertEqual(model.queries, 200)
        XCTAssertEqual(model.graphBuiltAt, "2026-11-30T18:07:00Z")
        XCTAssertEqual(model.measuredAt, "2026-11-30T18:08:00Z")
        let walk = SearchPlan(graphDims: 64, ef: 80, stages: [.init(dims: 128, keep: 40), .init(dims: 384, keep: 10)], earlyExit: 0.05, exact: false)
        XCTAssertEqual(model.measurements, [
            PlanMeasurement(plan: .exact(dims: 384, k: 10), recall: 1, meanMs: 2.5, p50Ms: 2.4123456789, p99Ms: 3.1, meanDistanceComputations: 6000),
            PlanMeasurement(plan: walk, recall: 0.9512345, meanMs: 0.1234567890123, p50Ms: 0.12, p99Ms: 0.3333333333333333, meanDistanceComputations: 812.5),
        ])
        XCTAssertEqual(model.presets.map(\.name), ["fast", "snappy"])
        XCTAssertEqual(model.presets.map(\.goal), [.recall(0.9), .budget(0.5)])
        XCTAssertEqual(model.presets.map(\.measurement), [model.measurements[1], model.measurements[1]])
        XCTAssertEqual(model.machine?.cpu, "Intel(R) Xeon(R) CPU @ 2.20GHz")
        XCTAssertEqual(model.machine?.cores, 2)
        XCTAssertEqual(model.machine?.kernels, "avx2")
        try assertRoundTrips(model)
    }

    func testFolderRecordsWrittenByCodableRead() throws {
        let big: FolderIngest.FileRecord = try record(Self.fileRecord)
        XCTAssertEqual(big.path, "/tmp/notes/a.md")
        XCTAssertEqual(big.size, 1234)
        XCTAssertEqual(big.modified, 1764525600.123456)
        XCTAssertEqual(big.chunks, 3)
        XCTAssertEqual(Double(big.hash), Double(0xfedc_ba98_7654_3210), "past 2^63 the old number reads as the nearest Double")
        let small: FolderIngest.FileRecord = try record(Self.fileRecordSmallHash)
        XCTAssertEqual(small.hash, 12345678901234567, "below 2^63 exactly")
        XCTAssertEqual(small.modified, 1764525600)
        var written = small
        written.hash = 0xfedc_ba98_7654_3210
        XCTAssertEqual(try FolderIngest.FileRecord(json: JSON.parse(written.json.serialized)).hash, 0xfedc_ba98_7654_3210, "new records keep every bit")
    }

    func testAnIndexWithCodableRecordsOpensAndReadsThem() throws {
        let directory = NSTemporaryDirectory() + "mrl-records-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        let manifest: Manifest = try record(Self.manifest)
        do {
            let store = try IndexStore.create(directory: directory, manifest: manifest)
            for (key, text) in [("head", Self.head), ("graph", Self.graph), ("cost_model", Self.costModel)] {
                try store.putMeta(key, try JSON.parse(text))
            }
        }  // closed: the next open reads from disk
        let reopened = try IndexStore.open(directory: directory, mode: .read)
        XCTAssertEqual(reopened.manifest, manifest)
        try reopened.read { snapshot in
            XCTAssertEqual(try snapshot.head(), try record(Self.head))
            XCTAssertEqual(try snapshot.graphRecord(), try record(Self.graph))
            XCTAssertEqual(try snapshot.meta("cost_model", as: CostModel.self), try record(Self.costModel))
        }
    }

    func testADamagedRecordIsReportedWithItsField() throws {
        var fields = try XCTUnwrap(JSON.parse(Self.graph).object)
        fields["m"] = "sixteen"
        XCTAssertThrowsError(try GraphRecord(json: .object(fields))) {
            XCTAssertEqual("\($0)", "GraphRecord field m: expected a whole number, got string")
        }
        var model = try XCTUnwrap(JSON.parse(Self.costModel).object)
        model["measurements"] = [["plan": ["stages": [["dims": 384]], "exact": true], "recall": 1, "mean_ms": 1, "p50_ms": 1, "p99_ms": 1,
                                  "mean_distance_computations": 1]]
        XCTAssertThrowsError(try CostModel(json: .object(model))) {
            XCTAssertEqual("\($0)", "CostModel field measurements[0].plan.stages[0].keep: missing")
        }
    }
}
