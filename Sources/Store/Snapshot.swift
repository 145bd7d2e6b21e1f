import CLMDB
import Foundation

/// A consistent, read-only view of an index, valid only inside `IndexStore.read`.
/// Pointers it hands out (`vectorBlocks`) point into the memory map and die with it.
public final class Snapshot {
    let store: IndexStore
    let txn: Transaction
    /// Keeps the block directories this snapshot handed out alive for as long as the snapshot.
    private var directory: [BlockDirectory] = []

    init(store: IndexStore, txn: Transaction) {
        self.store = store
        self.txn = txn
    }

    /// The index's directory, for error messages.
    public var path: String { store.directory }

    /// Number of live documents.
    public func documentCount() throws -> Int { try txn.count(store.keys) }

    public func internalID(of id: String) throws -> UInt32? {
        // An id LMDB cannot hold as a key cannot be stored: no need to ask.
        guard (1...IndexStore.maxIDBytes).contains(id.utf8.count) else { return nil }
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

    /// Just the external id of a document, without decoding its text.
    public func documentID(internalID: UInt32) throws -> String? {
        guard let raw = try txn.get(store.docs, InternalID.key(internalID)) else { return nil }
        guard let id = DocumentRecord.decodeID(raw) else {
            throw StoreError.corrupt(path: store.directory, detail: "document record \(internalID)")
        }
        return id
    }

    public func document(id: String) throws -> StoredDocument? {
        guard let row = try internalID(of: id) else { return nil }
        return try document(internalID: row)
    }

    /// The stored raw vector of a document, or nil when it does not exist. Reads the row's
    /// columns in place, segment by segment.
    public func vector(id: String) throws -> [Float]? {
        guard let row = try internalID(of: id) else { return nil }
        return try vector(internalID: row)
    }

    /// The stored raw vector of row `row`, or nil when the row is not live.
    public func vector(internalID row: UInt32) throws -> [Float]? {
        let manifest = store.manifest
        let block = row / UInt32(manifest.blockRows), slot = Int(row % UInt32(manifest.blockRows))
        guard let live = try txn.get(store.blocks, BlockKey.make(kind: BlockKey.live, block: block)),
              slot < live.count, live[slot] == 1 else { return nil }
        var vector: [Float] = []
        vector.reserveCapacity(manifest.dimensions)
        for s in 0..<(manifest.segmentBoundaries.count - 1) {
            let width = manifest.width(ofSegment: s)
            let raw = try blockValue(kind: UInt8(s), block: block, floats: live.count * width)
            for j in 0..<width { vector.append(raw.loadUnaligned(fromByteOffset: (slot * width + j) * 4, as: Float.self)) }
        }
        return vector
    }

    /// Every vector block of `space`, in id order, read in place from the memory map.
    /// Collecting the pointers costs hundreds of B-tree lookups, so they are kept per
    /// committed state of the index (transaction id and map address): until a write
    /// commits, they stay valid.
    public func vectorBlocks(space: VectorSpace = .raw) throws -> [VectorBlock] {
        let version = self.version
        if let cached = store.blockDirectories.withLock({ $0[space] }), cached.version == version {
            directory.append(cached)
            return cached.blocks
        }
        let fresh = try BlockDirectory(version: version, space: space, snapshot: self)
        store.blockDirectories.withLock { directories in
            directories = directories.filter { $0.value.version == version }
            directories[space] = fresh
        }
        directory.append(fresh)
        return fresh.blocks
    }

    /// Identifies the committed state this snapshot reads: pointers into the map taken in one
    /// snapshot stay valid in any later snapshot with the same version.
    public var version: CommittedVersion {
        CommittedVersion(txnID: mdb_txn_id(txn.handle), mapGeneration: store.env.mapGeneration)
    }

    /// Each block's live value, in block order (the blocks that exist).
    func scanLiveValues(_ body: (UInt32, UnsafeRawBufferPointer) throws -> Void) throws {
        try txn.scan(store.blocks, from: [BlockKey.live]) { key, value in
            guard key.count == 5, key[0] == BlockKey.live else { return false }
            try body(BlockKey.block(of: key), value)
            return true
        }
    }

    func blockValue(kind: UInt8, block: UInt32, floats count: Int, space: VectorSpace = .raw) throws -> UnsafeRawBufferPointer {
        guard let raw = try txn.get(store.blocks, BlockKey.make(kind: kind, block: block, space: space)), raw.count == count * 4 else {
            throw StoreError.corrupt(path: store.directory, detail: "vector block \(block) kind \(kind) in \(space)")
        }
        return raw
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
