import CLMDB
import Foundation

/// A consistent, read-only view of an index, valid only inside `IndexStore.read`.
/// Pointers it hands out (`vectorBlocks`) point into the memory map and die with it.
public final class Snapshot {
    let store: IndexStore
    let txn: Transaction
    /// Aligned copies of the rare block values LMDB stores unaligned (small values sit
    /// inside leaf pages, 2-byte aligned); kept here so their pointers live as long as the snapshot.
    private var alignedCopies: [UnsafeMutableRawPointer] = []

    init(store: IndexStore, txn: Transaction) {
        self.store = store
        self.txn = txn
    }

    deinit { alignedCopies.forEach { $0.deallocate() } }

    /// Number of live documents.
    public func documentCount() throws -> Int { try txn.count(store.keys) }

    public func internalID(of id: String) throws -> UInt32? {
        guard let raw = try txn.get(store.keys, Array(id.utf8)), raw.count == 4 else { return nil }
        return raw.loadUnaligned(as: UInt32.self).littleEndian
    }

    public func document(internalID: UInt32) throws -> StoredDocument? {
        guard let raw = try txn.get(store.docs, InternalID.key(internalID)) else { return nil }
        guard let doc = DocumentRecord.decode(raw) else {
            throw StoreError.corrupt(path: store.directory, detail: "document record \(internalID)")
        }
        return doc
    }

    public func document(id: String) throws -> StoredDocument? {
        guard let row = try internalID(of: id) else { return nil }
        return try document(internalID: row)
    }

    /// The stored raw vector of a document, or nil when it does not exist.
    public func vector(id: String) throws -> [Float]? {
        guard let row = try internalID(of: id) else { return nil }
        let manifest = store.manifest
        let block = row / UInt32(manifest.blockRows), slot = Int(row % UInt32(manifest.blockRows))
        let patch = try BlockPatch(block: block, boundaries: manifest.segmentBoundaries, txn: txn, db: store.blocks)
        guard slot < patch.rows, patch.live[slot] == 1 else { return nil }
        return (0..<patch.segmentCount).flatMap { s in
            patch.segments[s][slot * patch.width(s)..<(slot + 1) * patch.width(s)]
        }
    }

    /// Every vector block, in id order, read in place from the memory map.
    public func vectorBlocks() throws -> [VectorBlock] {
        let segmentCount = store.manifest.segmentBoundaries.count - 1
        var result: [VectorBlock] = []
        try txn.scan(store.blocks, from: [BlockKey.live]) { key, liveValue in
            guard key.count == 5, key[0] == BlockKey.live else { return false }
            let block = BlockKey.block(of: key)
            let rows = liveValue.count
            var segments: [UnsafePointer<Float>] = []
            for s in 0..<segmentCount {
                segments.append(try floats(kind: UInt8(s), block: block, count: rows * store.manifest.width(ofSegment: s)))
            }
            let norms = try floats(kind: BlockKey.norms, block: block, count: rows * segmentCount)
            result.append(VectorBlock(
                firstID: block * UInt32(store.manifest.blockRows), rows: rows, segments: segments,
                segmentSquaredNorms: norms, live: liveValue.baseAddress!.assumingMemoryBound(to: UInt8.self)))
            return true
        }
        return result
    }

    private func floats(kind: UInt8, block: UInt32, count: Int) throws -> UnsafePointer<Float> {
        guard let raw = try txn.get(store.blocks, BlockKey.make(kind: kind, block: block)), raw.count == count * 4 else {
            throw StoreError.corrupt(path: store.directory, detail: "vector block \(block) kind \(kind)")
        }
        let base = raw.baseAddress!
        if Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
            return base.assumingMemoryBound(to: Float.self)
        }
        let copy = UnsafeMutableRawPointer.allocate(byteCount: max(raw.count, 1), alignment: 64)
        copy.copyMemory(from: base, byteCount: raw.count)
        alignedCopies.append(copy)
        return UnsafePointer(copy.assumingMemoryBound(to: Float.self))
    }
}

extension Manifest {
    public func width(ofSegment s: Int) -> Int { segmentBoundaries[s + 1] - segmentBoundaries[s] }
}

/// Internal ids as keys: big-endian, so LMDB's byte order is id order.
enum InternalID {
    static func key(_ id: UInt32) -> [UInt8] {
        [UInt8(id >> 24), UInt8((id >> 16) & 0xFF), UInt8((id >> 8) & 0xFF), UInt8(id & 0xFF)]
    }

    static func value(_ id: UInt32) -> [UInt8] {
        withUnsafeBytes(of: id.littleEndian) { Array($0) }
    }

    static func decodeKey(_ raw: UnsafeRawBufferPointer) -> UInt32 {
        raw.reduce(UInt32(0)) { ($0 << 8) | UInt32($1) }
    }
}
