import CBLAS
import CKernels
import Dispatch
import Foundation

/// One training step of the adaptor on one batch: the Matryoshka loss and its gradient with
/// respect to the weights W (y = W (x - mean)).
///
/// Rows on the left of the batch are scored against rows on the right. For a prefix m, Z holds
/// outputs cut to m coordinates and renormalised, S = Z_left Z_rightᵀ their cosines, and Q the
/// row softmax of S / τ. The loss is Σ_i KL(P_i ‖ Q_i) / L (L rows on the left) for a target P,
/// chosen by the `Kind`:
/// - `documents`: both sides are the same documents, self excluded, and P is the same softmax
///   of the raw full-dimension cosines: each prefix keeps the similarity structure of the full
///   vectors;
/// - `pairs`: the left holds queries, the right their documents, and P is the identity:
///   InfoNCE with in-batch negatives;
/// - `distilled`: the left holds queries (no labels), the right documents (some near them), and
///   P is the softmax of the raw full-dimension query–document cosines: each prefix ranks
///   documents for queries as the full vectors do.
/// Its gradient with respect to S is G = (Q - P) / (L τ); dZ_left = G Z_right and
/// dZ_right = Gᵀ Z_left, back through the normalisation to dY, summed over prefixes; then
/// dW = dYᵀ (X - mean) over both sides. The products are split by rows over the threads.
final class BatchStep: @unchecked Sendable {  // the threads write disjoint rows of its buffers
    enum Kind: Sendable { case documents, pairs, distilled }

    let kind: Kind, dimensions: Int, prefixes: [Int], temperature: Float, threads: Int

    /// One side of the batch; for `documents` the right side is the left one.
    struct Side: @unchecked Sendable {  // pointers into the step's buffers
        let rows: Int
        /// Raw and centred rows, Y and dLoss/dY (rows × d); Z and dLoss/dZ (rows × m); |Y_i[0..<m]|.
        let raw, centred, outputs, outputGradient, z, zGradient, norms: UnsafeMutablePointer<Float>
    }
    private let left, right: Side
    /// The target P (L × R) and each row's entropy -Σ P log P (so the loss is 0 at a perfect fit).
    private let target, targetEntropy: UnsafeMutablePointer<Float>
    /// S, then G in its place (L × R).
    private let similarities: UnsafeMutablePointer<Float>
    /// W as of this step, and dLoss/dW after `lossAndGradient` (d × d).
    private let weights: UnsafeMutablePointer<Float>
    let weightGradient: UnsafeMutablePointer<Float>
    private var buffers: [UnsafeMutablePointer<Float>] = []

    /// `batch` rows on the left, and as many on the right unless `rightRows` says otherwise
    /// (not for `documents`, whose sides are one).
    init(_ kind: Kind, batch: Int, rightRows: Int? = nil, dimensions d: Int, prefixes: [Int], temperature: Float, threads: Int) {
        (self.kind, self.dimensions, self.prefixes, self.temperature, self.threads) = (kind, d, prefixes, temperature, threads)
        var allocated: [UnsafeMutablePointer<Float>] = []
        func zeros(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            allocated.append(p)
            return p
        }
        func side(_ rows: Int) -> Side {
            Side(rows: rows, raw: zeros(rows * d), centred: zeros(rows * d), outputs: zeros(rows * d), outputGradient: zeros(rows * d),
                 z: zeros(rows * d), zGradient: zeros(rows * d), norms: zeros(rows))
        }
        left = side(batch)
        right = kind == .documents ? left : side(rightRows ?? batch)
        (target, targetEntropy, similarities) = (zeros(left.rows * right.rows), zeros(left.rows), zeros(left.rows * right.rows))
        (weights, weightGradient) = (zeros(d * d), zeros(d * d))
        buffers = allocated
    }

    deinit { buffers.forEach { $0.deallocate() } }

    /// Whether the sides are one (documents against each other, each not its own candidate).
    private var shared: Bool { kind == .documents }

    /// The entry of row `i` that is not a candidate (the row's own document when the sides are
    /// one), as the softmax kernels take it: past the row's end for none.
    private func skipped(_ i: Int) -> Int { shared ? i : right.rows }

    /// Copies rows in: `rows` of `samples` to the left (for `documents`, also the right) side.
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
        let d = dimensions
        makeTarget()
        // Y = (X - mean) Wᵀ on each side.
        self.weights.update(from: weights, count: d * d)
        for side in sides {
            parallelRows(side.rows) { r0, r1 in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r1 - r0), Int32(d), Int32(d), 1,
                            side.centred + r0 * d, Int32(d), self.weights, Int32(d), 0, side.outputs + r0 * d, Int32(d))
            }
            side.outputGradient.update(repeating: 0, count: side.rows * d)
        }
        var loss = 0.0
        for m in prefixes { loss += addPrefixLoss(m) }
        // dW = Σ over sides of dYᵀ (X - mean), split by rows of dW.
        for (n, side) in sides.enumerated() {
            parallelRows(d) { a0, a1 in
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(a1 - a0), Int32(d), Int32(side.rows), 1,
                            side.outputGradient + a0, Int32(d), side.centred, Int32(d), n == 0 ? 0 : 1,
                            self.weightGradient + a0 * d, Int32(d))
            }
        }
        return loss
    }

    private var sides: [Side] { shared ? [left] : [left, right] }

    /// P: the identity for pairs; else the softmax of the raw cosines over each row (self
    /// excluded when the sides are one).
    private func makeTarget() {
        let (l, r, d) = (left.rows, right.rows, dimensions)
        guard kind != .pairs else {
            target.update(repeating: 0, count: l * r)
            for i in 0..<min(l, r) { target[i * r + i] = 1 }
            targetEntropy.update(repeating: 0, count: l)
            return
        }
        parallelRows(l) { r0, r1 in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r1 - r0), Int32(r), Int32(d), 1 / self.temperature,
                        self.left.raw + r0 * d, Int32(d), self.right.raw, Int32(d), 0, self.target + r0 * r, Int32(r))
            for i in r0..<r1 {
                // -Σ P log P with log P_j = logit_j - logsumexp: no logarithm per entry.
                var expected: Float = 0
                let normaliser = mrl_softmax_row(self.target + i * r, r, self.skipped(i), &expected)
                self.targetEntropy[i] = normaliser - expected
            }
        }
    }

    /// Adds prefix `m`'s loss gradient to dY and returns its loss.
    private func addPrefixLoss(_ m: Int) -> Double {
        let (l, r, d, tau) = (left.rows, right.rows, dimensions, temperature)
        for side in sides { Self.unitPrefixes(side, dimensions: d, prefix: m) }
        // S / τ, its row softmax Q, the loss, and G = (Q - P) / (L τ) in place of S. With
        // log Q_ij = S_ij / τ - logsumexp_i and Σ_j P_ij = 1, the cross-entropy part of the
        // loss is logsumexp_i - Σ_j P_ij S_ij / τ: no logarithm per entry.
        let losses = parallelRows(l) { r0, r1 -> Double in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r1 - r0), Int32(r), Int32(m), 1 / tau,
                        self.left.z + r0 * m, Int32(m), self.right.z, Int32(m), 0, self.similarities + r0 * r, Int32(r))
            var loss = 0.0
            for i in r0..<r1 {
                let crossEntropy = mrl_softmax_cross_entropy_row(self.similarities + i * r, self.target + i * r, r, self.skipped(i),
                                                                 1 / (Float(l) * tau))
                loss += Double(crossEntropy) - Double(self.targetEntropy[i])
            }
            return loss
        }
        // dZ_left = G Z_right, then dZ_right = Gᵀ Z_left (added when the sides are one).
        parallelRows(l) { r0, r1 in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(r1 - r0), Int32(m), Int32(r), 1,
                        self.similarities + r0 * r, Int32(r), self.right.z, Int32(m), 0, self.left.zGradient + r0 * m, Int32(m))
        }
        parallelRows(r) { r0, r1 in
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(r1 - r0), Int32(m), Int32(l), 1,
                        self.similarities + r0, Int32(r), self.left.z, Int32(m), self.shared ? 1 : 0, self.right.zGradient + r0 * m, Int32(m))
        }
        for side in sides {
            parallelRows(side.rows) { r0, r1 in Self.backThroughNormalisation(side, rows: r0..<r1, dimensions: d, prefix: m) }
        }
        return losses.reduce(0, +) / Double(l)
    }

    /// Z = each row's first `prefix` outputs, made unit length (their norms kept).
    private static func unitPrefixes(_ side: Side, dimensions d: Int, prefix m: Int) {
        for i in 0..<side.rows {
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

    /// Runs `body` over `threads` contiguous ranges of `n` rows at once and returns their
    /// results in order.
    @discardableResult
    private func parallelRows<T: Sendable>(_ n: Int, _ body: @Sendable (Int, Int) -> T) -> [T] {
        let parts = min(threads, n)
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
