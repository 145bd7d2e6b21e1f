import CKernels
@testable import Embedding
import XCTest

/// The int8 kernels: every variant this CPU runs gives the generic loops' floats bit for bit
/// (exact integer arithmetic, the same dequantization), on shapes that leave partial tiles and
/// panels, and the product is the fp32 product to within the codes' resolution.
final class QuantizedKernelTests: XCTestCase {
    private struct Case {
        let rows, outputs, inputs: Int
        let x, weight: [Float]
        let smoothing: [Float]?
    }

    private func randomCase(rows: Int, outputs: Int, inputs: Int, seed: UInt64, smoothed: Bool) -> Case {
        var state = seed
        func next() -> Float {  // splitmix64 to [-1, 1)
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Float((z ^ (z >> 31)) >> 40) / Float(1 << 23) - 1
        }
        // One large channel, as BERT's activations have, and one row of zeros.
        var x = (0..<rows * inputs).map { _ in next() }
        for r in 0..<rows { x[r * inputs] *= 30 }
        for k in 0..<inputs { x[(rows / 2) * inputs + k] = 0 }
        return Case(rows: rows, outputs: outputs, inputs: inputs, x: x, weight: (0..<outputs * inputs).map { _ in next() * 0.1 },
                    smoothing: smoothed ? (0..<inputs).map { k in k == 0 ? 30 : 1 } : nil)
    }

    private func run(_ c: Case) -> [Float] {
        let layer = c.weight.withUnsafeBufferPointer {
            QuantizedLinear(weight: $0.baseAddress!, outputs: c.outputs, inputs: c.inputs, activationSize: c.smoothing)
        }
        let codes = UnsafeMutableRawPointer.allocate(byteCount: QuantizedLinear.Scratch.codeBytes(rows: c.rows, inputs: c.inputs), alignment: 64)
        let scales = UnsafeMutablePointer<Float>.allocate(capacity: c.rows), zeros = UnsafeMutablePointer<Int32>.allocate(capacity: c.rows)
        defer { codes.deallocate(); scales.deallocate(); zeros.deallocate() }
        var out = [Float](repeating: .nan, count: c.rows * c.outputs)
        out.withUnsafeMutableBufferPointer { o in
            layer.apply(c.x, rows: c.rows, o.baseAddress!, scratch: .init(codes: codes, scales: scales, zeros: zeros))
        }
        return out
    }

    func testEveryVariantGivesTheGenericFloats() throws {
        let original = String(cString: mrl_q8_isa())
        defer { _ = mrl_q8_select(original) }
        let cases = [randomCase(rows: 7, outputs: 19, inputs: 37, seed: 1, smoothed: false),
                     randomCase(rows: 53, outputs: 48, inputs: 384, seed: 2, smoothed: true),
                     randomCase(rows: 5, outputs: 16, inputs: 1536, seed: 3, smoothed: false)]
        XCTAssertEqual(mrl_q8_select("generic"), 1)
        let expected = cases.map(run)
        var ran = ["generic"]
        for isa in ["avx2+fma"] where mrl_q8_select(isa) == 1 {
            ran.append(isa)
            for (c, want) in zip(cases, expected) {
                XCTAssertEqual(run(c), want, "\(isa), \(c.rows) × \(c.outputs) × \(c.inputs)")
            }
        }
        print("int8 variants compared: \(ran.joined(separator: ", "))")
    }

    /// Each output is the fp32 product within the error of rounding codes: half a step of the
    /// row's activation scale times Σ|w|, plus half a step of the weight scale times Σ|x|.
    func testTheProductIsTheFloatProductWithinTheCodesResolution() throws {
        let c = randomCase(rows: 9, outputs: 21, inputs: 100, seed: 4, smoothed: false)
        let got = run(c)
        for r in 0..<c.rows {
            let row = c.x[r * c.inputs..<(r + 1) * c.inputs]
            let step = ((row.max() ?? 0) - min(0, row.min() ?? 0)) / 255
            for n in 0..<c.outputs {
                let w = c.weight[n * c.inputs..<(n + 1) * c.inputs]
                let exact = zip(row, w).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                let wStep = (w.map(abs).max() ?? 0) / 127
                let bound = step / 2 * w.reduce(0) { $0 + abs($1) } + wStep / 2 * row.reduce(0) { $0 + abs($1) } + 1e-5
                XCTAssertEqual(got[r * c.outputs + n], exact, accuracy: bound, "row \(r), output \(n)")
            }
        }
    }
}
