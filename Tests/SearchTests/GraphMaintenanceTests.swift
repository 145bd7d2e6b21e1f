import Search
import XCTest

/// Deleting nodes, and inserting into a graph that has had deletions.
final class GraphMaintenanceTests: XCTestCase {
    private let dims = 64

    /// Every link at every level, as (node, level, target).
    private func links(_ layers: GraphLayers) -> [(UInt32, Int, UInt32)] {
        var out: [(UInt32, Int, UInt32)] = []
        for node in 0..<UInt32(layers.idLimit) {
            guard let top = layers.level(of: node) else {
                XCTAssertEqual(layers.neighbors(of: node, level: 0).count, 0, "a node out of the graph keeps no links")
                continue
            }
            for level in 0...top { out += layers.neighbors(of: node, level: level).map { (node, level, $0) } }
        }
        return out
    }

    func testDeletingThirtyPercentKeepsRecallAndReusedIdsInsert() {
        let n = 5_000
        var rows = GraphFixture.randomUnitVectors(count: n, dimensions: dims, seed: 21)
        let queries = GraphFixture.randomUnitVectors(count: 200, dimensions: dims, seed: 22)
        // M=32: random 64-d data needs it for 0.95 (see GraphRecallTests).
        let (builder, _) = GraphFixture.build(rows, dimensions: dims, encoding: .float32, threads: 2, parameters: .init(m: 32))
        let layers = builder.layers

        var rng = SplitMix64(seed: 23)
        let doomed = Array((0..<UInt32(n)).shuffled(using: &rng).prefix(n * 3 / 10))
        var live = [Bool](repeating: true, count: n)
        for id in doomed { live[Int(id)] = false }
        let entryWasDeleted = doomed.contains(layers.entryPoint!)
        builder.delete(doomed)

        XCTAssertEqual(layers.count, n - doomed.count)
        XCTAssertTrue(layers.contains(layers.entryPoint!), "entry point \(entryWasDeleted ? "replaced" : "kept")")
        XCTAssertEqual(layers.level(of: layers.entryPoint!), layers.maxLevel)
        let dangling = links(layers).filter { !live[Int($0.2)] }
        XCTAssertTrue(dangling.isEmpty, "links to deleted nodes remain: \(dangling.prefix(5))")

        // No filter given: the graph alone must keep deleted ids out, in all ef hits.
        let searcher = GraphSearcher()
        for qi in 0..<200 {
            let hits = searcher.search(GraphFixture.row(queries, qi, dims), ef: 64, in: layers, vectors: builder.vectors).hits
            XCTAssertEqual(hits.count, 64)
            XCTAssertTrue(hits.allSatisfy { live[Int($0.id)] }, "query \(qi) returned a deleted id")
        }
        let afterDelete = GraphFixture.recall(queries: queries, rows: rows, dimensions: dims, ef: 64,
                                              graph: layers, vectors: builder.vectors) { live[$0] }
        print("graph delete 30% of \(n)×\(dims): recall@10 (ef=64) over the rest \(String(format: "%.4f", afterDelete))")
        XCTAssertGreaterThanOrEqual(afterDelete, 0.95)

        // Reuse half the deleted ids for new vectors, one insert at a time, as an upsert would.
        let reused = Array(doomed.prefix(doomed.count / 2))
        let fresh = GraphFixture.randomUnitVectors(count: reused.count, dimensions: dims, seed: 24)
        for (i, id) in reused.enumerated() {
            let row = GraphFixture.row(fresh, i, dims)
            builder.vectors.set(id: id, to: row)
            rows.replaceSubrange(Int(id) * dims..<(Int(id) + 1) * dims, with: row)
            builder.insert(id: id)
            live[Int(id)] = true
        }
        XCTAssertEqual(layers.count, n - doomed.count + reused.count)
        var foundSelf = 0
        for (i, id) in reused.enumerated() {
            foundSelf += searcher.search(GraphFixture.row(fresh, i, dims), ef: 64, in: layers, vectors: builder.vectors).hits.first?.id == id ? 1 : 0
        }
        XCTAssertGreaterThanOrEqual(Double(foundSelf) / Double(reused.count), 0.99, "a reinserted vector finds itself")
        let afterInsert = GraphFixture.recall(queries: queries, rows: rows, dimensions: dims, ef: 64,
                                              graph: layers, vectors: builder.vectors) { live[$0] }
        print("graph reinsert \(reused.count) reused ids: recall@10 (ef=64) \(String(format: "%.4f", afterInsert))")
        XCTAssertGreaterThanOrEqual(afterInsert, 0.95)
        XCTAssertTrue(links(layers).allSatisfy { live[Int($0.2)] })
    }

    func testDeletingTheEntryPointAndThenEverything() {
        let rows = GraphFixture.randomUnitVectors(count: 600, dimensions: dims, seed: 31)
        let (builder, _) = GraphFixture.build(rows, dimensions: dims, encoding: .float32, threads: 1)
        let layers = builder.layers
        let oldEntry = layers.entryPoint!
        builder.delete(id: oldEntry)
        let entry = try! XCTUnwrap(layers.entryPoint)
        XCTAssertNotEqual(entry, oldEntry)
        XCTAssertEqual(layers.level(of: entry), layers.maxLevel, "the new entry point is on the top level")
        XCTAssertTrue((0..<UInt32(600)).allSatisfy { layers.level(of: $0).map { $0 <= layers.maxLevel } ?? true })
        let query = GraphFixture.row(rows, Int(oldEntry), dims)
        let hits = GraphSearcher().search(query, ef: 64, in: layers, vectors: builder.vectors).hits
        XCTAssertFalse(hits.contains { $0.id == oldEntry })
        XCTAssertEqual(hits.first?.id, GraphFixture.bruteForce(query, rows, dimensions: dims, k: 1) { $0 != Int(oldEntry) }.first)

        builder.delete(0..<UInt32(600))
        XCTAssertNil(layers.entryPoint)
        XCTAssertEqual(layers.count, 0)
        XCTAssertEqual(GraphSearcher().search(query, ef: 16, in: layers, vectors: builder.vectors).hits, [])
        builder.insert([7, 3])  // an emptied graph starts again
        XCTAssertEqual(layers.count, 2)
        XCTAssertEqual(Set(GraphSearcher().search(query, ef: 16, in: layers, vectors: builder.vectors).hits.map(\.id)), [3, 7])
    }
}
