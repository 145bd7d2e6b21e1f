import CBLAS
import Dispatch
import Embedding
import Foundation
import Search

/// Trains an adaptor head: an affine map `y = W (x - mean)`, started at the PCA rotation, so
/// that every prefix of `y` (32, 64, 128, ... coordinates, renormalised) ranks documents the
/// way the full raw vectors do.
///
/// Without labels the loss is the Matryoshka in-batch similarity loss: for a batch of documents
/// and each prefix m, the softmax over each document's cosines to the others (temperature τ)
/// at m dimensions should match the same softmax of the raw full-dimension cosines (KL
/// divergence, summed over prefixes). With (query, document) pairs a user supplies, it is
/// InfoNCE per prefix instead: each query's document against the batch's other documents.
/// Adam, a warm-up then cosine decay of the step size, a fixed seed: the same input and
/// thread count give the same adaptor. See `BatchStep` for the gradient.
///
/// ```swift
/// let trainer = AdaptorTrainer(options: .init())
/// let (head, report) = try trainer.train(samples: rows, count: n, dimensions: 384) { step, steps, loss in }
/// ```
///
/// Each step is matrix products split by rows over `threads` cores, OpenBLAS itself single-
/// threaded (as everywhere in mrl), so a daemon's searches are not disturbed by BLAS threads.
public struct AdaptorTrainer: Sendable {
    public struct Options: Sendable {
        /// Prefixes the loss keeps, those shorter than the vectors: searches score full dimensions
        /// on the raw vectors, so the head's full output is never searched (leaving it out took
        /// a third off training, and changed MRR@10 on PyPI names by at most 0.002).
        public var prefixes = [32, 64, 128, 256]
        public var temperature: Float = 0.05
        /// The distilled loss's: sharper, so that it weighs the first ranks most (on PyPI
        /// names, 0.02 gained 1-4 points of MRR@10 at 32-64 dims over 0.05).
        public var distilledTemperature: Float = 0.02
        public var batch = 1024
        public var epochs = 10
        public var learningRate: Float = 1e-3
        public var seed: UInt64 = 0
        public var threads = ProcessInfo.processInfo.activeProcessorCount
        public init() {}
    }

    /// Below this many documents the batches would see too little of the corpus to learn
    /// from: the caller fits a PCA head instead.
    public static let minimumSamples = 4_096
    /// Fewer pairs than this are too few to learn a 384 × 384 map from.
    public static let minimumPairs = 512
    /// Fewer queries than this are too few to distil their rankings from.
    public static let minimumQueries = 512

    /// Labelled training data: row i of `queries` (raw query vectors) should find row i of
    /// `documents` (the raw vector of its relevant document).
    public struct Pairs: Sendable {
        public var queries: [Float], documents: [Float], count: Int
        public init(queries: [Float], documents: [Float], count: Int) {
            (self.queries, self.documents, self.count) = (queries, documents, count)
        }
    }

    public struct Report: Sendable {
        public var steps: Int
        /// The loss on one fixed batch (the first documents) before and after training.
        public var initialLoss: Double
        public var finalLoss: Double
        public var seconds: Double
    }

    public let options: Options
    public init(options: Options = Options()) { self.options = options }

    /// Trains on `count` row-major unit vectors of `dimensions` floats. Throws
    /// `AdaptorError.tooFewSamples` and `.diverged` (a non-finite loss, or a loss on the first
    /// batch no lower after training than before: nothing learned, nothing to store).
    /// With `pairs`, the documents give the starting point (their mean and PCA) and the pairs
    /// the loss. With `queries` (raw vectors of queries like those the index receives, no labels
    /// needed), a distilled loss is added: each prefix should rank documents for those queries
    /// as the full vectors do (see `QueryDistillation`).
    public func train(samples: [Float], count: Int, dimensions d: Int, pairs: Pairs? = nil, queries: [Float]? = nil,
                      progress: (_ step: Int, _ steps: Int, _ loss: Double) -> Void = { _, _, _ in }) throws -> (head: MatryoshkaHead, report: Report) {
        guard count >= Self.minimumSamples else { throw AdaptorError.tooFewSamples(found: count, needed: Self.minimumSamples) }
        if let pairs, pairs.count < Self.minimumPairs { throw AdaptorError.tooFewPairs(found: pairs.count, needed: Self.minimumPairs) }
        if let queries, queries.count / d < Self.minimumQueries {
            throw AdaptorError.tooFewQueries(found: queries.count / d, needed: Self.minimumQueries)
        }
        precondition(samples.count == count * d)
        let started = Date()
        var mean = [Float](repeating: 0, count: d)
        for i in 0..<count { for j in 0..<d { mean[j] += samples[i * d + j] } }
        for j in 0..<d { mean[j] /= Float(count) }
        var weights = try MatryoshkaHead.fitPCA(samples: samples, count: count, dimensions: d).head.matrix!

        let examples = pairs?.count ?? count, batch = min(options.batch, examples)
        let stepsPerEpoch = examples / batch, steps = stepsPerEpoch * options.epochs
        var adam = Adam(parameters: d * d, rate: options.learningRate)
        let shorter = Set(options.prefixes.filter { $0 < d }).sorted(), threads = max(options.threads, 1)
        let prefixes = shorter.isEmpty ? [d] : shorter
        let step = BatchStep(pairs != nil ? .pairs : .documents, batch: batch, dimensions: d, prefixes: prefixes,
                             temperature: options.temperature, threads: threads)
        var random = SplitMix64(seed: options.seed)
        let distillation = queries.map {
            QueryDistillation(queries: $0, samples: samples, count: count, dimensions: d, prefixes: prefixes,
                              temperature: options.distilledTemperature, threads: threads, random: &random)
        }
        func load(_ rows: ArraySlice<Int>) {
            if let pairs {
                step.load(rows: rows, from: pairs.queries, mean: mean)
                step.load(rows: rows, from: pairs.documents, mean: mean, right: true)
            } else {
                step.load(rows: rows, from: samples, mean: mean)
            }
        }
        var gradient: [Float] = []
        /// The loss of the loaded batches, both losses' gradients summed into `gradient`.
        func lossAndGradient() -> Double {
            var loss = step.lossAndGradient(weights: weights)
            gradient = Array(UnsafeBufferPointer(start: step.weightGradient, count: d * d))
            if let distillation {
                loss += distillation.step.lossAndGradient(weights: weights)
                for i in 0..<d * d { gradient[i] += distillation.step.weightGradient[i] }
            }
            return loss
        }
        let probe = Array(0..<batch)[...]
        load(probe)
        distillation?.loadProbe(samples: samples, mean: mean)
        let initialLoss = lossAndGradient()
        for epoch in 0..<options.epochs {
            var order = Array(0..<examples)
            order.shuffle(using: &random)
            for b in 0..<stepsPerEpoch {
                let n = epoch * stepsPerEpoch + b
                load(order[b * batch..<(b + 1) * batch])
                distillation?.loadNext(samples: samples, mean: mean, random: &random)
                let loss = lossAndGradient()
                guard loss.isFinite else { throw AdaptorError.diverged(step: n, loss: loss) }
                adam.update(&weights, gradient: gradient, scale: Self.schedule(step: n, of: steps))
                progress(n + 1, steps, loss)
            }
        }
        load(probe)
        distillation?.loadProbe(samples: samples, mean: mean)
        let finalLoss = lossAndGradient()
        // y = W (x - mean) = W x + c with c = -W mean, stored after W.
        var offset = [Float](repeating: 0, count: d)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(d), Int32(d), -1, weights, Int32(d), mean, 1, 0, &offset, 1)
        guard finalLoss < initialLoss else { throw AdaptorError.diverged(step: steps, loss: finalLoss) }
        let head: MatryoshkaHead
        do {
            head = try MatryoshkaHead(kind: .adaptor, dimensions: d, matrix: weights + offset)
        } catch HeadError.badEntries {
            // Cosines do not see the weights' scale: steps far too large blow it up with a
            // finite loss, into a matrix no head may hold. The training diverged; no stored
            // head is damaged.
            throw AdaptorError.diverged(step: steps, loss: finalLoss)
        }
        return (head, Report(steps: steps, initialLoss: initialLoss, finalLoss: finalLoss, seconds: Date().timeIntervalSince(started)))
    }

    /// The step size's multiplier: a linear warm-up over 50 steps (a tenth of a short run),
    /// then a cosine decay to 0.
    static func schedule(step: Int, of steps: Int) -> Float {
        let warm = min(1, Float(step + 1) / Float(max(1, min(50, steps / 10))))
        return warm * 0.5 * (1 + cos(Float.pi * Float(min(step, steps)) / Float(max(steps, 1))))
    }
}

public enum AdaptorError: Error, Equatable, CustomStringConvertible {
    case tooFewSamples(found: Int, needed: Int)
    case tooFewPairs(found: Int, needed: Int)
    case tooFewQueries(found: Int, needed: Int)
    case diverged(step: Int, loss: Double)

    public var description: String {
        switch self {
        case .tooFewSamples(let found, let needed):
            return "an adaptor head needs at least \(needed) documents to train on, the index has \(found)"
        case .tooFewPairs(let found, let needed):
            return "supervised adaptor training needs at least \(needed) (query, document) pairs, found \(found) whose document is in the index"
        case .tooFewQueries(let found, let needed):
            return "distilling the adaptor on queries needs at least \(needed) of them, found \(found)"
        case .diverged(let step, let loss):
            return "adaptor training diverged (loss \(loss) at step \(step)); the head was not changed: try a smaller --learning-rate"
        }
    }
}

extension AdaptorError: LocalizedError {
    public var errorDescription: String? { description }
}

/// Adam (Kingma & Ba) over one flat parameter array.
struct Adam {
    let rate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8
    private var first: [Float], second: [Float], t = 0

    init(parameters: Int, rate: Float) {
        self.rate = rate
        first = [Float](repeating: 0, count: parameters)
        second = first
    }

    mutating func update(_ parameters: inout [Float], gradient: [Float], scale: Float) {
        t += 1
        let correction1 = 1 - pow(beta1, Float(t)), correction2 = 1 - pow(beta2, Float(t))
        let step = rate * scale / correction1
        for i in parameters.indices {
            let g = gradient[i]
            first[i] = beta1 * first[i] + (1 - beta1) * g
            second[i] = beta2 * second[i] + (1 - beta2) * g * g
            parameters[i] -= step * first[i] / ((second[i] / correction2).squareRoot() + epsilon)
        }
    }
}
