import CKernels

/// The arithmetic of the encoder's linear layers. An index records the precision its texts were
/// embedded with, and its text queries are embedded the same way.
public enum Precision: String, CaseIterable, Sendable {
    /// Single precision throughout: reproduces sentence-transformers (worst cosine 0.99999).
    case fp32
    /// Dynamic int8 linear layers (weights per output row, activations per token, smoothed
    /// channels); attention's products, LayerNorm, GELU and softmax stay in fp32.
    case int8

    /// What runs this precision's linear layers on this CPU: for fp32 OpenBLAS's sgemm, and for
    /// passes of a few tokens (queries) the few-row kernel, for int8 the kernel variant chosen
    /// by cpuid ("avx2+fma" or "generic").
    public var kernels: String {
        switch self {
        case .fp32: "openblas sgemm, few rows " + String(cString: mrl_few_rows_isa())
        case .int8: "int8 " + String(cString: mrl_q8_isa())
        }
    }
}
