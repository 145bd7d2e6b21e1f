/// A run of consecutive rows as stored: columns cut into prefix segments (see
/// `PrefixLayout`), each segment's rows back to back. The store's blocks conform,
/// so the scan reads them in place.
public protocol PrefixBlock: SendableMetatype {
    /// Id of row 0; row i has id `firstID + i`.
    var firstID: UInt32 { get }
    var rows: Int { get }
    /// Segment s holds `rows × layout.width(s)` floats.
    var segments: [UnsafePointer<Float>] { get }
    /// `segmentSquaredNorms[s][i]`: squared norm of row i's segment s.
    var segmentSquaredNorms: [UnsafePointer<Float>] { get }
    /// Nonzero for rows that hold a vector.
    var live: UnsafePointer<UInt8> { get }
}
