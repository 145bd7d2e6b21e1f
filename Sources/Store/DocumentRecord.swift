/// A stored document, as read back from the index.
public struct StoredDocument: Equatable, Sendable {
    public var id: String
    public var text: String
    /// The document's metadata as canonical JSON (sorted keys), or nil.
    public var meta: String?
    public var contentHash: UInt64
}

/// Binary layout of a `docs` value:
/// hash u64 | id length u32 | text length u32 | meta length u32 (0xFFFF_FFFF = none) | id | text | meta,
/// little-endian. Lengths first, so a reader can find any field without parsing the others.
enum DocumentRecord {
    static let headerSize = 20
    static let noMeta = UInt32.max

    static func encode(_ doc: StoredDocument) -> [UInt8] {
        let id = Array(doc.id.utf8), text = Array(doc.text.utf8)
        let meta = doc.meta.map { Array($0.utf8) }
        var out = [UInt8]()
        out.reserveCapacity(headerSize + id.count + text.count + (meta?.count ?? 0))
        append(doc.contentHash, to: &out)
        append(UInt32(id.count), to: &out)
        append(UInt32(text.count), to: &out)
        append(meta.map { UInt32($0.count) } ?? noMeta, to: &out)
        out += id
        out += text
        if let meta { out += meta }
        return out
    }

    /// Decodes a record; nil when it is malformed (the caller reports the index damaged).
    static func decode(_ raw: UnsafeRawBufferPointer) -> StoredDocument? {
        guard raw.count >= headerSize else { return nil }
        let hash = raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
        let idLength = Int(raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian)
        let textLength = Int(raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian)
        let metaField = raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self).littleEndian
        let metaLength = metaField == noMeta ? 0 : Int(metaField)
        guard headerSize + idLength + textLength + metaLength == raw.count else { return nil }
        func string(_ start: Int, _ count: Int) -> String {
            String(decoding: UnsafeRawBufferPointer(rebasing: raw[start..<start + count]), as: UTF8.self)
        }
        return StoredDocument(
            id: string(headerSize, idLength),
            text: string(headerSize + idLength, textLength),
            meta: metaField == noMeta ? nil : string(headerSize + idLength + textLength, metaLength),
            contentHash: hash)
    }

    /// Only the external id of a record (a search's hits need no more unless asked).
    static func decodeID(_ raw: UnsafeRawBufferPointer) -> String? {
        guard raw.count >= headerSize else { return nil }
        let idLength = Int(raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian)
        guard headerSize + idLength <= raw.count else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: raw[headerSize..<headerSize + idLength]), as: UTF8.self)
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }
}
