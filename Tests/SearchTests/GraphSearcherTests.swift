import Dispatch
import Search
import XCTest

/// The searcher's contract beyond recall: deadlines, filters, costs, an empty graph.
final class GraphSearcherTests: XCTestCase {
    private let dims = 64

    func testDeadlineInThePastStopsEarlyWithWhatItHas() {
        let rows = GraphFixture.randomUnitVectors(count: 2_000, dimensions: dims, seed: 51)
        let (builder, _) = GraphFixture.build(rows, dimensions: dims, encoding: .int8, threads: 1)
        let searcher = GraphSearcher()
        let query = GraphFixture.row(GraphFixture.randomUnitVectors(count: 1, dimensions: dims, seed: 52), 0, dims)
        let full = searcher.search(query, ef: 64, in: builder.layers, vectors: builder.vectors)
        XCTAssertFalse(full.partial)
        XCTAssertEqual(full.hits.count, 64)

        let late = searcher.search(query, ef: 64, in: builder.layers, vectors: builder.vectors,
                                   deadline: DispatchTime(uptimeNanoseconds: 1))
        XCTAssertTrue(late.partial)
        XCTAssertGreaterThanOrEqual(late.hits.count, 1, "the node the descent reached is kept")
        XCTAssertLessThan(late.distanceComputations, full.distanceComputations)
        XCTAssertEqual(late.hits, late.hits.sorted { $0.score > $1.score }, "best first even when cut short")
    }

    func testFilterKeepsRejectedNodesOutButLetsThemRoute() {
        let n = 3_000
        let rows = GraphFixture.randomUnitVectors(count: n, dimensions: dims, seed: 53)
        let queries = GraphFixture.randomUnitVectors(count: 50, dimensions: dims, seed: 54)
        let (builder, _) = GraphFixture.build(rows, dimensions: dims, encoding: .float32, threads: 1, parameters: .init(m: 32))
        let even = { (i: Int) in i % 2 == 0 }
        let searcher = GraphSearcher()
        for qi in 0..<50 {
            let hits = searcher.search(GraphFixture.row(queries, qi, dims), ef: 64, in: builder.layers, vectors: builder.vectors) { even(Int($0)) }.hits
            XCTAssertEqual(hits.count, 64)
            XCTAssertTrue(hits.allSatisfy { even(Int($0.id)) })
        }
        let recall = GraphFixture.recall(queries: queries, rows: rows, dimensions: dims, ef: 64,
                                         graph: builder.layers, vectors: builder.vectors, live: even)
        XCTAssertGreaterThanOrEqual(recall, 0.95)
    }

    func testCostCountsEverySimilarity() {
        let rows = GraphFixture.randomUnitVectors(count: 500, dimensions: dims, seed: 55)
        let (builder, _) = GraphFixture.build(rows, dimensions: dims, encoding: .float32, threads: 1)
        let query = GraphFixture.row(rows, 17, dims)
        let result = GraphSearcher().search(query, ef: 500, in: builder.layers, vectors: builder.vectors)
        // A beam as wide as the graph reaches every node once, plus the descent's revisits.
        XCTAssertEqual(result.hits.count, 500)
        XCTAssertGreaterThanOrEqual(result.distanceComputations, 500)
        XCTAssertEqual(result.hits.map(\.id), GraphFixture.bruteForce(query, rows, dimensions: dims, k: 500))
    }

    func testEmptyGraphFindsNothing() {
        let vectors = [Float](repeating: 0.125, count: 64).withUnsafeBufferPointer { GraphVectors(encoding: .int8, dimensions: 64, floats: $0) }
        let layers = GraphLayers(m: 16)
        let result = GraphSearcher().search([Float](repeating: 0.125, count: 64), ef: 10, in: layers, vectors: vectors)
        XCTAssertEqual(result.hits, [])
        XCTAssertFalse(result.partial)
    }

    func testWideningWalkIsTheNarrowWalkThenExactlyTheWideOne() {
        let rows = GraphFixture.randomUnitVectors(count: 3_000, dimensions: dims, seed: 56)
        let queries = GraphFixture.randomUnitVectors(count: 20, dimensions: dims, seed: 57)
        let (builder, _) = GraphFixture.build(rows, dimensions: dims, encoding: .int8, threads: 1)
        let odd = { (id: UInt32) in id % 3 != 0 }
        let searcher = GraphSearcher(), reference = GraphSearcher()
        for qi in 0..<20 {
            let query = GraphFixture.row(queries, qi, dims)
            let narrow = reference.search(query, ef: 24, in: builder.layers, vectors: builder.vectors, allow: odd)
            let paused = searcher.search(query, ef: 24, widening: 96, in: builder.layers, vectors: builder.vectors, allow: odd)
            XCTAssertEqual(paused.hits, narrow.hits, "query \(qi): before widening, the narrow walk's hits")
            XCTAssertEqual(paused.distanceComputations, narrow.distanceComputations, "query \(qi): and its cost")
            let wide = reference.search(query, ef: 96, in: builder.layers, vectors: builder.vectors, allow: odd)
            guard let widened = searcher.widen(in: builder.layers, vectors: builder.vectors, allow: odd) else {
                return XCTFail("query \(qi): a paused walk widens")
            }
            XCTAssertEqual(widened.hits, wide.hits, "query \(qi): widened, the wide walk's hits")
            XCTAssertEqual(paused.distanceComputations + widened.distanceComputations, wide.distanceComputations,
                           "query \(qi): the two parts cost what the wide walk does")
            XCTAssertNil(searcher.widen(in: builder.layers, vectors: builder.vectors, allow: odd), "a walk widens once")
        }
        _ = searcher.search(GraphFixture.row(queries, 0, dims), ef: 24, in: builder.layers, vectors: builder.vectors)
        XCTAssertNil(searcher.widen(in: builder.layers, vectors: builder.vectors), "a walk searched without widening does not")
    }
}
