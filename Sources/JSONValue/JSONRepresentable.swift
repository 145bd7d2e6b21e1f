/// A value stored or sent as JSON, each type writing its own fields (no reflection, so the
/// field names on disk are in the code that reads them).
///
/// ```swift
/// extension Point: JSONRepresentable {
///     public init(json: JSON) throws(JSONDecodingError) {
///         let fields = try JSONFields(json, of: Point.self)
///         x = try fields["x"]
///         label = try fields.optional("label")
///     }
///     public var json: JSON { ["x": JSON(x), "label": JSON(label)] }
/// }
/// ```
public protocol JSONRepresentable {
    init(json: JSON) throws(JSONDecodingError)
    var json: JSON { get }
}

/// Why a JSON value is not the record it should be: the record, the field's path inside it,
/// and what is wrong ("GraphRecord field ef_construction: expected a whole number, got string").
public struct JSONDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var record: String?
    /// Dotted, with indexes: `measurements[2].plan.ef`; empty for the value itself.
    public var field: String
    public var problem: String

    public init(record: String? = nil, field: String = "", problem: String) {
        self.record = record
        self.field = field
        self.problem = problem
    }

    public var description: String {
        let place = [record, field.isEmpty ? nil : "field \(field)"].compactMap { $0 }
        return place.isEmpty ? problem : place.joined(separator: " ") + ": " + problem
    }

    /// The error as seen from the enclosing value: `step` ("plan", "[2]") goes in front.
    func inside(_ step: String) -> JSONDecodingError {
        var outer = self
        outer.field = field.isEmpty ? step : field.hasPrefix("[") ? step + field : step + "." + field
        return outer
    }

    static func expected(_ what: String, got value: JSON) -> JSONDecodingError {
        JSONDecodingError(problem: "expected \(what), got \(value.typeName)")
    }
}

/// The fields of one JSON object being read as a record of type `record`: errors name it and
/// the field.
public struct JSONFields {
    public let members: [String: JSON]
    let record: String

    public init<Record>(_ json: JSON, of record: Record.Type) throws(JSONDecodingError) {
        self.record = String(describing: record)
        guard let members = json.object else {
            throw JSONDecodingError(record: self.record, problem: "expected an object, got \(json.typeName)")
        }
        self.members = members
    }

    /// The field `key` (or, in records written before it was renamed, `formerly`), which
    /// must be there.
    public subscript<Value: JSONRepresentable>(key: String, formerly old: String? = nil) -> Value {
        get throws(JSONDecodingError) {
            guard let (name, value) = member(key, old) else { throw JSONDecodingError(record: record, field: key, problem: "missing") }
            return try decode(value, name)
        }
    }

    /// The field `key` (or `formerly`), nil when it is missing or null.
    public func optional<Value: JSONRepresentable>(_ key: String, formerly old: String? = nil) throws(JSONDecodingError) -> Value? {
        guard let (name, value) = member(key, old), !value.isNull else { return nil }
        return try decode(value, name) as Value
    }

    private func member(_ key: String, _ old: String?) -> (String, JSON)? {
        if let value = members[key] { return (key, value) }
        return old.flatMap { old in members[old].map { (old, $0) } }
    }

    private func decode<Value: JSONRepresentable>(_ value: JSON, _ key: String) throws(JSONDecodingError) -> Value {
        do {
            return try Value(json: value)
        } catch {
            var named = error.inside(key)
            named.record = record
            throw named
        }
    }
}

extension JSON {
    /// An object of the members whose value is not nil: optional fields are left out.
    public static func object(dropping members: [String: JSON?]) -> JSON {
        .object(members.compactMapValues { $0 })
    }
}

extension JSON: JSONRepresentable {
    public init(json: JSON) { self = json }
    public var json: JSON { self }
}

extension String: JSONRepresentable {
    public init(json: JSON) throws(JSONDecodingError) {
        guard let string = json.string else { throw .expected("a string", got: json) }
        self = string
    }
    public var json: JSON { .string(self) }
}

extension Bool: JSONRepresentable {
    public init(json: JSON) throws(JSONDecodingError) {
        guard let bool = json.bool else { throw .expected("true or false", got: json) }
        self = bool
    }
    public var json: JSON { .bool(self) }
}

extension Double: JSONRepresentable {
    public init(json: JSON) throws(JSONDecodingError) {
        guard let number = json.number else { throw .expected("a number", got: json) }
        self = number
    }
    public var json: JSON { .number(self) }
}

extension Float: JSONRepresentable {
    public init(json: JSON) throws(JSONDecodingError) {
        guard let number = json.float else { throw .expected("a number", got: json) }
        self = number
    }
    public var json: JSON { .float(self) }
}

/// Whole numbers: read exactly, refused when fractional or out of the type's range.
public protocol JSONInteger: FixedWidthInteger, JSONRepresentable {}

extension JSONInteger {
    public init(json: JSON) throws(JSONDecodingError) {
        guard let whole = json.int64 else { throw .expected("a whole number", got: json) }
        guard let value = Self(exactly: whole) else {
            throw JSONDecodingError(problem: "\(whole) is out of range (\(Self.min)...\(Self.max))")
        }
        self = value
    }
    public var json: JSON { Int64(exactly: self).map { .integer($0) } ?? .number(Double(self)) }
}

extension Int: JSONInteger {}
extension Int64: JSONInteger {}
extension UInt32: JSONInteger {}

extension Array: JSONRepresentable where Element: JSONRepresentable {
    public init(json: JSON) throws(JSONDecodingError) {
        guard let items = json.array else { throw .expected("an array", got: json) }
        self = []
        reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            do {
                append(try Element(json: item))
            } catch {
                throw error.inside("[\(i)]")
            }
        }
    }
    public var json: JSON { .array(map(\.json)) }
}
