import CBLAS
import Dispatch
import Foundation

/// One training step of the adaptor on one batch: the Matryoshka loss and its gradient with
/// respect to the weights W (y = W (x - mean)).
///
/// Rows on the left of the batch are scored against rows on the right. For a prefix m, Z holds
/// outputs cut to m coordinates and renormalised, S = Z_left Z_rightᵀ their cosines, and Q the
/// row softmax of S / τ. The loss is Σ_i KL(P_i ‖ Q_i) / B for a target P:
/// - without labels (`pairs: false`) both sides are the same documents, self excluded, and P is
///   the same softmax of the raw full-dimension cosines: each prefix keeps the similarity
///   structure of the full vectors;
/// - with (query, document) pairs, the left holds queries, the right their documents, and P is
///   the identity: InfoNCE with in-batch negatives.
/// Its gradient with respect to S is G = (Q - P) / (B τ); dZ_left = G Z_right and
/// dZ_right = Gᵀ Z_left, back through the normalisation to dY, summed over prefixes; then
/// dW = dYᵀ (X - mean) over both sides. The B × B products are split by rows over the threads.
final class BatchStep: @unchecked Sendable {  // the threads write disjoint rows of its buffers
    let batch: Int, dimensions: Int, prefixes: [Int], temperature: Float, threads: Int, pairs: Bool

    /// One side of the batch; without pairs the right side is the left one.
    struct Side: @unchecked Sendable {  // pointers into the step's buffers
        /// Raw and centred rows, Y and dLoss/dY (B × d); Z and dLoss/dZ (B × m); |Y_i[0..<m]|.
        let raw, centred, outputs, outputGradient, z, zGradient, norms: UnsafeMutablePointer<Float>
    }
    private let left, right: Side
    /// The target P (B × B) and each row's entropy -Σ P log P (so the loss is 0 at a perfect fit).
    private let target, targetEntropy: UnsafeMutablePointer<Float>
    /// S, then G in its place (B × B).
    private let similarities: UnsafeMutablePointer<Float>
    /// W as of this step, and dLoss/dW after `lossAndGradient` (d × d).
    private let weights: UnsafeMutablePointer<Float>
    let weightGradient: UnsafeMutablePointer<Float>
    private var buffers: [UnsafeMutablePointer<Float>] = []

    init(batch: Int, dimensions d: Int, prefixes: [Int], temperature: Float, threads: Int, pairs: Bool = false) {
        (self.batch, self.dimensions, self.prefixes, self.temperature, self.threads, self.pairs) = (batch, d, prefixes, temperature, threads, pairs)
        var allocated: [UnsafeMutablePointer<Float>] = []
        func zeros(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            allocated.append(p)
            return p
        }
        func side() -> Side {
            Side(raw: zeros(batch * d), centred: zeros(batch * d), outputs: zeros(batch * d), outputGradient: zeros(batch * d),
                 z: zeros(batch * d), zGradient: zeros(batch * d), norms: zeros(batch))
        }
        left = side()
        right = pairs ? side() : left
        (target, targetEntropy, similarities) = (zeros(batch * batch), zeros(batch), zeros(batch * batch))
        (weights, weightGradient) = (zeros(d * d), zeros(d * d))
        buffers = allocated
    }

    deinit { buffers.forEach { $0.deallocate() } }

    /// Copies rows in: `rows` of `samples` to the left (and, without pairs, the right) side.
    func load(rows: ArraySlice<Int>, from samples: [Float], mean: [Float], right toRight: Bool = false) {
        let side = toRight ? right : left, d = dimensions
        for (i, row) in rows.enumerated() {
            for j in 0..<d {
                side.raw[i * d + j] = samples[row * d + j]
                side.centred[i * d + j] = samples[row * d + j] - mean[j]
            }
        }
    }

    /// The batch's loss (summed over prefixes) at `weights`; leaves dLoss/dW in `weightGradient`.
    func lossAndGradient(weights: [Float]) -> Double {
        let b = batch, d = dimensions
        makeTarget()
        // Y = (X - mean) Wᵀ on each side.
        self.weights.update(from: weights, count: d * d)
        for side in sides {
            parallelRows { r0, r1 in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r1 - r0), Int32(d), Int32(d), 1,
                            side.centred + r0 * d, Int32(d), self.weights, Int32(d), 0, side.outputs + r0 * d, Int32(d))
            }
            side.outputGradient.update(repeating: 0, count: b * d)
        }
        var loss = 0.0
        for m in prefixes { loss += addPrefixLoss(m) }
        // dW = Σ over sides of dYᵀ (X - mean), split by rows of dW.
        for (n, side) in sides.enumerated() {
            parallelRows(count: d) { a0, a1 in
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(a1 - a0), Int32(d), Int32(b), 1,
                            side.outputGradient + a0, Int32(d), side.centred, Int32(d), n == 0 ? 0 : 1,
                            self.weightGradient + a0 * d, Int32(d))
            }
        }
        return loss
    }

    private var sides: [Side] { pairs ? [left, right] : [left] }

    /// P: the identity with pairs; else the softmax of the raw cosines over each row, self excluded.
    private func makeTarget() {
        let b = batch, d = dimensions
        guard !pairs else {
            target.update(repeating: 0, count: b * b)
            for i in 0..<b { target[i * b + i] = 1 }
            targetEntropy.update(repeating: 0, count: b)
            return
        }
        parallelRows { r0, r1 in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r1 - r0), Int32(b), Int32(d), 1 / self.temperature,
                        self.left.raw + r0 * d, Int32(d), self.left.raw, Int32(d), 0, self.target + r0 * b, Int32(b))
            for i in r0..<r1 {
                let row = self.target + i * b
                Self.softmaxRow(row, count: b, skipping: i)
                var entropy: Float = 0
                for j in 0..<b where row[j] > 0 { entropy -= row[j] * log(row[j]) }
                self.targetEntropy[i] = entropy
            }
        }
    }

    /// Adds prefix `m`'s loss gradient to dY and returns its loss.
    private func addPrefixLoss(_ m: Int) -> Double {
        let b = batch, d = dimensions, tau = temperature
        for side in sides { Self.unitPrefixes(side, rows: b, dimensions: d, prefix: m) }
        // S / τ, its row softmax Q, the loss, and G = (Q - P) / (B τ) in place of S. With
        // log Q_ij = S_ij / τ - logsumexp_i and Σ_j P_ij = 1, the cross-entropy part of the
        // loss is logsumexp_i - Σ_j P_ij S_ij / τ: no logarithm per entry.
        let losses = parallelRows { r0, r1 -> Double in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r1 - r0), Int32(b), Int32(m), 1 / tau,
                        self.left.z + r0 * m, Int32(m), self.right.z, Int32(m), 0, self.similarities + r0 * b, Int32(b))
            var loss = 0.0
            for i in r0..<r1 {
                // Without pairs a document is not its own candidate.
                let row = self.similarities + i * b, targetRow = self.target + i * b, skipped = self.pairs ? -1 : i
                var expected: Float = 0
                for j in 0..<b where j != skipped { expected += targetRow[j] * row[j] }
                loss += Double(Self.softmaxRow(row, count: b, skipping: skipped) - expected) - Double(self.targetEntropy[i])
                for j in 0..<b where j != skipped { row[j] = (row[j] - targetRow[j]) / (Float(b) * tau) }
            }
            return loss
        }
        // dZ_left = G Z_right and dZ_right = Gᵀ Z_left (summed when the sides are one).
        parallelRows { r0, r1 in
            let rows = Int32(r1 - r0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, Int32(m), Int32(b), 1,
                        self.similarities + r0 * b, Int32(b), self.right.z, Int32(m), 0, self.left.zGradient + r0 * m, Int32(m))
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, Int32(m), Int32(b), 1,
                        self.similarities + r0, Int32(b), self.left.z, Int32(m), self.pairs ? 0 : 1, self.right.zGradient + r0 * m, Int32(m))
            for side in self.sides { Self.backThroughNormalisation(side, rows: r0..<r1, dimensions: d, prefix: m) }
        }
        return losses.reduce(0, +) / Double(b)
    }

    /// Z = each row's first `prefix` outputs, made unit length (their norms kept).
    private static func unitPrefixes(_ side: Side, rows: Int, dimensions d: Int, prefix m: Int) {
        for i in 0..<rows {
            var sum: Float = 0
            for j in 0..<m { sum += side.outputs[i * d + j] * side.outputs[i * d + j] }
            let norm = max(sum.squareRoot(), 1e-12)
            side.norms[i] = norm
            for j in 0..<m { side.z[i * m + j] = side.outputs[i * d + j] / norm }
        }
    }

    /// dY_i += (dZ_i - (dZ_i · Z_i) Z_i) / |Y_i| for the first `prefix` coordinates of `rows`.
    private static func backThroughNormalisation(_ side: Side, rows: Range<Int>, dimensions d: Int, prefix m: Int) {
        for i in rows {
            var along: Float = 0
            for j in 0..<m { along += side.zGradient[i * m + j] * side.z[i * m + j] }
            for j in 0..<m { side.outputGradient[i * d + j] += (side.zGradient[i * m + j] - along * side.z[i * m + j]) / side.norms[i] }
        }
    }

    /// Replaces `count` logits with their softmax, entry `skipping` left out (set to 0; -1 for
    /// none), and returns the log of the normaliser (logsumexp of the logits).
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
