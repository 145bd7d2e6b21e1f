import Engine
import Foundation
import Synchronization
import XCTest

final class FolderWatcherTests: XCTestCase {
    /// Folders created and removed while the watcher walks: one that goes between the walk
    /// and its watch is skipped (and named), never an error that would end `--watch`.
    func testFoldersVanishingDuringTheWalkAreSkipped() throws {
        let root = temporaryData(self).path + "/watched"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        // Folders that stay make each walk long enough for others to go meanwhile.
        for n in 0..<200 { mkdir(root + "/stays\(n)", 0o755) }
        let watcher = try FolderWatcher(roots: [root], rules: IgnoreRules())
        let stop = Atomic(false)
        let churn = Thread {
            while !stop.load(ordering: .relaxed) {
                for n in 0..<64 { mkdir(root + "/goes\(n)", 0o755) }
                for n in 0..<64 { rmdir(root + "/goes\(n)") }
            }
        }
        churn.start()
        defer { stop.store(true, ordering: .relaxed) }
        var vanished = 0, walks = 0
        while vanished == 0, walks < 2_000 {
            vanished += try watcher.watchFolders().count
            walks += 1
        }
        XCTAssertGreaterThan(vanished, 0, "no folder went during \(walks) walks: the race was not met")
    }
}
