import CBLAS
import CKernels
import Dispatch
import Foundation

/// A BERT encoder over memory-mapped weights. Sequences are packed back to back with no
/// padding: the linear layers (BLAS sgemm) run over every token of a batch at once, and
/// attention runs per sequence, so a batch of short and long texts wastes no work.
final class BertModel: @unchecked Sendable {  // immutable after init; weights are read-only
    let config: BertConfig
    private let weights: SafeTensors  // owns the map the pointers below point into
    private let word, position, tokenType, normGamma, normBeta: UnsafePointer<Float>
    private let layers: [Layer]

    struct Layer: @unchecked Sendable {  // pointers into the read-only weights map
        /// Query, key and value projections stacked into one [3H, H] matrix (one sgemm).
        let qkv: [Float]
        let qkvBias: [Float]
        let attentionOut, attentionOutBias, attentionGamma, attentionBeta: UnsafePointer<Float>
        let intermediate, intermediateBias, output, outputBias, outputGamma, outputBeta: UnsafePointer<Float>
    }

    /// Throws `EncoderError` naming a missing or mis-shaped tensor.
    init(config: BertConfig, weights: SafeTensors) throws {
        self.config = config
        self.weights = weights
        let h = config.hidden, i = config.intermediate
        word = try weights.floats("embeddings.word_embeddings.weight", shape: [config.vocabulary, h])
        position = try weights.floats("embeddings.position_embeddings.weight", shape: [config.maxPositions, h])
        tokenType = try weights.floats("embeddings.token_type_embeddings.weight", shape: [config.typeVocabulary, h])
        normGamma = try weights.floats("embeddings.LayerNorm.weight", shape: [h])
        normBeta = try weights.floats("embeddings.LayerNorm.bias", shape: [h])
        layers = try (0..<config.layers).map { n in
            let p = "encoder.layer.\(n)."
            func t(_ name: String, _ shape: [Int]) throws -> UnsafePointer<Float> { try weights.floats(p + name, shape: shape) }
            let parts = ["query", "key", "value"]
            let qkv = try parts.flatMap { Array(UnsafeBufferPointer(start: try t("attention.self.\($0).weight", [h, h]), count: h * h)) }
            let qkvBias = try parts.flatMap { Array(UnsafeBufferPointer(start: try t("attention.self.\($0).bias", [h]), count: h)) }
            return Layer(
                qkv: qkv, qkvBias: qkvBias,
                attentionOut: try t("attention.output.dense.weight", [h, h]), attentionOutBias: try t("attention.output.dense.bias", [h]),
                attentionGamma: try t("attention.output.LayerNorm.weight", [h]), attentionBeta: try t("attention.output.LayerNorm.bias", [h]),
                intermediate: try t("intermediate.dense.weight", [i, h]), intermediateBias: try t("intermediate.dense.bias", [i]),
                output: try t("output.dense.weight", [h, i]), outputBias: try t("output.dense.bias", [h]),
                outputGamma: try t("output.LayerNorm.weight", [h]), outputBeta: try t("output.LayerNorm.bias", [h]))
        }
    }

    /// Buffers for one batch, grown as needed and reused, so encoding allocates nothing per
    /// token. Raw memory: the workers write disjoint rows of it at once.
    final class Workspace: @unchecked Sendable {  // used by one `embed` at a time (TextEncoder's lock on it)
        private(set) var x = Buffer(), qkv = Buffer(), context = Buffer(), hidden = Buffer(), inner = Buffer()
        /// One longest × longest attention matrix per worker.
        private(set) var scores = Buffer()

        struct Buffer {
            var pointer = UnsafeMutablePointer<Float>.allocate(capacity: 1)
            var capacity = 1
            mutating func reserve(_ n: Int) {
                guard n > capacity else { return }
                pointer.deallocate()
                pointer = .allocate(capacity: n)
                capacity = n
            }
        }

        func reserve(tokens: Int, longest: Int, config: BertConfig) {
            x.reserve(tokens * config.hidden)
            qkv.reserve(tokens * 3 * config.hidden)
            context.reserve(tokens * config.hidden)
            hidden.reserve(tokens * config.hidden)
            inner.reserve(tokens * config.intermediate)
            scores.reserve(BertModel.workers * longest * longest)
        }

        deinit { [x, qkv, context, hidden, inner, scores].forEach { $0.pointer.deallocate() } }
    }

    /// The two cores split every step themselves (rows of the products, sequences of the
    /// attention), calling single-threaded BLAS: BLAS's own threads would spin in
    /// sched_yield while the other steps run, and fight them for the same two cores.
    static let workers = 2

    /// Mean-pooled, L2-normalized embedding of each token sequence (each within maxPositions).
    func embed(_ sequences: [[Int32]], workspace: Workspace) -> [[Float]] {
        let h = config.hidden, tokens = sequences.reduce(0) { $0 + $1.count }
        let offsets = sequences.reduce(into: [0]) { $0.append($0.last! + $1.count) }
        let longest = sequences.map(\.count).max() ?? 0
        workspace.reserve(tokens: tokens, longest: longest, config: config)
        let b = Buffers(workspace)

        // Embeddings: word + position + token type 0, then LayerNorm.
        for (s, ids) in sequences.enumerated() {
            for (p, id) in ids.enumerated() {
                let row = b.x + (offsets[s] + p) * h
                let wordRow = word + Int(id) * h, positionRow = position + p * h
                for c in 0..<h { row[c] = wordRow[c] + positionRow[c] + tokenType[c] }
            }
        }
        mrl_layernorm(b.x, normGamma, normBeta, tokens, h, config.layerNormEps)
        for layer in layers {
            BertModel.split(rows: tokens) { _, rows in self.projectQKV(layer, rows, b) }
            BertModel.split(rows: sequences.count) { worker, seqs in
                let scores = b.scores + worker * longest * longest
                for s in seqs { self.attend(start: offsets[s], length: offsets[s + 1] - offsets[s], b, scores: scores) }
            }
            BertModel.split(rows: tokens) { _, rows in self.finish(layer, rows, b) }
        }
        return pool(UnsafeBufferPointer(start: b.x, count: tokens * h), offsets: offsets)
    }

    /// The workspace's buffers for one `embed`.
    private struct Buffers: @unchecked Sendable {  // workers write disjoint rows
        let x, qkv, context, hidden, inner, scores: UnsafeMutablePointer<Float>
        init(_ w: Workspace) {
            (x, qkv, context, hidden, inner, scores) = (w.x.pointer, w.qkv.pointer, w.context.pointer, w.hidden.pointer, w.inner.pointer, w.scores.pointer)
        }
    }

    /// Runs `body(worker, range)` on `workers` equal shares of 0..<rows, one per core.
    private static func split(rows: Int, _ body: @Sendable (Int, Range<Int>) -> Void) {
        let share = (rows + workers - 1) / workers
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let range = min(rows, worker * share)..<min(rows, (worker + 1) * share)
            if !range.isEmpty { body(worker, range) }
        }
    }

    /// qkv[rows] = x[rows]·Wqkvᵀ + b.
    private func projectQKV(_ layer: Layer, _ rows: Range<Int>, _ b: Buffers) {
        let h = config.hidden
        layer.qkv.withUnsafeBufferPointer { weight in
            gemm(b.x + rows.lowerBound * h, weight.baseAddress!, b.qkv + rows.lowerBound * 3 * h, rows: rows.count, outputs: 3 * h, inputs: h)
        }
        mrl_add_bias(b.qkv + rows.lowerBound * 3 * h, layer.qkvBias, rows.count, 3 * h)
    }

    /// Self-attention of one sequence, head by head: softmax(Q·Kᵀ/√d)·V as two small products.
    private func attend(start: Int, length: Int, _ b: Buffers, scores: UnsafeMutablePointer<Float>) {
        let h = config.hidden, d = config.headDim, stride = Int32(3 * h), n = Int32(length)
        let base = b.qkv + start * 3 * h
        for head in 0..<config.heads {
            let q = base + head * d, k = base + h + head * d, v = base + 2 * h + head * d
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, Int32(d), 1, q, stride, k, stride, 0, scores, n)
            mrl_softmax_rows(scores, length, length, 1 / Float(d).squareRoot())
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, Int32(d), n, 1, scores, n, v, stride, 0,
                        b.context + start * h + head * d, Int32(h))
        }
    }

    /// The rest of a layer, all row-local: hidden = LN(context·Woᵀ + b + x), then
    /// x = LN(gelu(hidden·W1ᵀ + b1)·W2ᵀ + b2 + hidden).
    private func finish(_ layer: Layer, _ rows: Range<Int>, _ b: Buffers) {
        let h = config.hidden, i = config.intermediate, eps = config.layerNormEps, r = rows.count
        let x = b.x + rows.lowerBound * h, context = b.context + rows.lowerBound * h
        let hidden = b.hidden + rows.lowerBound * h, inner = b.inner + rows.lowerBound * i
        gemm(context, layer.attentionOut, hidden, rows: r, outputs: h, inputs: h)
        mrl_bias_residual_layernorm(hidden, layer.attentionOutBias, x, layer.attentionGamma, layer.attentionBeta, r, h, eps)
        gemm(hidden, layer.intermediate, inner, rows: r, outputs: i, inputs: h)
        mrl_add_bias_gelu(inner, layer.intermediateBias, r, i)
        gemm(inner, layer.output, x, rows: r, outputs: h, inputs: i)
        mrl_bias_residual_layernorm(x, layer.outputBias, hidden, layer.outputGamma, layer.outputBeta, r, h, eps)
    }

    /// out[rows × outputs] = a[rows × inputs] · weightᵀ, weight stored [outputs × inputs] (PyTorch's layout).
    private func gemm(_ a: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                      rows: Int, outputs: Int, inputs: Int) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inputs),
                    1, a, Int32(inputs), weight, Int32(inputs), 0, out, Int32(outputs))
    }

    /// Mean over each sequence's tokens, then unit length.
    private func pool(_ x: UnsafeBufferPointer<Float>, offsets: [Int]) -> [[Float]] {
        let h = config.hidden
        return (0..<offsets.count - 1).map { s in
            var mean = [Float](repeating: 0, count: h)
            for t in offsets[s]..<offsets[s + 1] {
                for c in 0..<h { mean[c] += x[t * h + c] }
            }
            let norm = mean.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            return norm > 0 ? mean.map { $0 / norm } : mean
        }
    }
}
