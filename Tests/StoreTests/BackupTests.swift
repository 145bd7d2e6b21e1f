import Foundation
import Store
import Synchronization
import XCTest

/// Backups beside writes (issue 16, case 14): a copy reads in one long transaction, during
/// which the map cannot grow, so it makes room first; and one runs at a time.
final class BackupTests: XCTestCase {
    /// An index of about 36 MB: 8,500 vectors of 1,024 floats.
    private func largeStore() throws -> IndexStore {
        let store = try IndexStore.create(directory: temporaryDirectory(self), manifest: manifest(dims: 1_024))
        for start in stride(from: 0, to: 8_500, by: 500) { _ = try store.upsert((start..<start + 500).map { write($0, dims: 1_024) }) }
        return store
    }

    func testABackupLeavesTheMapRoomForAsMuchAgain() throws {
        let store = try largeStore()
        let used = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: store.directory + "/data.mdb")[.size] as? NSNumber).intValue
        XCTAssertLessThan(store.mapSize, 2 * used, "the map has not yet room for as much again")
        _ = try store.copy(to: temporaryDirectory(self) + "/copy")
        XCTAssertGreaterThanOrEqual(store.mapSize, 2 * used, "writes during the copy need not grow the map, which waits for the copy")
    }

    /// Pointers into the map are cached per committed state (the vector blocks, the loaded
    /// graph). A remap, here the backup's room-making, moves every page without a commit, so
    /// it must make another state: the daemon crashed (SIGSEGV) reusing vector blocks of the
    /// same transaction after its map had grown.
    func testARemapIsANewCommittedState() throws {
        let store = try largeStore()
        let before = try store.read { $0.version }
        _ = try store.copy(to: temporaryDirectory(self) + "/copy")
        let after = try store.read { $0.version }
        XCTAssertNotEqual(before, after, "the same transaction, but the map moved")
        let blocks = try store.read { try $0.vectorBlocks().count }
        XCTAssertEqual(blocks, 9, "the blocks are read again, at the map's new place")
    }

    func testOneBackupOfAnIndexRunsAtATime() throws {
        let store = try largeStore()
        let folder = temporaryDirectory(self)
        // The first copy's outcome, once it has ended: every wait below stops there, so a copy
        // that failed fails the test instead of leaving it waiting for a folder forever.
        let firstOutcome = Mutex<Result<Int, Error>?>(nil)
        let first = Thread {
            let outcome = Result { try store.copy(to: folder + "/first") }  // outside the lock, which the waits below take
            firstOutcome.withLock { $0 = outcome }
        }
        first.start()
        func firstEnded() -> Bool { firstOutcome.withLock { $0 != nil } }
        // Wait for the first copy to write into its staging folder: LMDB's copy, which starts
        // only once the copy holds the index's one backup slot (the folder alone is made before
        // it, and under load the second copy took the slot first).
        func firstIsCopying() -> Bool {
            let staging = (try? FileManager.default.contentsOfDirectory(atPath: folder))?.first { $0.hasPrefix("first.") }
            return staging.map { FileManager.default.fileExists(atPath: folder + "/" + $0 + "/data.mdb") } ?? false
        }
        while !firstIsCopying() {
            usleep(100)
            if firstEnded() { break }
        }
        if firstEnded() { throw XCTSkip("the first copy ended before the second could overlap it") }
        XCTAssertThrowsError(try store.copy(to: folder + "/second")) { error in
            XCTAssertEqual(error as? StoreError, .backupRunning(path: store.directory))
            XCTAssertTrue("\(error)".contains("wait for it to finish"), "\(error)")
        }
        while !firstEnded() { usleep(1_000) }
        XCTAssertNoThrow(try firstOutcome.withLock { try $0?.get() })
        XCTAssertGreaterThan(try store.copy(to: folder + "/third"), 0, "once the first is done, the next runs")
    }
}
