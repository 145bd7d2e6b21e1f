import Foundation

/// What an index is: stored as JSON under the key `manifest` in the `meta` database.
public struct Manifest: Equatable, Sendable {
    /// The on-disk format this build writes; an index with a larger number is refused.
    public static let currentFormat = 1

    public var format: Int
    /// Length of the model's raw vectors.
    public var dimensions: Int
    /// Element type of stored vectors: "f32" (little-endian float32).
    public var vectorType: String
    /// Rows per vector block (see `VectorBlocks`).
    public var blockRows: Int
    /// Column boundaries of the stored prefix segments, e.g. [0, 32, 64, 128, 256, 384].
    public var segmentBoundaries: [Int]
    /// The embedding model whose raw space the vectors live in, when known.
    public var model: ModelIdentity?
    public var createdAt: String

    public init(dimensions: Int, segmentBoundaries: [Int], model: ModelIdentity?, blockRows: Int = 1024) {
        format = Manifest.currentFormat
        self.dimensions = dimensions
        vectorType = "f32"
        self.blockRows = blockRows
        self.segmentBoundaries = segmentBoundaries
        self.model = model
        createdAt = ISO8601DateFormatter().string(from: Date())
    }

    /// What is wrong with a manifest read from disk, or nil: the prefix layout and the block
    /// arithmetic trust these numbers, so a damaged one must stop at open.
    public var problem: String? {
        let boundaries = segmentBoundaries
        if !(1...65_536).contains(dimensions) { return "dimensions \(dimensions)" }
        if vectorType != "f32" { return "vector type \(vectorType)" }
        if !(1...65_536).contains(blockRows) { return "block rows \(blockRows)" }
        if boundaries.first != 0 || boundaries.last != dimensions || zip(boundaries, boundaries.dropFirst()).contains(where: { $0 >= $1 }) {
            return "segment boundaries \(boundaries) for \(dimensions) dimensions"
        }
        return nil
    }
}

/// Names the model whose raw space an index's vectors are in, and the arithmetic its texts are
/// embedded with ("fp32", "int8"; indexes made before precisions existed are fp32).
public struct ModelIdentity: Equatable, Sendable {
    public var name: String
    public var fingerprint: String
    public var precision: String
    public init(name: String, fingerprint: String, precision: String = "fp32") {
        self.name = name
        self.fingerprint = fingerprint
        self.precision = precision
    }
}
