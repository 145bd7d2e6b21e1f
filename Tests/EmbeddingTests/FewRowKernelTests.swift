import CKernels
@testable import Embedding
import XCTest

/// The few-row products a query's tokens run through: every variant this CPU runs gives the
/// product of the unpacked weights (within float summation's bound), on shapes that leave partial row tiles,
/// partial panels and inputs that are no multiple of the vector width; and a range of panels
/// writes its own outputs' columns and nothing else, which is what lets the cores split them.
final class FewRowKernelTests: XCTestCase {
    /// Values in [-1, 1] that differ from row to row and column to column.
    private func values(_ count: Int, seed: Double) -> [Float] {
        (0..<count).map { Float(sin(Double($0) * 12.9898 + seed) * 43_758.5453).truncatingRemainder(dividingBy: 1) }
    }

    func testEveryVariantGivesTheProductOfTheUnpackedWeights() throws {
        let original = String(cString: mrl_few_rows_isa())
        defer { _ = mrl_few_rows_select(original) }
        let shapes = [(rows: 1, outputs: 24, inputs: 8), (rows: 7, outputs: 50, inputs: 37),
                      (rows: 10, outputs: 1152, inputs: 384), (rows: 32, outputs: 19, inputs: 1536)]
        var ran: [String] = []
        for isa in ["generic", "avx2+fma"] where mrl_few_rows_select(isa) == 1 {
            ran.append(isa)
            for (n, shape) in shapes.enumerated() {
                let x = values(shape.rows * shape.inputs, seed: Double(n)), w = values(shape.outputs * shape.inputs, seed: Double(n) + 0.5)
                let layer = PackedLinear(weight: w, outputs: shape.outputs, inputs: shape.inputs)
                var out = [Float](repeating: .nan, count: shape.rows * shape.outputs)
                out.withUnsafeMutableBufferPointer { layer.apply(x, rows: shape.rows, $0.baseAddress!) }
                for r in 0..<shape.rows {
                    for o in 0..<shape.outputs {
                        var exact = 0.0, size = 0.0
                        for k in 0..<shape.inputs {
                            let term = Double(x[r * shape.inputs + k]) * Double(w[o * shape.inputs + k])
                            exact += term
                            size += abs(term)
                        }
                        let got = out[r * shape.outputs + o]
                        // Float summation's worst case: n roundings of at most 2⁻²⁴ of Σ|terms|.
                        let bound = Double(shape.inputs) * 0x1p-24 * size + 1e-6
                        XCTAssertEqual(Double(got), exact, accuracy: bound, "\(isa), \(shape), row \(r), output \(o)")
                    }
                }
            }
        }
        XCTAssertEqual(ran.first, "generic", "the generic variant runs on any CPU")
        print("few-row variants compared: \(ran.joined(separator: ", "))")
    }

    func testAPanelRangeWritesOnlyItsOutputs() throws {
        let original = String(cString: mrl_few_rows_isa())
        defer { _ = mrl_few_rows_select(original) }
        let rows = 5, outputs = 60, inputs = 16  // panels of 24: 0..<24, 24..<48, 48..<60
        let x = values(rows * inputs, seed: 1), w = values(outputs * inputs, seed: 2)
        var packed = [Float](repeating: .nan, count: mrl_few_rows_packed_floats(outputs, inputs))
        mrl_few_rows_pack(w, outputs, inputs, &packed)
        XCTAssertEqual(mrl_few_rows_panels(outputs), 3)
        for isa in ["generic", "avx2+fma"] where mrl_few_rows_select(isa) == 1 {
            var out = [Float](repeating: .nan, count: rows * outputs)
            mrl_few_rows_gemm(x, packed, &out, rows, 1, 2, outputs, inputs)
            for r in 0..<rows {
                for o in 0..<outputs {
                    let got = out[r * outputs + o]
                    if (24..<48).contains(o) {
                        let exact = (0..<inputs).reduce(Float(0)) { $0 + x[r * inputs + $1] * w[o * inputs + $1] }
                        XCTAssertEqual(got, exact, accuracy: 1e-4, "\(isa), row \(r), output \(o)")
                    } else {
                        XCTAssertTrue(got.isNaN, "\(isa), row \(r), output \(o) is outside panel 1 and was written")
                    }
                }
            }
        }
    }
}
