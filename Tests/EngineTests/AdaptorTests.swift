import Embedding
@testable import Engine
import Foundation
import Search
import XCTest

/// The adaptor head's trainer: its gradient, its determinism, and what it buys on real
/// MiniLM vectors of the Debian corpus.
final class AdaptorTests: XCTestCase {
    /// `count` random unit vectors of `dims` floats.
    private func unitVectors(_ count: Int, dims: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).flatMap { _ -> [Float] in
            let v = (0..<dims).map { _ in Float(Int(rng.next() % 2_000_001) - 1_000_000) / 1e6 }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / norm }
        }
    }

    /// The three losses (documents against each other, InfoNCE on pairs, queries distilled
    /// against more documents than queries) against central differences.
    func testGradientMatchesFiniteDifferences() {
        let b = 12, d = 8
        for kind in [BatchStep.Kind.documents, .pairs, .distilled] {
            let right = kind == .distilled ? 20 : b
            let rows = unitVectors(b, dims: d, seed: 1), partners = unitVectors(right, dims: d, seed: 6)
            let mean = (0..<d).map { j in (0..<b).reduce(Float(0)) { $0 + rows[$1 * d + j] } / Float(b) }
            var weights = unitVectors(d, dims: d, seed: 2)
            let step = BatchStep(kind, batch: b, rightRows: right, dimensions: d, prefixes: [4, 8], temperature: 0.2, threads: 2)
            step.load(rows: Array(0..<b)[...], from: rows, mean: mean)
            if kind != .documents { step.load(rows: Array(0..<right)[...], from: partners, mean: mean, right: true) }
            _ = step.lossAndGradient(weights: weights)
            let analytic = Array(UnsafeBufferPointer(start: step.weightGradient, count: d * d))
            var worst: Float = 0
            for i in stride(from: 0, to: d * d, by: 5) {
                let keep = weights[i], h: Float = 1e-2
                weights[i] = keep + h
                let up = step.lossAndGradient(weights: weights)
                weights[i] = keep - h
                let down = step.lossAndGradient(weights: weights)
                weights[i] = keep
                let numeric = Float((up - down) / Double(2 * h))
                worst = max(worst, abs(numeric - analytic[i]) / max(abs(numeric), 1e-3))
            }
            XCTAssertLessThan(worst, 0.02, "\(kind): analytic and numeric dLoss/dW agree")
            XCTAssertGreaterThan(analytic.map(abs).max()!, 1e-3, "\(kind): the gradient is not trivially zero")
        }
    }

    /// Documents with loud noise in the first half of 32 coordinates and their topic (one of 40)
    /// quiet in the second; queries (unlike them) hold a topic only. PCA, optimal for the
    /// documents, puts their noise first, so short prefixes rank documents for such queries
    /// badly. Distilled from the full rankings of 1,000 such queries, the adaptor's 8-d prefix
    /// shortlists more of the full top 10 for 200 others it never saw.
    func testQueriesDistilledIntoTheAdaptorHelpHeldOutQueriesLikeThem() throws {
        let d = 32, documents = 5_000
        var rng = SplitMix64(seed: 11)
        func uniform() -> Float { Float(Int(rng.next() % 2_000_001) - 1_000_000) / 1e6 }
        let topics = (0..<40).map { _ in (0..<d / 2).map { _ in uniform() } }
        func vectors(_ count: Int, noise: Float) -> [Float] {
            (0..<count).flatMap { _ -> [Float] in
                let topic = topics[Int(rng.next() % 40)]
                let v = (0..<d).map { j in j < d / 2 ? noise * uniform() : 0.5 * topic[j - d / 2] + 0.1 * uniform() }
                let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                return v.map { $0 / norm }
            }
        }
        let samples = vectors(documents, noise: 1), training = vectors(1_000, noise: 0), heldOut = vectors(200, noise: 0)
        var options = AdaptorTrainer.Options()
        options.prefixes = [8, 16]
        options.epochs = 5
        options.learningRate = 1e-2  // a rotation of the prefix in few steps
        options.batch = 512
        let trainer = AdaptorTrainer(options: options)
        let plain = try MatryoshkaHead.fitPCA(samples: samples, count: documents, dimensions: d).head
        let distilled = try trainer.train(samples: samples, count: documents, dimensions: d, queries: training).head
        func overlap(_ head: MatryoshkaHead) -> Double {
            let truth = PrefixScores(queries: heldOut, docs: samples, dimensions: d, prefix: d).top(10)
            let found = PrefixScores(queries: head.apply(rows: heldOut, count: 200), docs: head.apply(rows: samples, count: documents),
                                     dimensions: d, prefix: 8).top(100)
            return Double(zip(truth, found).map { Set($0).intersection($1).count }.reduce(0, +)) / 2_000
        }
        let (before, after) = (overlap(plain), overlap(distilled))
        XCTAssertGreaterThan(after, before + 0.07, "share of the full top 10 in the 8-d top 100 (measured 0.018 and 0.131): \(before) by PCA, \(after) distilled")
        XCTAssertThrowsError(try trainer.train(samples: samples, count: documents, dimensions: d, queries: Array(training[0..<100 * d]))) {
            XCTAssertEqual($0 as? AdaptorError, .tooFewQueries(found: 100, needed: AdaptorTrainer.minimumQueries))
        }
    }

    /// `count` unit vectors scattered around 40 random centres: structure a prefix can keep.
    private func clustered(_ count: Int, dims: Int, seed: UInt64) -> [Float] {
        let centres = unitVectors(40, dims: dims, seed: seed), noise = unitVectors(count, dims: dims, seed: seed + 1)
        return (0..<count).flatMap { i -> [Float] in
            let v = (0..<dims).map { j in centres[(i % 40) * dims + j] + 0.3 * noise[i * dims + j] }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / norm }
        }
    }

    func testTheSameSeedGivesTheSameAdaptor() throws {
        let count = 5_000, d = 16
        let samples = clustered(count, dims: d, seed: 3)
        var options = AdaptorTrainer.Options()
        options.prefixes = [4, 8]
        options.epochs = 2
        options.batch = 256
        func train(seed: UInt64) throws -> [Float] {
            options.seed = seed
            return try AdaptorTrainer(options: options).train(samples: samples, count: count, dimensions: d).head.matrix!
        }
        let first = try train(seed: 0), again = try train(seed: 0), other = try train(seed: 1)
        XCTAssertEqual(first.count, d * d + d, "the matrix, then the offset")
        XCTAssertLessThanOrEqual(zip(first, again).map { abs($0 - $1) }.max()!, 1e-5)
        XCTAssertGreaterThan(zip(first, other).map { abs($0 - $1) }.max()!, 1e-4, "the seed orders the batches")
    }

    func testTooFewSamplesAndDivergenceAreRefused() throws {
        let d = 16
        XCTAssertThrowsError(try AdaptorTrainer().train(samples: unitVectors(100, dims: d, seed: 4), count: 100, dimensions: d)) {
            XCTAssertEqual($0 as? AdaptorError, .tooFewSamples(found: 100, needed: AdaptorTrainer.minimumSamples))
        }
        let samples = clustered(5_000, dims: d, seed: 7)
        let few = AdaptorTrainer.Pairs(queries: Array(samples[0..<100 * d]), documents: Array(samples[d..<101 * d]), count: 100)
        XCTAssertThrowsError(try AdaptorTrainer().train(samples: samples, count: 5_000, dimensions: d, pairs: few)) {
            XCTAssertEqual($0 as? AdaptorError, .tooFewPairs(found: 100, needed: AdaptorTrainer.minimumPairs))
        }
        var options = AdaptorTrainer.Options()
        options.learningRate = 1e4
        options.epochs = 2
        options.batch = 512
        XCTAssertThrowsError(try AdaptorTrainer(options: options).train(samples: unitVectors(5_000, dims: d, seed: 5), count: 5_000, dimensions: d)) {
            guard case .diverged = $0 as? AdaptorError else { return XCTFail("\($0)") }
            XCTAssertTrue("\($0)".contains("--learning-rate"), "the message says what to do")
        }
    }

    /// On an index of 8,192 real MiniLM document vectors (Debian), training makes 32- and 64-d
    /// prefixes find the known item (the package of a title) better than PCA's do.
    func testAdaptorPrefixesBeatPCAOnRealVectors() throws {
        let shared = "../shared/data/"
        guard FileManager.default.fileExists(atPath: shared + "minilm-debian-docs.f16.npy") else { throw XCTSkip("needs ../shared/data") }
        let docs = try NumpyMatrix(contentsOf: shared + "minilm-debian-docs.f16.npy")
        let titles = try NumpyMatrix(contentsOf: shared + "minilm-debian-titles.f16.npy")
        let ids = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: shared + "minilm-debian-titles.ids.json")))
        let rows = try XCTUnwrap((ids as? [String: Any])?["row"] as? [Int], "titles.ids.json: {\"row\": [...], ...}")
        let count = 8_192
        let index = try Index.create(name: "debian", in: temporaryData(self), dimensions: docs.columns, model: nil)
        for start in stride(from: 0, to: count, by: 2_048) {
            _ = try index.upsert((start..<start + 2_048).map { DocumentInput(id: "row\($0)", text: "", vector: docs.row($0)) })
        }
        let queries = rows.enumerated().filter { $0.element < count }.map { i, row in
            KnownItemQuery(vector: titles.row(i), relevantID: "row\(row)")
        }
        var options = AdaptorTrainer.Options()
        options.epochs = 10
        let comparison = try index.compareHeads(queries, dims: [32, 64, 384], kinds: [.pca, .adaptor], adaptor: options)
        XCTAssertEqual(comparison.fittedForComparison, ["pca", "adaptor"], "the index has no head of its own")
        XCTAssertGreaterThan(comparison.queries, 1_000)
        func row(_ head: String, _ dims: Int) -> HeadComparison.Row { comparison.rows.first { $0.head == head && $0.dims == dims }! }
        for dims in [32, 64] {
            XCTAssertGreaterThan(row("adaptor", dims).mrrAt10, row("pca", dims).mrrAt10 + 0.01, "\(dims)-d MRR@10")
        }
        XCTAssertEqual(row("adaptor", 384).mrrAt10, row("pca", 384).mrrAt10, accuracy: 1e-9, "full dimensions score the raw vectors")
        XCTAssertEqual(row("pca", 384).shortlistFor95, 10, "exact full-dimension search holds its own top 10")
        XCTAssertNil(try index.currentHead().record, "comparing heads leaves the index as it was")
    }
}
