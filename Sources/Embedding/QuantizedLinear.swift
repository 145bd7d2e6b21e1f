import CKernels

/// One linear layer in int8 (dynamic quantization): weight codes per output row, packed for
/// the CPU's kernel, and activations quantized per row (token) when the layer runs.
///
/// Smoothing (SmoothQuant's migration, with no calibration data): BERT's activations have a
/// few channels far larger than the rest, and one scale per token spends its 256 steps on
/// them. Where the layer's input comes out of a LayerNorm, that LayerNorm's |γ| + |β| says
/// which channels are large without running the model, so channel k of the input is divided
/// by s_k = √(activation_k / max_n |w[n][k]|) and column k of the weights multiplied by it:
/// the product is unchanged and both sides quantize more evenly. Measured on the reference
/// fixture with every linear layer in int8: worst cosine 0.9935 without, 0.9958 with. The
/// query, key and value projections are smoothed one by one (0.9938 when stacked into one
/// matrix, whose largest weights then set every column's scale). No such proxy helped the
/// other two layers: smoothing the second feed-forward layer by its input's estimated size
/// made it worse (0.9931).
final class QuantizedLinear: @unchecked Sendable {  // immutable after init
    let outputs: Int, inputs: Int
    private let packed: UnsafeMutableRawPointer
    private let scales: [Float]
    private let rowSums: [Int32]
    /// 1 / s_k per input column, or nil when the layer is not smoothed.
    private let inputScale: [Float]?

    /// `weight` is [outputs × inputs] (PyTorch's layout); `activationSize`, when given, is the
    /// size of each input channel to smooth by (the preceding LayerNorm's |γ| + |β|).
    init(weight: UnsafePointer<Float>, outputs: Int, inputs: Int, activationSize: [Float]? = nil) {
        self.outputs = outputs
        self.inputs = inputs
        var channel: [Float]? = nil
        if let activationSize {
            var largest = [Float](repeating: 0, count: inputs)
            for n in 0..<outputs {
                for k in 0..<inputs { largest[k] = max(largest[k], abs(weight[n * inputs + k])) }
            }
            channel = (0..<inputs).map { k in
                let ratio = activationSize[k] / largest[k]
                return ratio.isFinite && ratio > 0 ? ratio.squareRoot() : 1
            }
        }
        var codes = [Int8](repeating: 0, count: outputs * inputs)
        var scales = [Float](repeating: 0, count: outputs), rowSums = [Int32](repeating: 0, count: outputs)
        mrl_q8_quantize_weights(weight, outputs, inputs, channel, &codes, &scales, &rowSums)
        packed = UnsafeMutableRawPointer.allocate(byteCount: mrl_q8_packed_bytes(outputs, inputs), alignment: 64)
        mrl_q8_pack(codes, outputs, inputs, packed)
        self.scales = scales
        self.rowSums = rowSums
        inputScale = channel?.map { 1 / $0 }
    }

    deinit { packed.deallocate() }

    /// out[rows × outputs] = x[rows × inputs] · weightᵀ, through `scratch` (the codes of x); out's
    /// rows are `outStride` floats apart (default: outputs).
    func apply(_ x: UnsafePointer<Float>, rows: Int, _ out: UnsafeMutablePointer<Float>, outStride: Int? = nil, scratch: Scratch) {
        mrl_q8_quantize_rows(x, rows, inputs, inputScale, scratch.codes, scratch.scales, scratch.zeros)
        mrl_q8_gemm(scratch.codes, scratch.scales, scratch.zeros, rows, packed, scales, rowSums, outputs, inputs, out, outStride ?? outputs)
    }

    /// Where one worker's rows put their codes, scales and zero points.
    struct Scratch {
        let codes: UnsafeMutableRawPointer
        let scales: UnsafeMutablePointer<Float>
        let zeros: UnsafeMutablePointer<Int32>

        /// Bytes of codes for `rows` rows of up to `inputs` columns.
        static func codeBytes(rows: Int, inputs: Int) -> Int { mrl_q8_code_bytes(rows, inputs) }
    }
}

/// The encoder's linear layers in int8, built from the fp32 weights when an int8 encoding is
/// first asked for. Attention's own products, LayerNorm, GELU and softmax stay in fp32.
final class Int8Layers: Sendable {
    struct Layer: Sendable {
        /// Query, key and value, each smoothed by its own weights.
        let qkv: [QuantizedLinear]
        let attentionOut, intermediate, output: QuantizedLinear
    }
    let layers: [Layer]

    init(_ model: BertModel) {
        let h = model.config.hidden, i = model.config.intermediate
        layers = model.layers.enumerated().map { n, layer in
            let input = n == 0 ? model.embeddingNorm : model.layers[n - 1].outputNorm
            return layer.qkv.withUnsafeBufferPointer { qkv in
                Layer(qkv: (0..<3).map { QuantizedLinear(weight: qkv.baseAddress! + $0 * h * h, outputs: h, inputs: h, activationSize: input.channelSizes(h)) },
                      attentionOut: QuantizedLinear(weight: layer.attentionOut, outputs: h, inputs: h),
                      intermediate: QuantizedLinear(weight: layer.intermediate, outputs: i, inputs: h,
                                                    activationSize: layer.attentionNorm.channelSizes(h)),
                      output: QuantizedLinear(weight: layer.output, outputs: h, inputs: i))
            }
        }
    }
}
