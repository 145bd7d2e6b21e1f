import CBLAS
import CKernels
import Dispatch
import Foundation

/// A BERT encoder over memory-mapped weights. Sequences are packed back to back with no
/// padding: the linear layers (BLAS sgemm) run over every token of a batch at once, and
/// attention runs per sequence, so a batch of short and long texts wastes no work.
final class BertModel {
    let config: BertConfig
    private let weights: SafeTensors  // owns the map the pointers below point into
    private let word, position, tokenType, normGamma, normBeta: UnsafePointer<Float>
    private let layers: [Layer]

    struct Layer {
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

    /// Buffers for one batch, grown as needed and reused, so encoding allocates nothing per token.
    struct Workspace {
        var x: [Float] = [], qkv: [Float] = [], context: [Float] = [], hidden: [Float] = [], inner: [Float] = []
        var attentionScratch: [[Float]] = []

        mutating func reserve(tokens: Int, longest: Int, config: BertConfig, workers: Int) {
            func grow(_ a: inout [Float], _ n: Int) { if a.count < n { a = [Float](repeating: 0, count: n) } }
            grow(&x, tokens * config.hidden)
            grow(&qkv, tokens * 3 * config.hidden)
            grow(&context, tokens * config.hidden)
            grow(&hidden, tokens * config.hidden)
            grow(&inner, tokens * config.intermediate)
            if attentionScratch.count < workers || (attentionScratch.first?.count ?? 0) < longest {
                attentionScratch = [[Float]](repeating: [Float](repeating: 0, count: longest), count: workers)
            }
        }
    }

    /// Mean-pooled, L2-normalized embedding of each token sequence (each within maxPositions).
    func embed(_ sequences: [[Int32]], workspace w: inout Workspace) -> [[Float]] {
        let h = config.hidden, tokens = sequences.reduce(0) { $0 + $1.count }
        let offsets = sequences.reduce(into: [0]) { $0.append($0.last! + $1.count) }
        let workers = 2
        w.reserve(tokens: tokens, longest: sequences.map(\.count).max() ?? 0, config: config, workers: workers)

        // Embeddings: word + position + token type 0, then LayerNorm.
        w.x.withUnsafeMutableBufferPointer { x in
            for (s, ids) in sequences.enumerated() {
                for (p, id) in ids.enumerated() {
                    let row = x.baseAddress! + (offsets[s] + p) * h
                    let wordRow = word + Int(id) * h, positionRow = position + p * h
                    for c in 0..<h { row[c] = wordRow[c] + positionRow[c] + tokenType[c] }
                }
            }
            mrl_layernorm(x.baseAddress, normGamma, normBeta, tokens, h, config.layerNormEps)
        }
        for layer in layers { run(layer, sequences: sequences, offsets: offsets, tokens: tokens, workers: workers, w: &w) }
        return pool(w.x, offsets: offsets)
    }

    private func run(_ layer: Layer, sequences: [[Int32]], offsets: [Int], tokens: Int, workers: Int, w: inout Workspace) {
        let h = config.hidden, i = config.intermediate, eps = config.layerNormEps
        let heads = config.heads, headDim = config.headDim
        // Q, K, V for all tokens in one product.
        gemm(w.x, layer.qkv, into: &w.qkv, rows: tokens, outputs: 3 * h, inputs: h)
        w.qkv.withUnsafeMutableBufferPointer { mrl_add_bias($0.baseAddress, layer.qkvBias, tokens, 3 * h) }
        // Attention, sequence by sequence, split across the cores.
        w.qkv.withUnsafeBufferPointer { qkv in
            w.context.withUnsafeMutableBufferPointer { context in
                nonisolated(unsafe) let (q, c) = (qkv.baseAddress!, context.baseAddress!)
                var scratch = w.attentionScratch
                scratch.withUnsafeMutableBufferPointer { scratch in
                    nonisolated(unsafe) let scratch = scratch
                    DispatchQueue.concurrentPerform(iterations: workers) { worker in
                        scratch[worker].withUnsafeMutableBufferPointer { buffer in
                            for s in stride(from: worker, to: sequences.count, by: workers) {
                                let start = offsets[s], length = offsets[s + 1] - start
                                mrl_attention(q + start * 3 * h, length, heads, headDim, c + start * h, h, buffer.baseAddress)
                            }
                        }
                    }
                }
                w.attentionScratch = scratch
            }
        }
        // Output projection, residual, LayerNorm: hidden = LN(context·Wᵀ + b + x).
        gemm(w.context, layer.attentionOut, into: &w.hidden, rows: tokens, outputs: h, inputs: h)
        w.hidden.withUnsafeMutableBufferPointer { hidden in
            w.x.withUnsafeBufferPointer { x in
                mrl_bias_residual_layernorm(hidden.baseAddress, layer.attentionOutBias, x.baseAddress,
                                            layer.attentionGamma, layer.attentionBeta, tokens, h, eps)
            }
        }
        // Feed-forward: x = LN(gelu(hidden·W1ᵀ + b1)·W2ᵀ + b2 + hidden).
        gemm(w.hidden, layer.intermediate, into: &w.inner, rows: tokens, outputs: i, inputs: h)
        w.inner.withUnsafeMutableBufferPointer { mrl_add_bias_gelu($0.baseAddress, layer.intermediateBias, tokens, i) }
        gemm(w.inner, layer.output, into: &w.x, rows: tokens, outputs: h, inputs: i)
        w.x.withUnsafeMutableBufferPointer { x in
            w.hidden.withUnsafeBufferPointer { hidden in
                mrl_bias_residual_layernorm(x.baseAddress, layer.outputBias, hidden.baseAddress,
                                            layer.outputGamma, layer.outputBeta, tokens, h, eps)
            }
        }
    }

    /// out[rows × outputs] = a[rows × inputs] · weightᵀ, weight stored [outputs × inputs] (PyTorch's layout).
    private func gemm(_ a: [Float], _ weight: UnsafePointer<Float>, into out: inout [Float], rows: Int, outputs: Int, inputs: Int) {
        out.withUnsafeMutableBufferPointer { c in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inputs),
                        1, a, Int32(inputs), weight, Int32(inputs), 0, c.baseAddress, Int32(outputs))
        }
    }

    private func gemm(_ a: [Float], _ weight: [Float], into out: inout [Float], rows: Int, outputs: Int, inputs: Int) {
        weight.withUnsafeBufferPointer { gemm(a, $0.baseAddress!, into: &out, rows: rows, outputs: outputs, inputs: inputs) }
    }

    /// Mean over each sequence's tokens, then unit length.
    private func pool(_ x: [Float], offsets: [Int]) -> [[Float]] {
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
