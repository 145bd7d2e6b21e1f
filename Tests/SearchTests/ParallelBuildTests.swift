@testable import Search
import XCTest

/// What keeps a parallel graph build from walking into a node another thread is still linking.
final class ParallelBuildTests: XCTestCase {
    func testANodeStillBeingLinkedIsLeftOutOfTheListsOthersRead() {
        let layers = GraphLayers(m: 4)
        layers.reserve(idLimit: 3)
        for node: UInt32 in 0..<3 { layers.place(node, level: 0) }
        let hits = [Hit(id: 1, score: 0.9), Hit(id: 2, score: 0.8)]
        layers.setLinks(of: 0, level: 0, to: hits, count: 2)
        let copy = UnsafeMutablePointer<UInt32>.allocate(capacity: 8)
        let flags = UnsafeMutablePointer<UInt8>.allocate(capacity: 3)
        defer { copy.deallocate(); flags.deallocate() }
        flags.initialize(repeating: 0, count: 3)
        flags[2] = 1  // node 2 is being inserted by another thread

        let building = LockedAdjacency(layers: layers, locks: NodeLocks(), copy: copy, inserting: flags)
        XCTAssertEqual(Array(building.neighbors(of: 0, level: 0)), [1], "a half-linked node is not walked into")
        flags[2] = 0
        XCTAssertEqual(Array(building.neighbors(of: 0, level: 0)), [1, 2], "once linked, it is")
        let alone = LockedAdjacency(layers: layers, locks: NodeLocks(), copy: copy, inserting: nil)
        flags[2] = 1
        XCTAssertEqual(Array(alone.neighbors(of: 0, level: 0)), [1, 2], "a one-thread build reads lists as they are")
    }
}
