import CBLAS
import Foundation

/// The transform between the model's raw vectors and the space an index searches, chosen so
/// that every prefix (32, 64, 128, ... dimensions) is a usable embedding on its own.
///
/// ```swift
/// let (head, variance) = try MatryoshkaHead.fitPCA(samples: rows, count: n, dimensions: 384)
/// let q = head.apply(rawQuery)          // rotate; q[0..<64] is the 64-d prefix
/// ```
/// A PCA head is a pure rotation (an orthonormal basis sorted by variance): vectors are not
/// centred, so full-dimension cosines are unchanged and only the order of information in the
/// coordinates moves to the front. An adaptor is affine (`W x + c`), trained so that each
/// prefix keeps the full vectors' similarities (Engine's `AdaptorTrainer`); it changes cosines, so
/// full-dimension scores always come from the raw vectors.
public struct MatryoshkaHead: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Identity: prefixes are plain truncations of the raw vectors.
        case none
        /// Rotation onto the principal axes of the corpus embeddings.
        case pca
        /// A learned affine map, PCA to begin with, trained with a Matryoshka loss.
        case adaptor

        /// Floats stored for a head of this kind over `dimensions`-d vectors: the matrix,
        /// then for an adaptor its offset.
        public func storedFloats(dimensions d: Int) -> Int {
            switch self {
            case .none: 0
            case .pca: d * d
            case .adaptor: d * d + d
            }
        }
    }

    public let kind: Kind
    public let dimensions: Int
    /// Row i is output coordinate i expressed in raw coordinates (an adaptor's offset follows
    /// the d × d matrix); nil for the identity.
    public let matrix: [Float]?
    /// Past any fitted rotation or trained adaptor; NaN fails the comparison too.
    public static let largestEntry: Float = 1e15

    public static func identity(dimensions: Int) -> MatryoshkaHead {
        MatryoshkaHead(kind: .none, dimensions: dimensions, validated: nil)
    }

    /// A head of `kind` from its stored matrix; throws `HeadError.badMatrix` when the matrix
    /// does not fit the kind and size.
    public init(kind: Kind, dimensions: Int, matrix: [Float]?) throws {
        guard (kind == .none) == (matrix == nil), (matrix?.count ?? 0) == kind.storedFloats(dimensions: dimensions) else {
            throw HeadError.badMatrix(kind: kind.rawValue, dimensions: dimensions, found: matrix?.count ?? 0)
        }
        // Bounded so that a product with any accepted vector stays finite (queries would lose
        // their direction to NaN).
        guard matrix?.allSatisfy({ abs($0) <= MatryoshkaHead.largestEntry }) ?? true else {
            throw HeadError.badEntries(kind: kind.rawValue)
        }
        self.init(kind: kind, dimensions: dimensions, validated: matrix)
    }

    init(kind: Kind, dimensions: Int, validated matrix: [Float]?) {
        BLASThreads.single  // apply's sgemv runs once per query, on the caller's thread
        self.kind = kind
        self.dimensions = dimensions
        self.matrix = matrix
    }

    /// The first `prefix` coordinates (all by default) of one vector in head space: a
    /// matrix-vector product over that many rows only (13 us for all 384, 4 for 128).
    public func apply(_ vector: [Float], prefix: Int? = nil) -> [Float] {
        let rows = prefix ?? dimensions
        guard let matrix else { return Array(vector.prefix(rows)) }
        precondition(vector.count == dimensions && rows <= dimensions)
        var out = kind == .adaptor ? Array(matrix[dimensions * dimensions..<dimensions * dimensions + rows]) : [Float](repeating: 0, count: rows)
        let d = Int32(dimensions)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows), d, 1, matrix, d, vector, 1, 1, &out, 1)
        return out
    }

    /// `count` row-major vectors in head space (one matrix product).
    public func apply(rows: [Float], count: Int) -> [Float] {
        guard let matrix else { return rows }
        precondition(rows.count == count * dimensions)
        var out = [Float](repeating: 0, count: rows.count)
        if kind == .adaptor {
            let offset = matrix[(dimensions * dimensions)...]
            for r in 0..<count { out.replaceSubrange(r * dimensions..<(r + 1) * dimensions, with: offset) }
        }
        let d = Int32(dimensions)
        // out = rows · matrixᵀ (+ offset): coordinate i of a row is its dot product with axis i.
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(count), d, d, 1, rows, d, matrix, d, 1, &out, d)
        return out
    }

    /// Fits a PCA rotation to `count` row-major sample vectors: the eigenvectors of their
    /// mean-centred covariance (LAPACK `ssyevd`), largest variance first. Returns the head
    /// and each axis's share of the total variance. Throws `HeadError.tooFewSamples` below
    /// `dimensions` samples and `HeadError.eigensolverFailed`.
    public static func fitPCA(samples: [Float], count: Int, dimensions d: Int) throws -> (head: MatryoshkaHead, varianceShare: [Float]) {
        guard count >= d else { throw HeadError.tooFewSamples(found: count, needed: d) }
        precondition(samples.count == count * d)
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<count { for j in 0..<d { mean[j] += Double(samples[i * d + j]) } }
        var centred = samples
        for i in 0..<count { for j in 0..<d { centred[i * d + j] -= Float(mean[j] / Double(count)) } }
        var covariance = [Float](repeating: 0, count: d * d)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(d), Int32(d), Int32(count),
                    1 / Float(count - 1), centred, Int32(d), centred, Int32(d), 0, &covariance, Int32(d))

        var eigenvalues = [Float](repeating: 0, count: d)
        try symmetricEigen(&covariance, dimension: d, eigenvalues: &eigenvalues)
        // ssyevd leaves eigenvector j contiguous at [j*d, (j+1)*d) (column-major), eigenvalues
        // ascending: reverse for largest first, and fix each axis's sign (largest component
        // positive) so the same corpus always gives the same head.
        var rotation = [Float](repeating: 0, count: d * d)
        for i in 0..<d {
            let axis = covariance[(d - 1 - i) * d..<(d - i) * d]
            let sign: Float = (axis.max(by: { abs($0) < abs($1) }) ?? 1) < 0 ? -1 : 1
            for (j, value) in axis.enumerated() { rotation[i * d + j] = sign * value }
        }
        let total = eigenvalues.reduce(0) { $0 + max($1, 0) }
        let share = eigenvalues.reversed().map { max($0, 0) / max(total, .leastNormalMagnitude) }
        return (MatryoshkaHead(kind: .pca, dimensions: d, validated: rotation), share)
    }

    /// Eigen-decomposes the symmetric `matrix` in place (eigenvectors replace it).
    private static func symmetricEigen(_ matrix: inout [Float], dimension d: Int, eigenvalues: inout [Float]) throws {
        var n = Int32(d), lda = Int32(d), info: Int32 = 0
        var lwork: Int32 = -1, liwork: Int32 = -1
        var workSize: Float = 0, iworkSize: Int32 = 0
        ssyevd_("V", "U", &n, &matrix, &lda, &eigenvalues, &workSize, &lwork, &iworkSize, &liwork, &info)  // size query
        guard info == 0 else { throw HeadError.eigensolverFailed(info: Int(info)) }
        lwork = Int32(workSize)
        liwork = iworkSize
        var work = [Float](repeating: 0, count: Int(lwork))
        var iwork = [Int32](repeating: 0, count: Int(liwork))
        ssyevd_("V", "U", &n, &matrix, &lda, &eigenvalues, &work, &lwork, &iwork, &liwork, &info)
        guard info == 0 else { throw HeadError.eigensolverFailed(info: Int(info)) }
    }
}

/// Why a head could not be fitted or loaded.
public enum HeadError: Error, Equatable, CustomStringConvertible {
    case tooFewSamples(found: Int, needed: Int)
    case eigensolverFailed(info: Int)
    case badMatrix(kind: String, dimensions: Int, found: Int)
    case badEntries(kind: String)

    public var description: String {
        switch self {
        case .tooFewSamples(let found, let needed):
            return "a PCA head needs at least \(needed) documents to fit, the index has \(found): index more documents first"
        case .eigensolverFailed(let info):
            return "the eigensolver (LAPACK ssyevd) failed with info \(info); the head was not changed"
        case .badMatrix(let kind, let dimensions, let found):
            let expected = MatryoshkaHead.Kind(rawValue: kind)?.storedFloats(dimensions: dimensions) ?? 0
            return "stored \(kind) head has \(found) matrix entries, expected \(expected) for \(dimensions)-d vectors: the head belongs to another model or is damaged; refit it with `mrl head`"
        case .badEntries(let kind):
            return "stored \(kind) head has matrix entries that are not finite or past ±1e15: it is damaged; refit it with `mrl head`"
        }
    }
}

extension HeadError: LocalizedError {
    public var errorDescription: String? { description }
}
