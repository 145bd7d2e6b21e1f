import CBLAS
import Dispatch
import Foundation

/// One training step of the adaptor on one batch: the Matryoshka loss and its gradient with
/// respect to the weights W (y = W (x - mean)).
///
/// For a prefix m, Z holds the batch's outputs cut to m coordinates and renormalised, S = Z Zᵀ
/// their cosines, Q the row softmax of S / τ (self excluded) and P the same softmax of the raw
/// vectors' cosines. The loss is Σ_i KL(P_i ‖ Q_i) / B, whose gradient with respect to S is
/// G = (Q - P) / (B τ); then dZ = G Z + Gᵀ Z, back through the normalisation to dY, summed over
/// prefixes, and dW = dYᵀ (X - mean). The B × B products are split by rows over the threads.
final class BatchStep: @unchecked Sendable {  // the threads write disjoint rows of its buffers
    let batch: Int, dimensions: Int, prefixes: [Int], temperature: Float, threads: Int
    /// The batch's raw rows and the same rows centred (B × d).
    private let raw, centred: UnsafeMutablePointer<Float>
    /// Row softmax of the raw cosines (B × B), the target of every prefix, and each row's
    /// entropy -Σ P log P (so that the loss reported is the KL divergence, 0 at a perfect fit).
    private let target, targetEntropy: UnsafeMutablePointer<Float>
    /// Y and dLoss/dY (B × d); Z and dLoss/dZ (B × m); S, then G in its place (B × B).
    private let outputs, outputGradient, z, zGradient, norms, similarities: UnsafeMutablePointer<Float>
    /// W as of this step, and dLoss/dW after `lossAndGradient` (d × d).
    private let weights: UnsafeMutablePointer<Float>
    let weightGradient: UnsafeMutablePointer<Float>
    private let buffers: [UnsafeMutablePointer<Float>]

    init(batch: Int, dimensions d: Int, prefixes: [Int], temperature: Float, threads: Int) {
        self.batch = batch
        self.dimensions = d
        self.prefixes = prefixes
        self.temperature = temperature
        self.threads = threads
        func zeros(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            return p
        }
        (raw, centred, outputs, outputGradient, z, zGradient) = (zeros(batch * d), zeros(batch * d), zeros(batch * d),
                                                                   zeros(batch * d), zeros(batch * d), zeros(batch * d))
        (target, targetEntropy, similarities, norms) = (zeros(batch * batch), zeros(batch), zeros(batch * batch), zeros(batch))
        (weights, weightGradient) = (zeros(d * d), zeros(d * d))
        buffers = [raw, centred, outputs, outputGradient, z, zGradient, target, targetEntropy, similarities, norms, weights, weightGradient]
    }

    deinit { buffers.forEach { $0.deallocate() } }

    /// Copies the sample rows `rows` in.
    func load(rows: ArraySlice<Int>, from samples: [Float], mean: [Float]) {
        let d = dimensions
        for (i, row) in rows.enumerated() {
            for j in 0..<d {
                raw[i * d + j] = samples[row * d + j]
                centred[i * d + j] = samples[row * d + j] - mean[j]
            }
        }
    }

    /// The batch's loss (summed over prefixes) at `weights`; leaves dLoss/dW in `weightGradient`.
    func lossAndGradient(weights: [Float]) -> Double {
        let b = batch, d = dimensions
        // Targets: softmax of the raw cosines over each row, self excluded.
        parallelRows { r0, r1 in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r1 - r0), Int32(b), Int32(d), 1 / self.temperature,
                        self.raw + r0 * d, Int32(d), self.raw, Int32(d), 0, self.target + r0 * b, Int32(b))
            for i in r0..<r1 {
                let row = self.target + i * b
                Self.softmaxRow(row, count: b, skipping: i)
                var entropy: Float = 0
                for j in 0..<b where row[j] > 0 { entropy -= row[j] * log(row[j]) }
                self.targetEntropy[i] = entropy
            }
        }
        // Y = (X - mean) Wᵀ.
        self.weights.update(from: weights, count: d * d)
        parallelRows { r0, r1 in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r1 - r0), Int32(d), Int32(d), 1,
                        self.centred + r0 * d, Int32(d), self.weights, Int32(d), 0, self.outputs + r0 * d, Int32(d))
        }
        outputGradient.update(repeating: 0, count: b * d)
        var loss = 0.0
        for m in prefixes { loss += addPrefixLoss(m) }
        // dW = dYᵀ (X - mean), split by rows of dW.
        parallelRows(count: d) { a0, a1 in
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(a1 - a0), Int32(d), Int32(b), 1,
                        self.outputGradient + a0, Int32(d), self.centred, Int32(d), 0, self.weightGradient + a0 * d, Int32(d))
        }
        return loss
    }

    /// Adds prefix `m`'s loss gradient to dY and returns its loss.
    private func addPrefixLoss(_ m: Int) -> Double {
        let b = batch, d = dimensions, tau = temperature
        for i in 0..<b {
            var sum: Float = 0
            for j in 0..<m { sum += outputs[i * d + j] * outputs[i * d + j] }
            let norm = max(sum.squareRoot(), 1e-12)
            norms[i] = norm
            for j in 0..<m { z[i * m + j] = outputs[i * d + j] / norm }
        }
        // S / τ, its row softmax Q, the loss, and G = (Q - P) / (B τ) in place of S. With
        // log Q_ij = S_ij / τ - logsumexp_i and Σ_j P_ij = 1, the cross-entropy part of the
        // loss is logsumexp_i - Σ_j P_ij S_ij / τ: no logarithm per entry.
        let losses = parallelRows { r0, r1 -> Double in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r1 - r0), Int32(b), Int32(m), 1 / tau,
                        self.z + r0 * m, Int32(m), self.z, Int32(m), 0, self.similarities + r0 * b, Int32(b))
            var loss = 0.0
            for i in r0..<r1 {
                let row = self.similarities + i * b, targetRow = self.target + i * b
                var expected: Float = 0
                for j in 0..<b where j != i { expected += targetRow[j] * row[j] }
                loss += Double(Self.softmaxRow(row, count: b, skipping: i) - expected) - Double(self.targetEntropy[i])
                for j in 0..<b where j != i { row[j] = (row[j] - targetRow[j]) / (Float(b) * tau) }
            }
            return loss
        }
        // dZ = G Z + Gᵀ Z, then back through the renormalisation: dY_i += (dZ_i - (dZ_i·Z_i) Z_i) / |Y_i|.
        parallelRows { r0, r1 in
            let rows = Int32(r1 - r0), out = self.zGradient + r0 * m
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, Int32(m), Int32(b), 1,
                        self.similarities + r0 * b, Int32(b), self.z, Int32(m), 0, out, Int32(m))
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, Int32(m), Int32(b), 1,
                        self.similarities + r0, Int32(b), self.z, Int32(m), 1, out, Int32(m))
            for i in r0..<r1 {
                var along: Float = 0
                for j in 0..<m { along += self.zGradient[i * m + j] * self.z[i * m + j] }
                for j in 0..<m { self.outputGradient[i * d + j] += (self.zGradient[i * m + j] - along * self.z[i * m + j]) / self.norms[i] }
            }
        }
        return losses.reduce(0, +) / Double(b)
    }

    /// Replaces `count` logits with their softmax, entry `skipping` left out (set to 0), and
    /// returns the log of the normaliser (logsumexp of the logits).
    @discardableResult
    private static func softmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int, skipping: Int) -> Float {
        var top = -Float.infinity
        for j in 0..<count where j != skipping { top = max(top, row[j]) }
        var sum: Float = 0
        for j in 0..<count where j != skipping {
            row[j] = exp(row[j] - top)
            sum += row[j]
        }
        for j in 0..<count { row[j] = j == skipping ? 0 : row[j] / sum }
        return top + log(sum)
    }

    /// Runs `body` over `threads` contiguous row ranges of `count` (the batch by default) at
    /// once and returns their results in order.
    @discardableResult
    private func parallelRows<T: Sendable>(count: Int? = nil, _ body: @Sendable (Int, Int) -> T) -> [T] {
        let n = count ?? batch, parts = min(threads, n)
        var results = [T?](repeating: nil, count: parts)
        results.withUnsafeMutableBufferPointer { slots in
            let slots = SlotBuffer(base: slots.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: parts) { p in
                slots.base[p] = body(n * p / parts, n * (p + 1) / parts)
            }
        }
        return results.map { $0! }
    }
}

/// Lets concurrentPerform's iterations each write their own slot of one buffer.
private struct SlotBuffer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T?>
}
