/// A 64-bit FNV-1a hash of a document's content (text, meta, vector). It decides
/// whether an upsert is a no-op, so re-running an ingest skips what is already stored.
/// Each part is length-prefixed so ("ab", "c") and ("a", "bc") differ.
public struct ContentHash {
    private var state: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        addLength(bytes.count)
        for byte in bytes { mix(byte) }
    }

    public mutating func add(_ string: String) {
        var copy = string
        copy.withUTF8 { add(UnsafeRawBufferPointer($0)) }
    }

    public mutating func add(_ floats: [Float]) {
        floats.withUnsafeBytes { add($0) }
    }

    public var value: UInt64 { state }

    private mutating func addLength(_ n: Int) {
        withUnsafeBytes(of: UInt64(n).littleEndian) { for byte in $0 { mix(byte) } }
    }

    private mutating func mix(_ byte: UInt8) {
        state = (state ^ UInt64(byte)) &* 0x100_0000_01b3
    }
}
