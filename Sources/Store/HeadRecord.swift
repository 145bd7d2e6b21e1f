import Foundation

/// The Matryoshka head an index searches with, stored as JSON under `head` in `meta` (and,
/// while a new head's vectors are being written, under `head_pending`). Its matrix, when it
/// has one, is stored beside it under `head_matrix/VERSION`.
///
/// ```swift
/// let head = try store.read { try $0.head() }           // nil: identity, plain truncation
/// let space = head?.space ?? .raw                      // where its vectors live
/// ```
public struct HeadRecord: Equatable, Sendable {
    /// "none" (identity: the raw vectors are searched as they are) or "pca".
    public var kind: String
    /// Grows by one with every change of head, so blocks and matrices of different heads
    /// never mix.
    public var version: UInt32
    /// Documents in the index when the head was fitted (0 for "none").
    public var fittedOn: Int
    /// Whether `mrl index` may refit it as the index grows; false once a user chose a head.
    public var automatic: Bool
    /// Fingerprint of the model whose vectors it was fitted on (nil in heads stored before
    /// it was recorded): a head from another model's space is refused.
    public var model: String?
    /// For an automatic head chosen among none, PCA and adaptor by how they rank documents for
    /// logged queries: the queries the log had been offered then (nil: not chosen so).
    public var chosenOnLog: Int?
    public var createdAt: String

    public init(kind: String, version: UInt32, fittedOn: Int, automatic: Bool, model: String?, chosenOnLog: Int? = nil) {
        self.kind = kind
        self.version = version
        self.fittedOn = fittedOn
        self.automatic = automatic
        self.model = model
        self.chosenOnLog = chosenOnLog
        createdAt = ISO8601DateFormatter().string(from: Date())
    }

    /// True when searches read the raw vectors (the identity head has no copy of its own).
    public var isIdentity: Bool { kind == "none" }

    /// The copy of the vectors this head's searches read.
    public var space: VectorSpace { isIdentity ? .raw : .head(version: version) }
}

enum HeadKeys {
    static let current = Array("head".utf8)
    static let pending = Array("head_pending".utf8)
    /// Bumped by every write of raw vectors, so finishing a head can tell whether rows
    /// changed while its copy was being written.
    static let vectorsGeneration = Array("vectors_generation".utf8)
    static func matrix(_ version: UInt32) -> [UInt8] { Array("head_matrix/\(version)".utf8) }
}
