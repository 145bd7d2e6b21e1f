import CLMDB
import Foundation

/// How vectors sit in the `blocks` database.
///
/// Internal ids are grouped into blocks of `blockRows` consecutive ids. Each block is cut
/// by columns into prefix segments ([0,32), [32,64), [64,128), [128,256), [256,384)), and
/// each segment is one LMDB value holding the block's rows of those columns back to back.
/// A scan at d dimensions reads only the segments below d, so its time and bytes fall with
/// d, and it reads them in place from the memory map, large contiguous runs, no copy.
/// Beside the segments each block has the squared norm of every row's segments (the norm
/// of a boundary prefix is then a sum, without touching the vector) and a live byte per row.
///
/// A Matryoshka head's copy of the vectors (`VectorSpace.head`) has the same segments and
/// norms under keys prefixed with its version; the live bytes are the raw space's.
enum BlockKey {
    static let norms: UInt8 = 0xF0
    static let live: UInt8 = 0xF1
    /// First byte of a head-space key; it sorts before `norms` and `live`, so a scan of the
    /// raw live values never meets one.
    static let headSpace: UInt8 = 0xE0

    static func make(kind: UInt8, block: UInt32, space: VectorSpace = .raw) -> [UInt8] {
        let tail = [kind, UInt8(block >> 24), UInt8((block >> 16) & 0xFF), UInt8((block >> 8) & 0xFF), UInt8(block & 0xFF)]
        guard case .head(let version) = space else { return tail }
        return [headSpace, UInt8(version >> 24), UInt8((version >> 16) & 0xFF), UInt8((version >> 8) & 0xFF),
                UInt8(version & 0xFF)] + tail
    }

    /// The first key of a head version's blocks (all of them share this prefix).
    static func prefix(of version: UInt32) -> [UInt8] { Array(make(kind: 0, block: 0, space: .head(version: version)).prefix(5)) }

    static func block(of key: UnsafeRawBufferPointer) -> UInt32 {
        (UInt32(key[1]) << 24) | (UInt32(key[2]) << 16) | (UInt32(key[3]) << 8) | UInt32(key[4])
    }
}

/// One block of vectors as the scan sees it: pointers into the memory map, valid only
/// inside the read transaction that produced them.
public struct VectorBlock {
    /// Internal id of row 0.
    public let firstID: UInt32
    public let rows: Int
    /// Segment s holds `rows` rows of `width(s)` floats each.
    public let segments: [UnsafePointer<Float>]
    /// `segmentSquaredNorms[s][i]`: squared norm of row i's segment s (segment-major, so a
    /// prefix's norms are a few vector adds).
    public let segmentSquaredNorms: [UnsafePointer<Float>]
    /// 1 for a live row, 0 for a deleted or never-written one.
    public let live: UnsafePointer<UInt8>

    /// Row i is live and has a direction: a query can be made of it. (Writes refuse zero
    /// vectors, but an index written before they did may hold some.)
    public func hasDirection(row i: Int) -> Bool {
        live[i] != 0 && segmentSquaredNorms.reduce(Float(0)) { $0 + $1[i] } > 0
    }
}

/// Which copy of the vectors a block holds: the model's raw vectors, or the rotation of
/// them by the Matryoshka head of that version (see `HeadRecord`).
public enum VectorSpace: Hashable, Sendable {
    case raw
    case head(version: UInt32)
}

/// A block being rewritten inside a write transaction: a private copy of its values,
/// patched row by row and written back once per batch.
struct BlockPatch {
    let boundaries: [Int]
    let space: VectorSpace
    var rows: Int
    var segments: [[Float]]
    /// Per segment, each row's squared norm; stored as one value, segment after segment.
    var norms: [[Float]]
    var live: [UInt8]

    var segmentCount: Int { boundaries.count - 1 }
    func width(_ s: Int) -> Int { boundaries[s + 1] - boundaries[s] }

    /// Loads the block's current values in `space` (or an empty block) from `txn`. The live
    /// bytes always come from the raw space; a head-space block not written yet reads as zeros.
    init(block: UInt32, boundaries: [Int], space: VectorSpace = .raw, txn: Transaction, db: MDB_dbi) throws {
        self.boundaries = boundaries
        self.space = space
        let liveValue = try txn.get(db, BlockKey.make(kind: BlockKey.live, block: block))
        let rows = liveValue?.count ?? 0
        self.rows = rows
        live = liveValue.map { Array($0) } ?? []
        segments = try (0..<(boundaries.count - 1)).map { s in
            let stored = try BlockPatch.floats(txn.get(db, BlockKey.make(kind: UInt8(s), block: block, space: space)))
            return stored.isEmpty ? [Float](repeating: 0, count: rows * (boundaries[s + 1] - boundaries[s])) : stored
        }
        let flat = try BlockPatch.floats(txn.get(db, BlockKey.make(kind: BlockKey.norms, block: block, space: space)))
        norms = (0..<(boundaries.count - 1)).map { s in
            flat.isEmpty ? [Float](repeating: 0, count: rows) : Array(flat[s * rows..<(s + 1) * rows])
        }
    }

    /// Makes room for `row` (rows only ever grow within a block).
    mutating func ensure(row: Int) {
        guard row >= rows else { return }
        let newRows = row + 1
        for s in 0..<segmentCount { segments[s] += [Float](repeating: 0, count: (newRows - rows) * width(s)) }
        for s in 0..<segmentCount { norms[s] += [Float](repeating: 0, count: newRows - rows) }
        live += [UInt8](repeating: 0, count: newRows - rows)
        rows = newRows
    }

    mutating func set(row: Int, vector: [Float]) {
        vector.withUnsafeBufferPointer { set(row: row, vector: $0.baseAddress!) }
    }

    mutating func set(row: Int, vector: UnsafePointer<Float>) {
        ensure(row: row)
        for s in 0..<segmentCount {
            let w = width(s), start = boundaries[s]
            var sq: Float = 0
            for j in 0..<w {
                let v = vector[start + j]
                segments[s][row * w + j] = v
                sq += v * v
            }
            norms[s][row] = sq
        }
        live[row] = 1
    }

    /// The block's rows as one row-major matrix (rows × dimensions), dead rows included.
    func rowMajor() -> [Float] {
        let d = boundaries.last!
        var out = [Float](repeating: 0, count: rows * d)
        for s in 0..<segmentCount {
            let w = width(s), start = boundaries[s]
            for i in 0..<rows { for j in 0..<w { out[i * d + start + j] = segments[s][i * w + j] } }
        }
        return out
    }

    /// Zeroes a row, so a deleted vector does not linger in the file.
    mutating func clear(row: Int) {
        guard row < rows else { return }
        for s in 0..<segmentCount {
            let w = width(s)
            for j in 0..<w { segments[s][row * w + j] = 0 }
        }
        for s in 0..<segmentCount { norms[s][row] = 0 }
        live[row] = 0
    }

    /// Writes the segments and norms into this patch's space; the live bytes only from the raw space.
    func write(block: UInt32, txn: Transaction, db: MDB_dbi) throws {
        for s in 0..<segmentCount {
            try segments[s].withUnsafeBytes { try txn.put(db, BlockKey.make(kind: UInt8(s), block: block, space: space), $0) }
        }
        try Array(norms.joined()).withUnsafeBytes {
            try txn.put(db, BlockKey.make(kind: BlockKey.norms, block: block, space: space), $0)
        }
        if space == .raw { try txn.put(db, BlockKey.make(kind: BlockKey.live, block: block), live) }
    }

    private static func floats(_ raw: UnsafeRawBufferPointer?) -> [Float] {
        guard let raw, let base = raw.baseAddress else { return [] }
        return [Float](unsafeUninitializedCapacity: raw.count / 4) { buffer, count in
            // memcpy, not a typed load: small LMDB values are only 2-byte aligned.
            memcpy(buffer.baseAddress!, base, raw.count)
            count = raw.count / 4
        }
    }
}
