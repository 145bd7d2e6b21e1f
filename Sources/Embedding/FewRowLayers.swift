import CKernels

/// One linear layer's fp32 weights packed once for products of a few rows: a query's tokens.
/// BLAS packs the weights on every call, which for ten tokens costs more than the product
/// (sgemm_incopy was 57% of a title query's time); these are packed when the first query comes.
final class PackedLinear: @unchecked Sendable {  // immutable after init
    let outputs: Int, inputs: Int
    private let packed: UnsafeMutablePointer<Float>

    /// `weight` is [outputs × inputs] (PyTorch's layout).
    init(weight: UnsafePointer<Float>, outputs: Int, inputs: Int) {
        self.outputs = outputs
        self.inputs = inputs
        packed = .allocate(capacity: mrl_few_rows_packed_floats(outputs, inputs))
        mrl_few_rows_pack(weight, outputs, inputs, packed)
    }

    deinit { packed.deallocate() }

    /// out[rows × outputs] = x[rows × inputs] · weightᵀ, the cores each computing a share of the
    /// outputs, so the weights are read once (a few rows' product is bound by reading them).
    func apply(_ x: UnsafePointer<Float>, rows: Int, _ out: UnsafeMutablePointer<Float>, cores: Int = BertModel.workers) {
        nonisolated(unsafe) let (x, out) = (x, out)  // each part writes its own outputs' columns
        BertModel.split(rows: mrl_few_rows_panels(outputs), cores: cores) { _, panels in
            mrl_few_rows_gemm(x, self.packed, out, rows, panels.lowerBound, panels.upperBound, self.outputs, self.inputs)
        }
    }
}

/// The encoder's linear layers packed for few-row products (about 42 MB for MiniLM), built
/// on the first fp32 pass of at most `BertModel.fewRows` tokens (a query's, mostly).
final class FewRowLayers: Sendable {
    struct Layer: Sendable {
        let qkv, attentionOut, intermediate, output: PackedLinear
    }
    let layers: [Layer]

    init(_ model: BertModel) {
        let h = model.config.hidden, i = model.config.intermediate
        layers = model.layers.map { layer in
            layer.qkv.withUnsafeBufferPointer { qkv in
                Layer(qkv: PackedLinear(weight: qkv.baseAddress!, outputs: 3 * h, inputs: h),
                      attentionOut: PackedLinear(weight: layer.attentionOut, outputs: h, inputs: h),
                      intermediate: PackedLinear(weight: layer.intermediate, outputs: i, inputs: h),
                      output: PackedLinear(weight: layer.output, outputs: h, inputs: i))
            }
        }
    }
}
