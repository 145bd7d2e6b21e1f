import CLMDB
import Foundation

/// The pointers of every vector block of one space for one committed state of an index. LMDB never
/// changes committed pages in place, so while no newer transaction has committed (and the
/// map has not moved) these pointers stay valid; a long-lived reader (the daemon, a
/// benchmark) then skips hundreds of lookups per query.
final class BlockDirectory: @unchecked Sendable {  // immutable after init
    let version: CommittedVersion
    let blocks: [VectorBlock]
    /// Aligned copies of the rare values LMDB stores unaligned (small values sit inside leaf
    /// pages, 2-byte aligned); owned here so their pointers live as long as the directory.
    private var alignedCopies: [UnsafeMutableRawPointer] = []

    init(version: CommittedVersion, space: VectorSpace, snapshot: Snapshot) throws {
        self.version = version
        let manifest = snapshot.store.manifest
        let segmentCount = manifest.segmentBoundaries.count - 1
        var blocks: [VectorBlock] = []
        var copies: [UnsafeMutableRawPointer] = []
        func aligned(_ raw: UnsafeRawBufferPointer) -> UnsafePointer<Float> {
            let base = raw.baseAddress!
            if Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 { return base.assumingMemoryBound(to: Float.self) }
            let copy = UnsafeMutableRawPointer.allocate(byteCount: max(raw.count, 1), alignment: 64)
            copy.copyMemory(from: base, byteCount: raw.count)
            copies.append(copy)
            return UnsafePointer(copy.assumingMemoryBound(to: Float.self))
        }
        try snapshot.scanLiveValues { block, live in
            let rows = live.count
            let segments = try (0..<segmentCount).map { s in
                aligned(try snapshot.blockValue(kind: UInt8(s), block: block, floats: rows * manifest.width(ofSegment: s), space: space))
            }
            let norms = aligned(try snapshot.blockValue(kind: BlockKey.norms, block: block, floats: rows * segmentCount, space: space))
            blocks.append(VectorBlock(
                firstID: block * UInt32(manifest.blockRows), rows: rows, segments: segments,
                segmentSquaredNorms: (0..<segmentCount).map { norms + $0 * rows },
                live: live.baseAddress!.assumingMemoryBound(to: UInt8.self)))
        }
        self.blocks = blocks
        alignedCopies = copies
    }

    deinit { alignedCopies.forEach { $0.deallocate() } }
}

/// One committed state of an index as a reader sees it: LMDB never changes committed pages
/// while a snapshot of them is open, so pointers taken at one version stay valid in every
/// snapshot of the same version (as long as the map has not moved).
public struct CommittedVersion: Equatable, Sendable {
    var txnID: Int
    /// How many times this process has remapped the map (`Environment.mapGeneration`): a
    /// remap moves every page, so pointers taken before it are void even at the same txnID.
    var mapGeneration: Int
}
