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
enum BlockKey {
    static let norms: UInt8 = 0xF0
    static let live: UInt8 = 0xF1

    static func make(kind: UInt8, block: UInt32) -> [UInt8] {
        [kind, UInt8(block >> 24), UInt8((block >> 16) & 0xFF), UInt8((block >> 8) & 0xFF), UInt8(block & 0xFF)]
    }

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
}

/// A block being rewritten inside a write transaction: a private copy of its values,
/// patched row by row and written back once per batch.
struct BlockPatch {
    let boundaries: [Int]
    var rows: Int
    var segments: [[Float]]
    /// Per segment, each row's squared norm; stored as one value, segment after segment.
    var norms: [[Float]]
    var live: [UInt8]

    var segmentCount: Int { boundaries.count - 1 }
    func width(_ s: Int) -> Int { boundaries[s + 1] - boundaries[s] }

    /// Loads the block's current values (or an empty block) from `txn`.
    init(block: UInt32, boundaries: [Int], txn: Transaction, db: MDB_dbi) throws {
        self.boundaries = boundaries
        let liveValue = try txn.get(db, BlockKey.make(kind: BlockKey.live, block: block))
        rows = liveValue?.count ?? 0
        live = liveValue.map { Array($0) } ?? []
        segments = []
        norms = []
        for s in 0..<(boundaries.count - 1) {
            segments.append(try BlockPatch.floats(txn.get(db, BlockKey.make(kind: UInt8(s), block: block))))
        }
        let flat = try BlockPatch.floats(txn.get(db, BlockKey.make(kind: BlockKey.norms, block: block)))
        norms = (0..<(boundaries.count - 1)).map { s in flat.isEmpty ? [] : Array(flat[s * rows..<(s + 1) * rows]) }
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

    func write(block: UInt32, txn: Transaction, db: MDB_dbi) throws {
        for s in 0..<segmentCount {
            try segments[s].withUnsafeBytes { try txn.put(db, BlockKey.make(kind: UInt8(s), block: block), $0) }
        }
        try Array(norms.joined()).withUnsafeBytes { try txn.put(db, BlockKey.make(kind: BlockKey.norms, block: block), $0) }
        try txn.put(db, BlockKey.make(kind: BlockKey.live, block: block), live)
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
