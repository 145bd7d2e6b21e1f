import Embedding
import Engine
import Foundation
import Search
import Store
import XCTest

/// The Matryoshka head machinery on real LMDB indexes: fitting, searching through it,
/// writes after it, and a change interrupted half way.
final class HeadTests: XCTestCase {
    static let dims = 64

    /// `count` vectors whose variance lives in the last 16 of 64 coordinates (the first 48
    /// are faint noise): plain truncation to 32 dims sees only noise, a PCA rotation moves the
    /// informative directions to the front.
    private func corpus(_ count: Int, seed: UInt64 = 7) -> [DocumentInput] {
        var rng = SplitMix64(seed: seed)
        func uniform() -> Float { Float(Int(rng.next() % 2_000_001) - 1_000_000) / 1e6 }
        return (0..<count).map { n in
            let vector = (0..<HeadTests.dims).map { j in j < 48 ? 0.01 * uniform() : uniform() }
            return DocumentInput(id: "d\(n)", text: "document \(n)", vector: vector)
        }
    }

    private func makeIndex(_ data: DataDirectory, _ docs: [DocumentInput]) throws -> Index {
        let index = try Index.create(name: "h", in: data, dimensions: HeadTests.dims, model: nil)
        for start in stride(from: 0, to: docs.count, by: 1000) {
            _ = try index.upsert(Array(docs[start..<min(start + 1000, docs.count)]))
        }
        return index
    }

    /// Share of `docs` found first at `dims` by a query that keeps each one's informative
    /// coordinates and redraws its faint noise: only the informative directions can find it.
    private func selfRecall(_ index: Index, _ docs: ArraySlice<DocumentInput>, dims: Int) throws -> Double {
        var rng = SplitMix64(seed: 99)
        let found = try docs.filter { doc in
            var query = doc.vector!
            for j in 0..<48 { query[j] = 0.01 * (Float(Int(rng.next() % 2_000_001) - 1_000_000) / 1e6) }
            return try index.search(SearchRequest(vector: query, k: 1, dims: dims)).hits.first?.id == doc.id
        }
        return Double(found.count) / Double(docs.count)
    }

    func testPCAKeepsFullDimensionScoresAndMakesShortPrefixesWork() throws {
        let docs = corpus(2_500)
        let index = try makeIndex(temporaryData(self), docs)
        let queries = docs.prefix(200)
        let before = try queries.map { try index.search(SearchRequest(vector: $0.vector, k: 5)) }
        let naive32 = try selfRecall(index, queries, dims: 32)

        let change = try index.changeHead(to: .pca, automatic: false)
        XCTAssertEqual(change.version, 1)
        XCTAssertEqual(change.samples, 2_500)
        XCTAssertGreaterThan(change.varianceInPrefix.first { $0.dims == 32 }!.share, 0.95)
        XCTAssertEqual(try index.currentHead().record?.kind, "pca")

        for (query, old) in zip(queries, before) {
            let new = try index.search(SearchRequest(vector: query.vector, k: 5))
            XCTAssertEqual(new.hits.map(\.id), old.hits.map(\.id))
            for (a, b) in zip(new.hits, old.hits) { XCTAssertEqual(a.score, b.score, accuracy: 1e-5) }
        }
        let pca32 = try selfRecall(index, queries, dims: 32)
        XCTAssertLessThan(naive32, 0.5, "the first 32 raw coordinates are noise")
        XCTAssertGreaterThan(pca32, 0.95, "PCA moves the informative directions into the 32-d prefix")

        // Back to plain truncation: the rotated copy is dropped and prefixes are raw again.
        try index.changeHead(to: .none, automatic: false)
        XCTAssertEqual(try selfRecall(index, queries, dims: 32), naive32)
    }

    func testIndexFitsAutomaticallyWhenDueButNeverOverAChoiceByHand() throws {
        let docs = corpus(Index.automaticHeadMinimum + 100)
        let index = try makeIndex(temporaryData(self), Array(docs.prefix(Index.automaticHeadMinimum - 1)))
        XCTAssertNil(try index.refitHeadIfDue(), "not enough documents yet")
        _ = try index.upsert(Array(docs.suffix(101)))
        let fitted = try XCTUnwrap(try index.refitHeadIfDue())
        XCTAssertEqual(fitted.kind, .pca)
        XCTAssertNil(try index.refitHeadIfDue(), "no refit until the index has grown 4x")

        try index.changeHead(to: .none, automatic: false)
        XCTAssertNil(try index.refitHeadIfDue(), "a head chosen by hand stays")
        XCTAssertEqual(try index.currentHead().record?.kind, "none")
    }

    func testWritesAfterAHeadLandInItsSpace() throws {
        let docs = corpus(2_100)
        let index = try makeIndex(temporaryData(self), Array(docs.prefix(2_000)))
        try index.changeHead(to: .pca, automatic: false)
        let late = docs.suffix(100)
        _ = try index.upsert(Array(late))
        XCTAssertGreaterThan(try selfRecall(index, late, dims: 32), 0.95)
        let gone = late.first!
        XCTAssertEqual(try index.delete(ids: [gone.id]), 1)
        let hits = try index.search(SearchRequest(vector: gone.vector, k: 20, dims: 32)).hits.map(\.id)
        XCTAssertFalse(hits.contains(gone.id), "a deleted document leaves the head's copy too")
    }

    func testAnInterruptedHeadChangeLeavesTheOldHeadInUse() throws {
        let data = temporaryData(self)
        let docs = corpus(3_000)
        do {
            let index = try makeIndex(data, docs)
            let rotation = try MatryoshkaHead.fitPCA(samples: docs.flatMap { $0.vector! }, count: docs.count, dimensions: HeadTests.dims).head
            let pending = try index.store.beginHead(kind: "pca", matrix: rotation.matrix, fittedOn: docs.count, automatic: true)
            try index.store.writeHeadBlocks(pending, blocks: [0]) { rows, count in rotation.apply(rows: rows, count: count) }
            // The process "dies" here: the index is closed with the new head half written.
        }
        let reopened = try Index.open(name: "h", in: data, mode: .write)
        let info = try reopened.info()
        XCTAssertNil(info.head)
        XCTAssertEqual(info.pendingHead?.kind, "pca")
        XCTAssertLessThan(try selfRecall(reopened, docs.prefix(100), dims: 32), 0.5, "searches still use plain truncation")
        XCTAssertGreaterThan(try selfRecall(reopened, docs.prefix(100), dims: 64), 0.99)

        let change = try reopened.changeHead(to: .pca, automatic: true)
        XCTAssertEqual(change.version, 2, "the leftover version is discarded, not reused")
        XCTAssertNil(try reopened.info().pendingHead)
        XCTAssertGreaterThan(try selfRecall(reopened, docs.prefix(100), dims: 32), 0.95)
    }

    func testAWriteForAnOldHeadIsRefused() throws {
        let docs = corpus(2_000)
        let index = try makeIndex(temporaryData(self), docs)
        let stale = try index.currentHead().record
        try index.changeHead(to: .pca, automatic: false)
        let write = DocumentWrite(id: "new", text: "", meta: nil, vector: docs[0].vector!, contentHash: 1)
        XCTAssertThrowsError(try index.store.upsert([write], head: stale)) {
            XCTAssertTrue("\($0)".contains("head of the index"), "\($0)")
        }
        XCTAssertNil(try index.document(id: "new"), "nothing of the batch was written")
    }

    func testAnAdaptorHeadIsStoredSearchedThroughAndReopened() throws {
        let data = temporaryData(self)
        let docs = corpus(5_000)
        let index = try makeIndex(data, docs)
        let queries = docs.prefix(100)
        let before = try queries.map { try index.search(SearchRequest(vector: $0.vector, k: 5)).hits.map(\.id) }
        let naive32 = try selfRecall(index, queries, dims: 32)
        var options = AdaptorTrainer.Options()
        options.epochs = 3
        let change = try index.changeHead(to: .adaptor, automatic: false, adaptor: options)
        XCTAssertEqual(change.kind, .adaptor)
        XCTAssertNil(change.fallback)
        XCTAssertLessThan(try XCTUnwrap(change.training).finalLoss, change.training!.initialLoss)
        XCTAssertGreaterThan(try selfRecall(index, queries, dims: 32), naive32 + 0.3, "the adaptor's prefixes find the informative directions")

        let reopened = try Index.open(name: "h", in: data, mode: .read)
        XCTAssertEqual(try reopened.currentHead().head.kind, .adaptor)
        XCTAssertEqual(try reopened.currentHead().head.matrix?.count, HeadTests.dims * (HeadTests.dims + 1), "matrix and offset stored")
        for (query, old) in zip(queries, before) {
            XCTAssertEqual(try reopened.search(SearchRequest(vector: query.vector, k: 5)).hits.map(\.id), old,
                           "full-dimension scores come from the raw vectors")
        }
    }

    /// An adaptor learns from the queries it is given (here, as the documents' own vectors),
    /// from the log's by default (none here: an empty log), and refuses queries of another size.
    func testAnAdaptorSaysWhichQueriesItWasDistilledFrom() throws {
        let docs = corpus(5_000)
        let index = try makeIndex(temporaryData(self), docs)
        var options = AdaptorTrainer.Options()
        options.epochs = 1
        let given = docs.prefix(600).map { $0.vector! }
        let change = try index.changeHead(to: .adaptor, automatic: false, adaptor: options, queries: .queries(given))
        XCTAssertEqual(change.distilledFrom, 600)
        XCTAssertEqual(change.queriesSource, "queries")
        XCTAssertEqual(change.json["distilled_from"]?.int, 600)
        let fromLog = try index.changeHead(to: .adaptor, automatic: false, adaptor: options)
        XCTAssertEqual(fromLog.distilledFrom, 0, "an empty log distils nothing")
        XCTAssertNil(fromLog.queriesSource)
        XCTAssertThrowsError(try index.changeHead(to: .adaptor, automatic: false, adaptor: options, queries: .queries([[1, 2, 3]]))) {
            guard case EngineError.invalidRequest(let field, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(field, "vector")
        }
        XCTAssertEqual(try index.currentHead().record?.version, fromLog.version, "a refused change leaves the head as it was")
    }

    func testAnAdaptorOnTooFewDocumentsIsAPCAHeadThatSaysSo() throws {
        let index = try makeIndex(temporaryData(self), corpus(2_500))
        let change = try index.changeHead(to: .adaptor, automatic: false)
        XCTAssertEqual(change.kind, .pca)
        XCTAssertTrue(change.fallback?.contains("at least 4096 documents") ?? false, change.fallback ?? "no message")
        XCTAssertEqual(try index.currentHead().record?.kind, "pca")
    }

    func testAHeadFittedForAnotherModelIsRefused() throws {
        let data = temporaryData(self)
        let docs = corpus(2_000)
        let index = try Index.create(name: "m", in: data, dimensions: HeadTests.dims, model: ModelIdentity(name: "mini", fingerprint: "aaaa"))
        _ = try index.upsert(docs)
        let rotation = try MatryoshkaHead.fitPCA(samples: docs.flatMap { $0.vector! }, count: docs.count, dimensions: HeadTests.dims).head
        let pending = try index.store.beginHead(kind: "pca", matrix: rotation.matrix, fittedOn: docs.count, automatic: false, model: "bbbb")
        try index.store.writeHeadBlocks(pending, blocks: try index.store.read { try $0.blockIDs() }) { rows, count in rotation.apply(rows: rows, count: count) }
        XCTAssertTrue(try index.store.finishHead(pending))
        XCTAssertThrowsError(try Index.open(name: "m", in: data, mode: .read).currentHead()) {
            XCTAssertTrue("\($0)".contains("fitted for another model"), "\($0)")
        }
    }
}
