/// A JSON value: what the daemon's API reads and writes, what `--json` prints, and what the
/// index's records are stored as.
///
/// Its own parser and writer rather than Foundation's: `JSONSerialization` takes about 1 ms
/// (and `JSONDecoder` 0.2 ms) to read one 384-float query on Linux, longer than the search
/// it carries; this one takes a few µs, limits nesting depth, and says where input is bad.
///
/// A number remembers what it is, so it prints as the shortest text that reads back the
/// same: an integer as its digits, a Float as `0.8123` (not `0.81229996681213379`), a Double
/// as Swift's shortest round-trip form. Two numbers are equal when they print the same.
///
/// ```swift
/// let value = try JSON.parse(Array(#"{"k": 5, "vector": [0.1, 0.2]}"#.utf8))
/// value["k"]?.int                      // 5
/// JSON.object(["ok": true]).serialized // {"ok":true}
/// ```
public enum JSON: Sendable {
    case null
    case bool(Bool)
    /// A whole number written without a fraction or exponent, in Int64's range.
    case integer(Int64)
    case number(Double)
    case float(Float)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    public subscript(key: String) -> JSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var array: [JSON]? { if case .array(let a) = self { a } else { nil } }
    public var object: [String: JSON]? { if case .object(let o) = self { o } else { nil } }
    public var isNull: Bool { if case .null = self { true } else { false } }

    /// Any number as a Double.
    public var number: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .number(let d): d
        case .float(let f): Double(f)
        default: nil
        }
    }

    /// Any number as the nearest Float (a Double read from text rounds to the Float that
    /// text names).
    public var float: Float? {
        switch self {
        case .integer(let i): Float(i)
        case .number(let d): Float(d)
        case .float(let f): f
        default: nil
        }
    }

    /// The number as an Int64 when it is a whole number in Int64's range.
    public var int64: Int64? {
        switch self {
        case .integer(let i): i
        case .number(let d): Int64(exactly: d)
        case .float(let f): Int64(exactly: f)
        default: nil
        }
    }

    /// The number as an Int when it is a whole number in Int's range.
    public var int: Int? { int64.flatMap { Int(exactly: $0) } }

    /// The JSON type's name, for error messages ("expected a number, got string").
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer, .number, .float: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

extension JSON: Equatable {
    /// Numbers are equal when they print the same (`5` and `5.0`, `Float(0.8123)` and
    /// `0.8123`); other values when they are the same.
    public static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x == y
        case (.integer(let x), .integer(let y)): x == y
        case (.integer, .number), (.integer, .float), (.number, .integer), (.number, .number), (.number, .float),
             (.float, .integer), (.float, .number), (.float, .float):
            a.bytes == b.bytes
        default: false
        }
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension JSON {
    public init(_ value: Int) { self = .integer(Int64(value)) }
    public init(_ value: Double?) { self = value.map { .number($0) } ?? .null }
    public init(_ value: String?) { self = value.map { .string($0) } ?? .null }
}
