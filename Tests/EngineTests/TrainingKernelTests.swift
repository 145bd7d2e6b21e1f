import CKernels
import Search
import XCTest

/// The softmax kernels of adaptor training (BatchStep) against a double-precision reference:
/// rows shorter and longer than a vector's lanes, an entry left out anywhere or none, and
/// logits spread as far as a sharp temperature spreads cosines (±1 / 0.02).
final class TrainingKernelTests: XCTestCase {
    /// The softmax of `logits` without entry `skip` (none when past the end), its logsumexp,
    /// and the softmax's mean logit.
    private func reference(_ logits: [Float], skip: Int) -> (softmax: [Double], normaliser: Double, expected: Double) {
        let kept = logits.indices.filter { $0 != skip }
        let top = kept.map { Double(logits[$0]) }.max() ?? 0
        let sum = kept.reduce(0.0) { $0 + exp(Double(logits[$1]) - top) }
        let softmax = logits.indices.map { $0 == skip ? 0 : exp(Double(logits[$0]) - top) / sum }
        let expected = kept.reduce(0.0) { $0 + softmax[$1] * Double(logits[$1]) }
        return (softmax, top + log(sum), expected)
    }

    private func randomLogits(_ count: Int, spread: Float, rng: inout SplitMix64) -> [Float] {
        (0..<count).map { _ in Float.random(in: -spread...spread, using: &rng) }
    }

    func testSoftmaxRowMatchesTheReference() {
        var rng = SplitMix64(seed: 91)
        for count in [1, 2, 7, 8, 9, 16, 23, 100, 4_608] {
            for skip in Set([0, count / 2, count - 1, count]) where count > 1 || skip == count {
                for spread: Float in [0.5, 50] {
                    var row = randomLogits(count, spread: spread, rng: &rng)
                    let want = reference(row, skip: skip)
                    var expected: Float = .nan
                    let normaliser = mrl_softmax_row(&row, count, skip, &expected)
                    let label = "count \(count), skip \(skip), spread \(spread)"
                    XCTAssertEqual(Double(normaliser), want.normaliser, accuracy: 1e-4 * max(1, abs(want.normaliser)), label)
                    XCTAssertEqual(Double(expected), want.expected, accuracy: 1e-4 * max(1, abs(want.expected)), label)
                    for j in 0..<count {
                        XCTAssertEqual(Double(row[j]), want.softmax[j], accuracy: 1e-6 + 1e-5 * want.softmax[j], "\(label), entry \(j)")
                    }
                    if skip < count { XCTAssertEqual(row[skip], 0, label) }
                }
            }
        }
    }

    func testCrossEntropyRowGivesTheLossAndItsGradient() {
        var rng = SplitMix64(seed: 92)
        for count in [3, 8, 21, 1_024] {
            for skip in [count / 2, count] {
                var logits = randomLogits(count, spread: 50, rng: &rng)
                // A target that leaves `skip` out, as the trainer's does.
                let target = reference(randomLogits(count, spread: 5, rng: &rng), skip: skip).softmax.map(Float.init)
                let q = reference(logits, skip: skip)
                let wantLoss = q.normaliser - zip(target, logits).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                let scale: Float = 0.25
                let loss = mrl_softmax_cross_entropy_row(&logits, target, count, skip, scale)
                XCTAssertEqual(Double(loss), wantLoss, accuracy: 1e-4 * max(1, abs(wantLoss)), "count \(count), skip \(skip)")
                for j in 0..<count {
                    let want = (q.softmax[j] - Double(target[j])) * Double(scale)
                    XCTAssertEqual(Double(logits[j]), want, accuracy: 1e-6, "count \(count), skip \(skip), entry \(j)")
                }
            }
        }
    }
}
