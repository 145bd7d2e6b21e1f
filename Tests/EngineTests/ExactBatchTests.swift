@testable import Engine
import Foundation
import Search
import TestSupport
import XCTest

/// The batched exact search finds what the per-query scan finds, deleted rows and all.
final class ExactBatchTests: XCTestCase {
    func testABatchFindsWhatEachQueryAloneFinds() throws {
        let index = try makeClusteredIndex(ClusteredCorpus.documents(2_500))
        XCTAssertEqual(try index.delete(ids: (0..<300).map { "d\($0 * 5)" }), 300)
        // More queries than one pass takes.
        let queries = ClusteredCorpus.blindQueries(ExactBatch.width + 70, seed: 301) + ClusteredCorpus.documents(3, from: 9_000).compactMap(\.vector)
        try index.store.read { snapshot in
            let blocks = try snapshot.vectorBlocks(space: .raw)
            XCTAssertGreaterThan(blocks.count, 1)
            var pauses = 0
            let batched = try ExactBatch.run(queries: queries, k: 10, blocks: blocks, layout: index.layout) { pauses += 1 }
            XCTAssertEqual(batched.count, queries.count)
            let blocksPerPass = (blocks.count + ExactBatch.blocksBetweenPauses - 1) / ExactBatch.blocksBetweenPauses
            XCTAssertEqual(pauses, 2 * blocksPerPass, "paced within each of the two passes")
            for (q, hits) in zip(queries, batched) {
                let alone = ExactSearch.run(query: q, dimensions: ClusteredCorpus.dims, k: 10, blocks: blocks, layout: index.layout).hits
                XCTAssertEqual(hits.map(\.id), alone.map(\.id))
                for (a, b) in zip(hits, alone) { XCTAssertEqual(a.score, b.score, accuracy: 1e-5) }
                let deleted = Set((0..<300).map { "d\($0 * 5)" })
                XCTAssertTrue(try hits.allSatisfy { !deleted.contains(try snapshot.documentID(internalID: $0.id) ?? "") }, "no deleted row")
            }
        }
    }
}
