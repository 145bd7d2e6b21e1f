import Embedding
import Engine
import Foundation
import Search
import Store
import XCTest

/// The automatic head chosen on the query log (`Index.refitHeadIfDue`), on a real index whose
/// queries are unlike its documents: PCA, fitted by itself first, puts the documents' loud
/// noise first and leaves the queries' topics to the back, so the log must choose another head.
final class HeadChoiceTests: XCTestCase {
    static let dims = 64, documents = 5_000

    /// Documents: loud noise in the first 32 coordinates, their topic (one of 40) quiet in the
    /// last 32. Queries: a topic only.
    private struct Corpus {
        var rng = SplitMix64(seed: 23)
        let topics: [[Float]]

        init() {
            var rng = SplitMix64(seed: 17)
            topics = (0..<40).map { _ in (0..<HeadChoiceTests.dims / 2).map { _ in Corpus.uniform(&rng) } }
        }

        static func uniform(_ rng: inout SplitMix64) -> Float { Float(Int(rng.next() % 2_000_001) - 1_000_000) / 1e6 }

        mutating func vector(noise: Float) -> [Float] {
            let topic = topics[Int(rng.next() % 40)], half = HeadChoiceTests.dims / 2
            let v = (0..<HeadChoiceTests.dims).map { j in j < half ? noise * Corpus.uniform(&rng) : 0.5 * topic[j - half] + 0.1 * Corpus.uniform(&rng) }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / norm }
        }
    }

    private func makeIndex(_ corpus: inout Corpus) throws -> Index {
        let index = try Index.create(name: "c", in: temporaryData(self), dimensions: HeadChoiceTests.dims, model: nil)
        for start in stride(from: 0, to: HeadChoiceTests.documents, by: 1_000) {
            _ = try index.upsert((start..<start + 1_000).map { DocumentInput(id: "d\($0)", text: "", vector: corpus.vector(noise: 1)) })
        }
        return index
    }

    /// Logs `count` topic-only queries as searches would (written at most 256 at a time).
    private func log(_ index: Index, _ count: Int, _ corpus: inout Corpus) throws {
        for n in 0..<count {
            index.logQuery(vector: corpus.vector(noise: 0), k: 10, text: nil)
            if n % 256 == 255 { try index.flushQueryLog() }
        }
        try index.flushQueryLog()
    }

    /// Fast enough for a test to learn the rotation these queries need.
    private var training: AdaptorTrainer.Options {
        var options = AdaptorTrainer.Options()
        options.epochs = 5
        options.batch = 512
        options.learningRate = 1e-2
        return options
    }

    func testTheLogChoosesTheHeadThatRanksItsQueriesBestAndChoosesAgainAsItGrows() throws {
        var corpus = Corpus()
        let index = try makeIndex(&corpus)
        XCTAssertEqual(try index.refitHeadIfDue(adaptor: training)?.kind, .pca, "PCA first, with no log")
        try log(index, Index.graphGuidanceMinimum - 1, &corpus)
        XCTAssertFalse(try index.headChoiceIsDue(), "due before the log held its minimum")
        XCTAssertNil(try index.refitHeadIfDue(adaptor: training))
        try log(index, 1, &corpus)
        XCTAssertTrue(try index.headChoiceIsDue())

        let change = try XCTUnwrap(try index.refitHeadIfDue(adaptor: training))
        let choice = try XCTUnwrap(change.choice)
        let shortlist = Dictionary(uniqueKeysWithValues: choice.shortlists.map { ($0.kind, $0.shortlist) })
        XCTAssertEqual(choice.prefix, 32, "no graph: the largest stored prefix up to 128 below the full one")
        XCTAssertEqual(choice.heldOut, Index.graphGuidanceMinimum / 5)
        XCTAssertEqual(change.kind, .adaptor, "shortlists \(shortlist)")
        XCTAssertLessThan(shortlist[.adaptor]!, shortlist[.pca]!, "\(shortlist)")
        XCTAssertEqual(change.distilledFrom, Index.graphGuidanceMinimum - Index.graphGuidanceMinimum / 5)
        let record = try XCTUnwrap(try index.currentHead().record)
        XCTAssertEqual(record.kind, "adaptor")
        XCTAssertTrue(record.automatic)
        XCTAssertEqual(record.chosenOnLog, Index.graphGuidanceMinimum)
        let description = try index.info().headDescription
        XCTAssertTrue(description.contains("chosen on the query log"), description)
        XCTAssertEqual(try index.search(SearchRequest(vector: corpus.vector(noise: 0), k: 5)).hits.count, 5)

        // Chosen again once the log has been offered twice as many queries; not before.
        try log(index, Index.graphGuidanceMinimum - 1, &corpus)
        XCTAssertFalse(try index.headChoiceIsDue())
        XCTAssertNil(try index.refitHeadIfDue(adaptor: training), "nothing due: the index has not grown either")
        try log(index, 1, &corpus)
        XCTAssertTrue(try index.headChoiceIsDue())
    }

    /// An adaptor whose training diverges is left out of the choice; the upkeep goes on.
    func testAnAdaptorThatLearnsNothingLeavesTheChoiceToTruncationAndPCA() throws {
        var corpus = Corpus()
        let index = try makeIndex(&corpus)
        try log(index, Index.graphGuidanceMinimum, &corpus)
        var diverging = training
        diverging.learningRate = 1e30  // the weights overflow: a non-finite loss
        let change = try XCTUnwrap(try index.refitHeadIfDue(adaptor: diverging))
        XCTAssertEqual(try XCTUnwrap(change.choice).shortlists.map(\.kind), [.none, .pca])
        XCTAssertNil(change.training)
        XCTAssertNotNil(try index.currentHead().record?.chosenOnLog)
    }

    func testAHeadChosenByHandIsNeverChosenOnTheLog() throws {
        var corpus = Corpus()
        let index = try makeIndex(&corpus)
        try index.changeHead(to: .pca, automatic: false, queries: .none)
        try log(index, Index.graphGuidanceMinimum, &corpus)
        XCTAssertFalse(try index.headChoiceIsDue())
        XCTAssertNil(try index.refitHeadIfDue(adaptor: training))
        XCTAssertNil(try index.currentHead().record?.chosenOnLog)
    }
}
