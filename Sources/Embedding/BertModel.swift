import CBLAS
import CKernels
import Dispatch
import Foundation
import Synchronization

/// A BERT encoder over memory-mapped weights. Sequences are packed back to back with no
/// padding: the linear layers (BLAS sgemm) run over every token of a batch at once, and
/// attention runs per sequence, so a batch of short and long texts wastes no work.
final class BertModel: @unchecked Sendable {  // immutable after init; weights are read-only
    let config: BertConfig
    private let weights: SafeTensors  // owns the map the pointers below point into
    private let word, position, tokenType: UnsafePointer<Float>
    let embeddingNorm: Norm
    let layers: [Layer]

    struct Layer: @unchecked Sendable {  // pointers into the read-only weights map
        /// Query, key and value projections stacked into one [3H, H] matrix (one sgemm).
        let qkv: [Float]
        let qkvBias: [Float]
        let attentionOut, attentionOutBias: UnsafePointer<Float>
        let attentionNorm: Norm
        let intermediate, intermediateBias, output, outputBias: UnsafePointer<Float>
        let outputNorm: Norm
    }

    /// A LayerNorm's scale and shift.
    struct Norm: @unchecked Sendable {  // pointers into the read-only weights map
        let gamma, beta: UnsafePointer<Float>

        /// |γ| + |β| per channel: how large the normalized outputs can get, channel by channel.
        func channelSizes(_ width: Int) -> [Float] { (0..<width).map { abs(gamma[$0]) + abs(beta[$0]) } }
    }

    /// Throws `EncoderError` naming a missing or mis-shaped tensor.
    init(config: BertConfig, weights: SafeTensors) throws {
        self.config = config
        self.weights = weights
        let h = config.hidden, i = config.intermediate
        word = try weights.floats("embeddings.word_embeddings.weight", shape: [config.vocabulary, h])
        position = try weights.floats("embeddings.position_embeddings.weight", shape: [config.maxPositions, h])
        tokenType = try weights.floats("embeddings.token_type_embeddings.weight", shape: [config.typeVocabulary, h])
        embeddingNorm = Norm(gamma: try weights.floats("embeddings.LayerNorm.weight", shape: [h]),
                             beta: try weights.floats("embeddings.LayerNorm.bias", shape: [h]))
        layers = try (0..<config.layers).map { n in
            let p = "encoder.layer.\(n)."
            func t(_ name: String, _ shape: [Int]) throws -> UnsafePointer<Float> { try weights.floats(p + name, shape: shape) }
            let parts = ["query", "key", "value"]
            let qkv = try parts.flatMap { Array(UnsafeBufferPointer(start: try t("attention.self.\($0).weight", [h, h]), count: h * h)) }
            let qkvBias = try parts.flatMap { Array(UnsafeBufferPointer(start: try t("attention.self.\($0).bias", [h]), count: h)) }
            return Layer(
                qkv: qkv, qkvBias: qkvBias,
                attentionOut: try t("attention.output.dense.weight", [h, h]), attentionOutBias: try t("attention.output.dense.bias", [h]),
                attentionNorm: Norm(gamma: try t("attention.output.LayerNorm.weight", [h]), beta: try t("attention.output.LayerNorm.bias", [h])),
                intermediate: try t("intermediate.dense.weight", [i, h]), intermediateBias: try t("intermediate.dense.bias", [i]),
                output: try t("output.dense.weight", [h, i]), outputBias: try t("output.dense.bias", [h]),
                outputNorm: Norm(gamma: try t("output.LayerNorm.weight", [h]), beta: try t("output.LayerNorm.bias", [h])))
        }
    }

    /// Buffers for one batch, grown as needed and reused, so encoding allocates nothing per
    /// token. Raw memory: the workers write disjoint rows of it at once.
    final class Workspace: @unchecked Sendable {  // used by one `embed` at a time (TextEncoder's lock on it)
        private(set) var x = Buffer<Float>(), qkv = Buffer<Float>(), context = Buffer<Float>(), hidden = Buffer<Float>(),
                         inner = Buffer<Float>()
        /// One longest × longest attention matrix per worker.
        private(set) var scores = Buffer<Float>()
        /// Int8 encodings only: the activations' codes (bytes), and each token's scale and zero point.
        private(set) var codes = Buffer<UInt8>(), codeScales = Buffer<Float>(), codeZeros = Buffer<Int32>()

        struct Buffer<Element> {
            var pointer = UnsafeMutablePointer<Element>.allocate(capacity: 1)
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

        func reserveCodes(tokens: Int, config: BertConfig) {
            codes.reserve(QuantizedLinear.Scratch.codeBytes(rows: tokens, inputs: max(config.hidden, config.intermediate)))
            codeScales.reserve(tokens)
            codeZeros.reserve(tokens)
        }

        deinit {
            [x, qkv, context, hidden, inner, scores, codeScales].forEach { $0.pointer.deallocate() }
            codes.pointer.deallocate()
            codeZeros.pointer.deallocate()
        }
    }

    /// The two cores split every step themselves (rows of the products, sequences of the
    /// attention), calling single-threaded BLAS: BLAS's own threads would spin in
    /// sched_yield while the other steps run, and fight them for the same two cores.
    static let workers = EncoderThreads.count
    /// Up to this many tokens in a pass, fp32 products run on `FewRowLayers`: measured on one
    /// core with the weights coming from memory, as in a daemon (`mrl-bench few-rows`), 2.7× BLAS
    /// at 1 row, 1.8× at 8-10, 1.7× at 16, 1.5× at 32.
    static let fewRows = 32

    /// What a pass's linear products run on: BLAS over the fp32 weights, the int8 layers, or
    /// the fp32 weights packed for a few rows.
    enum Weights {
        case fp32, int8(Int8Layers), fewRows(FewRowLayers)
    }

    /// One layer's share of `Weights`.
    enum LayerWeights {
        case fp32, int8(Int8Layers.Layer), fewRows(FewRowLayers.Layer, cores: Int)
    }

    /// Mean-pooled, L2-normalized embedding of each token sequence (each within maxPositions),
    /// with the linear products on `weights`, on `cores` threads.
    func embed(_ sequences: [[Int32]], workspace: Workspace, weights: Weights = .fp32, cores: Int = workers) -> [[Float]] {
        let cores = min(max(cores, 1), BertModel.workers)  // the attention's scratch holds `workers` matrices
        let h = config.hidden, tokens = sequences.reduce(0) { $0 + $1.count }
        let offsets = sequences.reduce(into: [0]) { $0.append($0.last! + $1.count) }
        let longest = sequences.map(\.count).max() ?? 0
        workspace.reserve(tokens: tokens, longest: longest, config: config)
        if case .int8 = weights { workspace.reserveCodes(tokens: tokens, config: config) }
        let b = Buffers(workspace)

        // Embeddings: word + position + token type 0, then LayerNorm.
        for (s, ids) in sequences.enumerated() {
            for (p, id) in ids.enumerated() {
                let row = b.x + (offsets[s] + p) * h
                let wordRow = word + Int(id) * h, positionRow = position + p * h
                for c in 0..<h { row[c] = wordRow[c] + positionRow[c] + tokenType[c] }
            }
        }
        mrl_layernorm(b.x, embeddingNorm.gamma, embeddingNorm.beta, tokens, h, config.layerNormEps)
        for (n, layer) in layers.enumerated() {
            switch weights {
            case .fewRows(let packed):
                // A query: one thread walks the layer, and each product splits its outputs
                // between the cores, so each reads its share of the weights.
                projectQKV(layer, .fewRows(packed.layers[n], cores: cores), 0..<tokens, b)
                for s in sequences.indices { attend(start: offsets[s], length: offsets[s + 1] - offsets[s], b, scores: b.scores) }
                finish(layer, .fewRows(packed.layers[n], cores: cores), 0..<tokens, b)
            case .fp32, .int8:
                let products: LayerWeights = if case .int8(let quantized) = weights { .int8(quantized.layers[n]) } else { .fp32 }
                BertModel.split(rows: tokens, cores: cores, grain: BertModel.productGrain) { _, rows in self.projectQKV(layer, products, rows, b) }
                BertModel.split(rows: sequences.count, cores: cores) { worker, seqs in
                    let scores = b.scores + worker * longest * longest
                    for s in seqs { self.attend(start: offsets[s], length: offsets[s + 1] - offsets[s], b, scores: scores) }
                }
                BertModel.split(rows: tokens, cores: cores, grain: BertModel.productGrain) { _, rows in self.finish(layer, products, rows, b) }
            }
        }
        return pool(UnsafeBufferPointer(start: b.x, count: tokens * h), offsets: offsets)
    }

    /// The workspace's buffers for one `embed`.
    private struct Buffers: @unchecked Sendable {  // workers write disjoint rows
        let x, qkv, context, hidden, inner, scores: UnsafeMutablePointer<Float>
        let codes: UnsafeMutablePointer<UInt8>, codeScales: UnsafeMutablePointer<Float>, codeZeros: UnsafeMutablePointer<Int32>
        init(_ w: Workspace) {
            (x, qkv, context, hidden, inner, scores) = (w.x.pointer, w.qkv.pointer, w.context.pointer, w.hidden.pointer, w.inner.pointer, w.scores.pointer)
            (codes, codeScales, codeZeros) = (w.codes.pointer, w.codeScales.pointer, w.codeZeros.pointer)
        }

        /// Where the codes of rows `rows` go, in any layer: laid out for the widest input, since a
        /// worker moves on to its next layer while the other may still be in the previous one.
        func scratch(_ rows: Range<Int>, config: BertConfig) -> QuantizedLinear.Scratch {
            let widest = max(config.hidden, config.intermediate)
            return QuantizedLinear.Scratch(codes: UnsafeMutableRawPointer(codes + QuantizedLinear.Scratch.codeBytes(rows: rows.lowerBound, inputs: widest)),
                                           scales: codeScales + rows.lowerBound, zeros: codeZeros + rows.lowerBound)
        }
    }

    /// Runs `body(worker, range)` over 0..<rows on `cores` threads (the calling thread alone for
    /// one). The rows are cut into a piece per core, or up to 4 per core where each keeps at
    /// least `grain` rows, and each thread takes the next piece as it finishes one: a core that
    /// other work slows (a query's pass beside a write's) does fewer pieces instead of keeping
    /// the other waiting. `worker` numbers the thread, for its scratch memory.
    static func split(rows: Int, cores: Int = workers, grain: Int = 1, _ body: @Sendable (Int, Range<Int>) -> Void) {
        guard rows > 0 else { return }
        guard cores > 1 else { return body(0, 0..<rows) }
        let pieces = min(rows, max(cores, min(cores * 4, rows / max(grain, 1))))
        let size = (rows + pieces - 1) / pieces
        let next = Atomic(0)
        DispatchQueue.concurrentPerform(iterations: cores) { worker in
            while true {
                let piece = next.add(1, ordering: .relaxed).oldValue
                guard piece < pieces else { return }
                let range = min(rows, piece * size)..<min(rows, (piece + 1) * size)
                if !range.isEmpty { body(worker, range) }
            }
        }
    }

    /// Fewest tokens in a piece of a product's rows beyond one piece a core: each BLAS call
    /// packs the whole weight matrix, which a few hundred rows amortise.
    static let productGrain = 256

    /// qkv[rows] = x[rows]·Wqkvᵀ + b.
    private func projectQKV(_ layer: Layer, _ weights: LayerWeights, _ rows: Range<Int>, _ b: Buffers) {
        let h = config.hidden, x = b.x + rows.lowerBound * h, qkv = b.qkv + rows.lowerBound * 3 * h
        switch weights {
        case .int8(let int8):
            for (part, linear) in int8.qkv.enumerated() {
                linear.apply(x, rows: rows.count, qkv + part * h, outStride: 3 * h, scratch: b.scratch(rows, config: config))
            }
        case .fewRows(let packed, let cores):
            packed.qkv.apply(x, rows: rows.count, qkv, cores: cores)
        case .fp32:
            layer.qkv.withUnsafeBufferPointer { weight in
                gemm(x, weight.baseAddress!, qkv, rows: rows.count, outputs: 3 * h, inputs: h)
            }
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
    private func finish(_ layer: Layer, _ weights: LayerWeights, _ rows: Range<Int>, _ b: Buffers) {
        let h = config.hidden, i = config.intermediate, eps = config.layerNormEps, r = rows.count
        let x = b.x + rows.lowerBound * h, context = b.context + rows.lowerBound * h
        let hidden = b.hidden + rows.lowerBound * h, inner = b.inner + rows.lowerBound * i
        func linear(_ fp32: UnsafePointer<Float>, _ quantized: KeyPath<Int8Layers.Layer, QuantizedLinear>,
                    _ packed: KeyPath<FewRowLayers.Layer, PackedLinear>, _ input: UnsafePointer<Float>,
                    _ out: UnsafeMutablePointer<Float>, outputs: Int, inputs: Int) {
            switch weights {
            case .int8(let int8): int8[keyPath: quantized].apply(input, rows: r, out, scratch: b.scratch(rows, config: config))
            case .fewRows(let few, let cores): few[keyPath: packed].apply(input, rows: r, out, cores: cores)
            case .fp32: gemm(input, fp32, out, rows: r, outputs: outputs, inputs: inputs)
            }
        }
        linear(layer.attentionOut, \.attentionOut, \.attentionOut, context, hidden, outputs: h, inputs: h)
        mrl_bias_residual_layernorm(hidden, layer.attentionOutBias, x, layer.attentionNorm.gamma, layer.attentionNorm.beta, r, h, eps)
        linear(layer.intermediate, \.intermediate, \.intermediate, hidden, inner, outputs: i, inputs: h)
        mrl_add_bias_gelu(inner, layer.intermediateBias, r, i)
        linear(layer.output, \.output, \.output, inner, x, outputs: h, inputs: i)
        mrl_bias_residual_layernorm(x, layer.outputBias, hidden, layer.outputNorm.gamma, layer.outputNorm.beta, r, h, eps)
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
