import Foundation

extension JSON {
    /// Converts the `[String: Any]` shapes the CLI's `--json` builders make (dictionaries,
    /// arrays, strings, Bool, Int, Double, Float, NSNull, NSNumber) to a `JSON` value.
    @available(*, deprecated, message: "build the JSON value directly: unknown types become strings here")
    public init(any value: Any) {
        switch value {
        case let json as JSON: self = json
        case let b as Bool: self = .bool(b)
        case let i as Int: self = JSON(i)
        case let d as Double: self = .number(d)
        case let f as Float: self = .float(f)
        case let s as String: self = .string(s)
        case let a as [Any]: self = .array(a.map(JSON.init(any:)))
        case let o as [String: Any]: self = .object(o.mapValues(JSON.init(any:)))
        case is NSNull: self = .null
        case let n as NSNumber: self = .number(n.doubleValue)
        case let i as any BinaryInteger: self = Int64(exactly: i).map { .integer($0) } ?? .number(Double(i))
        case Optional<Any>.none: self = .null
        default: self = .string("\(value)")
        }
    }
}
