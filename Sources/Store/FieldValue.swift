import JSONValue

/// A value a filter can test a document's meta field for: what the field index stores and a
/// filter's constants are made of, so both read JSON the same way.
public enum FieldValue: Hashable, Sendable, Comparable {
    case bool(Bool)
    /// Every number as a Double (integers past 2^53 round), -0 as 0.
    case number(Double)
    /// UTF-8 bytes: strings compare byte by byte, as their keys in the field index do.
    case string([UInt8])

    /// The longest string a field index holds, in UTF-8 bytes: longer ones are not filterable.
    public static let maxStringBytes = 256
    /// The longest filterable field name in UTF-8 bytes: with a longest string value, its
    /// key in the field index still fits LMDB's 511 bytes (name, 0, kind, value, 0, row).
    public static let maxFieldNameBytes = 511 - 1 - 1 - maxStringBytes - 1 - 4

    /// The value of a JSON scalar; nil for null, NaN, objects, arrays, and strings that are
    /// not filterable (over `maxStringBytes` bytes, or holding U+0000, which ends a key).
    public init?(_ json: JSON) {
        switch json {
        case .bool(let b): self = .bool(b)
        case .string(let s):
            let bytes = Array(s.utf8)
            guard bytes.count <= FieldValue.maxStringBytes, !bytes.contains(0) else { return nil }
            self = .string(bytes)
        default:
            guard let number = json.number, !number.isNaN else { return nil }
            self = .number(number == 0 ? 0 : number)
        }
    }

    public static func < (a: FieldValue, b: FieldValue) -> Bool {
        switch (a, b) {
        case (.bool(let x), .bool(let y)): !x && y
        case (.number(let x), .number(let y)): x < y
        case (.string(let x), .string(let y)): x.lexicographicallyPrecedes(y)
        default: a.typeTag < b.typeTag
        }
    }

    /// The value as JSON again (what a filter's `json` form sends).
    public var json: JSON {
        switch self {
        case .bool(let b): .bool(b)
        case .number(let d): Double(exactly: d).flatMap { Int64(exactly: $0) }.map(JSON.integer) ?? .number(d)
        case .string(let bytes): .string(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// The value's kind, which orders values of different kinds (and the field index's keys:
    /// the values of one kind are one key range).
    public var typeTag: UInt8 {
        switch self {
        case .bool: 1
        case .number: 2
        case .string: 3
        }
    }

    /// Bytes that sort as the values do: a Double's bits with the sign flipped (all bits
    /// flipped for negatives), big-endian; a string's bytes ended by 0, so "a" sorts before "ab".
    var orderedBytes: [UInt8] {
        switch self {
        case .bool(let b): return [b ? 1 : 0]
        case .number(let d):
            let bits = d.bitPattern, ordered = bits >> 63 == 1 ? ~bits : bits | (1 << 63)
            return withUnsafeBytes(of: ordered.bigEndian) { Array($0) }
        case .string(let bytes): return bytes + [0]
        }
    }

    /// Reads `orderedBytes` of kind `tag` back; nil when malformed.
    init?(tag: UInt8, orderedBytes raw: UnsafeRawBufferPointer) {
        switch tag {
        case 1 where raw.count == 1: self = .bool(raw[0] == 1)
        case 2 where raw.count == 8:
            let ordered = UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self))
            self = .number(Double(bitPattern: ordered >> 63 == 1 ? ordered & ~(1 << 63) : ~ordered))
        case 3 where raw.last == 0: self = .string(Array(raw.dropLast()))
        default: return nil
        }
    }
}
