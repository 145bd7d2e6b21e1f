import Search
import XCTest

/// Links guided by queries (`GraphBuilder.addQueryEdges`): added only into free slots, the
/// documents' own links kept, each one a pair some query found together, the same graph on
/// every run.
final class GraphQueryEdgesTests: XCTestCase {
    private let dims = 32, m = 8

    /// A one-thread graph of 2,000 random rows and the exact top 10 of 300 random queries.
    private func fixture() -> (GraphBuilder, [[UInt32]]) {
        let rows = GraphFixture.randomUnitVectors(count: 2_000, dimensions: dims, seed: 41)
        let queries = GraphFixture.randomUnitVectors(count: 300, dimensions: dims, seed: 42)
        let (builder, _) = GraphFixture.build(rows, dimensions: dims, encoding: .float32, threads: 1, parameters: .init(m: m))
        let lists = (0..<300).map { GraphFixture.bruteForce(GraphFixture.row(queries, $0, dims), rows, dimensions: dims, k: 10) }
        return (builder, lists)
    }

    private func level0(_ layers: GraphLayers) -> [[UInt32]] {
        (0..<UInt32(layers.idLimit)).map { Array(layers.neighbors(of: $0, level: 0)) }
    }

    func testLinksGoIntoFreeSlotsOnlyAndJoinWhatQueriesFoundTogether() {
        let (builder, lists) = fixture()
        let before = level0(builder.layers)
        let done = builder.addQueryEdges(lists)
        let after = level0(builder.layers)

        var asked = Set<[UInt32]>()
        for list in lists { for other in list.dropFirst() { asked.insert([list[0], other]); asked.insert([other, list[0]]) } }
        var added = 0, gained = 0
        for node in after.indices {
            let old = before[node], new = after[node]
            XCTAssertEqual(Array(new.prefix(old.count)), old, "node \(node) lost or reordered its own links")
            XCTAssertLessThanOrEqual(new.count, 2 * m, "node \(node) is over the degree bound")
            XCTAssertEqual(Set(new).count, new.count, "node \(node) links a node twice")
            XCTAssertFalse(new.contains(UInt32(node)), "node \(node) links itself")
            for target in new.dropFirst(old.count) {
                XCTAssertTrue(asked.contains([UInt32(node), target]), "node \(node) gained \(target), which no query found with it")
            }
            added += new.count - old.count
            gained += new.count > old.count ? 1 : 0
        }
        XCTAssertGreaterThan(added, 0, "no free slot took a link")
        XCTAssertEqual(done.added, added)
        XCTAssertEqual(done.nodes, gained)
        XCTAssertGreaterThanOrEqual(done.proposed, added)
        // A node with room enough takes every link asked of it: each query's first row here.
        for list in lists where before[Int(list[0])].count + list.count <= 2 * m {
            XCTAssertTrue(Set(list.dropFirst()).isSubset(of: after[Int(list[0])]), "pivot \(list[0]) had room but missed links")
        }
    }

    func testTheSameQueriesGiveTheSameGraph() {
        let (first, lists) = fixture()
        let (second, _) = fixture()
        XCTAssertEqual(first.addQueryEdges(lists), second.addQueryEdges(lists.reversed()))
        XCTAssertEqual(level0(first.layers), level0(second.layers), "the order of the queries changed the links")
    }

    func testNodesOutsideTheGraphGetNoLinks() {
        let (builder, lists) = fixture()
        builder.delete([lists[0][0], lists[0][1]])
        builder.addQueryEdges(lists)
        XCTAssertTrue(builder.layers.neighbors(of: lists[0][0], level: 0).isEmpty)
        let all = level0(builder.layers).joined()
        XCTAssertFalse(all.contains(lists[0][0]) || all.contains(lists[0][1]), "a link points to a deleted node")
    }
}
