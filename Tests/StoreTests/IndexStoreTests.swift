import Foundation
import Store
import XCTest

final class IndexStoreTests: XCTestCase {
    func testRoundTripAcrossBlocksAndReopen() throws {
        let dir = temporaryDirectory(self)
        do {
            let store = try IndexStore.create(directory: dir, manifest: manifest(dims: 40, blockRows: 8))
            let report = try store.upsert((0..<30).map { write($0, dims: 40) })
            XCTAssertEqual(report.added, 30)
        }
        let store = try IndexStore.open(directory: dir, mode: .read)
        XCTAssertEqual(store.manifest.dimensions, 40)
        try store.read { snapshot in
            XCTAssertEqual(try snapshot.documentCount(), 30)
            let doc = try XCTUnwrap(snapshot.document(id: "doc-4"))
            XCTAssertEqual(doc.text, "text 4")
            XCTAssertEqual(doc.meta, #"{"n":4}"#)
            XCTAssertNil(try snapshot.document(id: "doc-5")?.meta)
            XCTAssertEqual(try snapshot.vector(id: "doc-17"), write(17, dims: 40).vector)
            let blocks = try snapshot.vectorBlocks()
            XCTAssertEqual(blocks.map(\.firstID), [0, 8, 16, 24])
            XCTAssertEqual(blocks.map(\.rows), [8, 8, 8, 6])
            // Row 3 of block 2 is doc 19: its segments hold its vector's columns, its norms their squares.
            let v = write(19, dims: 40).vector
            XCTAssertEqual(Array(UnsafeBufferPointer(start: blocks[2].segments[0] + 3 * 32, count: 32)), Array(v[0..<32]))
            XCTAssertEqual(Array(UnsafeBufferPointer(start: blocks[2].segments[1] + 3 * 8, count: 8)), Array(v[32..<40]))
            XCTAssertEqual(blocks[2].segmentSquaredNorms[1][3], v[32..<40].reduce(0) { $0 + $1 * $1 }, accuracy: 1e-5)
        }
    }

    func testUpsertSkipsUnchangedAndReplacesChanged() throws {
        let store = try IndexStore.create(directory: temporaryDirectory(self), manifest: manifest(dims: 8))
        _ = try store.upsert((0..<10).map { write($0, dims: 8) })
        var again = (0..<12).map { write($0, dims: 8) }
        again[3] = write(3, dims: 8, text: "new text")
        let report = try store.upsert(again)
        XCTAssertEqual(report.added, 2)
        XCTAssertEqual(report.changed, 1)
        XCTAssertEqual(report.unchanged, 9)
        try store.read { XCTAssertEqual(try $0.document(id: "doc-3")?.text, "new text") }
    }

    func testDeleteRemovesEverythingAndIdsAreReused() throws {
        let store = try IndexStore.create(directory: temporaryDirectory(self), manifest: manifest(dims: 8, blockRows: 4))
        _ = try store.upsert((0..<6).map { write($0, dims: 8) })
        XCTAssertEqual(try store.delete(ids: ["doc-1", "doc-4", "missing", "doc-1"]), ["doc-1", "doc-4"], "the ids that existed, each once")
        try store.read { snapshot in
            XCTAssertEqual(try snapshot.documentCount(), 4)
            XCTAssertNil(try snapshot.document(id: "doc-1"))
            XCTAssertNil(try snapshot.vector(id: "doc-4"))
            let liveRows = try snapshot.vectorBlocks().flatMap { b in (0..<b.rows).map { b.live[$0] } }
            XCTAssertEqual(liveRows, [1, 0, 1, 1, 0, 1])
        }
        _ = try store.upsert([write(100, dims: 8), write(101, dims: 8), write(102, dims: 8)])
        try store.read { snapshot in
            XCTAssertEqual(try snapshot.internalID(of: "doc-100"), 1, "freed ids are reused, lowest first")
            XCTAssertEqual(try snapshot.internalID(of: "doc-101"), 4)
            XCTAssertEqual(try snapshot.internalID(of: "doc-102"), 6)
        }
    }

    func testWrongDimensionsWritesNothing() throws {
        let store = try IndexStore.create(directory: temporaryDirectory(self), manifest: manifest(dims: 8))
        XCTAssertThrowsError(try store.upsert([write(1, dims: 8), write(2, dims: 9)])) { error in
            XCTAssertEqual(error as? StoreError, .wrongDimensions(id: "doc-2", expected: 8, found: 9))
        }
        try store.read { XCTAssertEqual(try $0.documentCount(), 0) }
    }

    func testOpenErrors() throws {
        let dir = temporaryDirectory(self)
        XCTAssertThrowsError(try IndexStore.open(directory: dir, mode: .read)) {
            XCTAssertEqual($0 as? StoreError, .indexNotFound(path: dir))
        }
        var future = manifest(dims: 8)
        future.format = Manifest.currentFormat + 1
        XCTAssertThrowsError(try IndexStore.create(directory: dir, manifest: future))
        XCTAssertThrowsError(try IndexStore.open(directory: dir, mode: .read)) {
            XCTAssertEqual($0 as? StoreError, .newerFormat(path: dir, found: Manifest.currentFormat + 1, supported: Manifest.currentFormat))
            XCTAssertTrue("\($0)".contains("upgrade mrl"))
        }
    }

    func testCreatingTwiceIsRefused() throws {
        let dir = temporaryDirectory(self)
        _ = try IndexStore.create(directory: dir, manifest: manifest(dims: 8))
        XCTAssertThrowsError(try IndexStore.create(directory: dir, manifest: manifest(dims: 8))) {
            XCTAssertEqual($0 as? StoreError, .indexExists(path: dir))
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (dir as NSString).deletingLastPathComponent)
            .filter { $0.contains(".creating-") }
        XCTAssertEqual(leftovers, [], "the build folder is removed")
    }

    func testSecondWriterIsRefusedWithThePid() throws {
        let dir = temporaryDirectory(self)
        let writer = try IndexStore.create(directory: dir, manifest: manifest(dims: 8))
        XCTAssertThrowsError(try IndexStore.open(directory: dir, mode: .write)) { error in
            XCTAssertEqual(error as? StoreError, .busyWriter(path: dir, pid: getpid()))
            XCTAssertTrue("\(error)".contains("is being written by pid \(getpid())"))
        }
        _ = writer
    }

    /// Past the cap the batch in flight fails cleanly; every earlier batch stays readable.
    func testMapCapIsAClearErrorAndKeepsCommittedBatches() throws {
        let dir = temporaryDirectory(self)
        let cap = 4 << 20
        var committed = 0
        do {
            let store = try IndexStore.create(directory: dir, manifest: manifest(dims: 256), options: .init(mapSizeCap: cap))
            var batch = 0
            while true {
                do {
                    _ = try store.upsert((batch * 500..<(batch + 1) * 500).map { write($0, dims: 256) })
                    committed += 500
                    batch += 1
                } catch let error as StoreError {
                    XCTAssertEqual(error, .mapCapReached(path: dir, capBytes: cap))
                    XCTAssertTrue("\(error)".contains("every earlier batch is"))
                    break
                }
                XCTAssertLessThan(batch, 100, "the cap must be reached")
            }
        }
        XCTAssertGreaterThan(committed, 0)
        let store = try IndexStore.open(directory: dir, mode: .read, options: .init(mapSizeCap: cap))
        try store.read { snapshot in
            XCTAssertEqual(try snapshot.documentCount(), committed)
            XCTAssertEqual(try snapshot.vector(id: "doc-\(committed - 1)"), write(committed - 1, dims: 256).vector)
        }
    }

    /// The map starts small and grows on demand, so large batches succeed without a preset size.
    func testMapGrowsBeyondItsInitialSize() throws {
        let store = try IndexStore.create(directory: temporaryDirectory(self), manifest: manifest(dims: 384))
        let initial = store.mapSize
        for batch in 0..<6 {
            _ = try store.upsert((batch * 10_000..<(batch + 1) * 10_000).map { write($0, dims: 384) })
        }
        XCTAssertGreaterThan(store.mapSize, initial)
        try store.read { XCTAssertEqual(try $0.documentCount(), 60_000) }
    }

    func testDocumentsSurviveOddContent() throws {
        let store = try IndexStore.create(directory: temporaryDirectory(self), manifest: manifest(dims: 4))
        let texts = ["", "日本語 🚀 \u{0}nul", String(repeating: "x", count: 200_000)]
        _ = try store.upsert(texts.enumerated().map { i, t in write(i, dims: 4, text: t) })
        try store.read { snapshot in
            for (i, t) in texts.enumerated() { XCTAssertEqual(try snapshot.document(id: "doc-\(i)")?.text, t) }
        }
    }
}

/// A damaged index (issue 16): a next_id or free list that hands out a row in use is an
/// error naming the index, not a document silently overwritten (and a graph trap after).
final class DamagedRowIDTests: XCTestCase {
    func testANextIDBehindTheRowsInUseIsReported() throws {
        let dir = temporaryDirectory(self)
        let store = try IndexStore.create(directory: dir, manifest: manifest(dims: 8))
        _ = try store.upsert((0..<3).map { write($0, dims: 8) })
        try store.putMeta("next_id", 0)  // one byte of JSON: not a stored id, read as 0
        XCTAssertThrowsError(try store.upsert([write(3, dims: 8)])) {
            guard case StoreError.corrupt(let path, let detail) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(path, dir)
            XCTAssertTrue(detail.contains("row 0, given to new document doc-3, holds another"), detail)
        }
        XCTAssertEqual(try store.read { try $0.document(id: "doc-0")?.text }, "text 0", "nothing was overwritten")
    }
}
