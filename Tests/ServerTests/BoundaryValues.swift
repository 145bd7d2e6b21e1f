import Engine
import Foundation
import TestSupport

/// One value put in a fuzzed field, as raw JSON text: a lone surrogate, invalid UTF-8 or a
/// 64-bit integer past a Double's precision are not `JSON` values. `name` says which value it
/// was in a failure message (the text itself may be a megabyte).
struct FuzzValue {
    let name: String
    let text: [UInt8]

    init(_ name: String, _ text: String) {
        self.name = name
        self.text = Array(text.utf8)
    }

    init(_ name: String, bytes: [UInt8]) {
        self.name = name
        text = bytes
    }

    init(_ name: String, json: JSON) {
        self.name = name
        text = json.bytes
    }
}

/// The boundary values of a field, from its schema in api/openapi.json: numbers at and past
/// the edges of floats and 64-bit integers, strings that are empty, huge or odd Unicode,
/// vectors of wrong lengths, zero, tiny or huge components, empty and huge arrays, deep
/// objects, nulls and wrong types. `dimensions` is the fuzzed index's, so that lengths near
/// it (and all-zero vectors of it) are tried.
struct BoundaryValues {
    let spec: OpenAPISpec
    let dimensions: Int
    /// A valid element for arrays of objects, to make arrays of max + 1 of them.
    var validItem: (JSON) -> JSON? = { _ in nil }

    /// Every value to try in a field of `schema` ($ref and oneOf resolved).
    func values(for schema: JSON) -> [FuzzValue] {
        let types = Set(resolvedTypes(schema))
        var values = [FuzzValue("null", "null")]
        // Wrong types: one of each the field does not take.
        for (type, value) in [("boolean", FuzzValue("true", "true")), ("string", FuzzValue("a string", "\"1\"")),
                              ("number", FuzzValue("the number 1", "1")), ("object", FuzzValue("an object", "{\"a\":1}")),
                              ("array", FuzzValue("an array", "[1]"))]
        where !types.contains(type) && !(type == "number" && types.contains("integer")) {
            values.append(value)
        }
        let schema = resolved(schema)
        if types.contains("number") || types.contains("integer") { values += numbers(schema) }
        if types.contains("string") { values += strings(schema) }
        if types.contains("array") { values += arrays(schema) }
        if types.contains("object") { values += objects() }
        if types.contains("boolean") { values += [FuzzValue("0 for a boolean", "0"), FuzzValue("\"true\"", "\"true\"")] }
        return values
    }

    private func resolved(_ schema: JSON) -> JSON {
        guard let reference = schema["$ref"]?.string, let name = reference.split(separator: "/").last,
              let target = spec.root["components"]?["schemas"]?[String(name)] else { return schema }
        return resolved(target)
    }

    private func resolvedTypes(_ schema: JSON) -> [String] {
        let schema = resolved(schema)
        if let options = schema["oneOf"]?.array { return options.flatMap(resolvedTypes) }
        return schema["type"]?.string.map { [$0] } ?? []
    }

    private func numbers(_ schema: JSON) -> [FuzzValue] {
        var values = ["0", "-1", "1", "-0", "1.5", "1e-45", "1e-30", "1e30", "1e300", "-1e300", "1e400",
                      "9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
                      "18446744073709551616", "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"1\""].map { FuzzValue($0, $0) }
        for bound in ["minimum", "maximum", "exclusiveMinimum"] {
            guard let n = schema[bound]?.number else { continue }
            values += [n - 1, n, n + 1].map { FuzzValue("\(bound) \($0 - n >= 0 ? "+" : "")\(Int($0 - n))", json: .number($0)) }
        }
        return values
    }

    private func strings(_ schema: JSON) -> [FuzzValue] {
        var values = [
            FuzzValue("empty string", "\"\""),
            Self.megabyteOfWords, Self.megabyteOfOneCharacter,
            FuzzValue("lone high surrogate", #""\ud800""#),
            FuzzValue("lone low surrogate", #""a\udc00b""#),
            FuzzValue("reversed surrogates", #""\ude00\ud83d""#),
            FuzzValue("escaped U+0000", #""a\u0000b""#),
            FuzzValue("RTL marks", "\"\\u202eabc\\u200f\u{202B}x\""),
            FuzzValue("combining marks", "\"e" + String(repeating: "\u{0301}", count: 1_000) + "\""),
            FuzzValue("emoji", "\"😀👩‍👩‍👧‍👦🏳️‍🌈\""),
            FuzzValue("escaped emoji", #""\ud83d\ude00""#),
            FuzzValue("invalid UTF-8", bytes: [0x22, 0xFF, 0xFE, 0xC0, 0x80, 0x22]),
            FuzzValue("path traversal", "\"../../x\""),
            FuzzValue("1,000 lines", "\"" + String(repeating: "a\\n", count: 1_000) + "\""),
        ]
        for case .string(let allowed) in schema["enum"]?.array ?? [] {
            values.append(FuzzValue("enum value in upper case", "\"\(allowed.uppercased())\""))
        }
        return values
    }

    private func arrays(_ schema: JSON) -> [FuzzValue] {
        let items = resolved(schema["items"] ?? [:])
        var values = [FuzzValue("empty array", "[]"), FuzzValue("array of null", "[null]")]
        if items["type"]?.string == "number" {
            let d = dimensions
            func vector(_ name: String, _ components: [String]) -> FuzzValue { FuzzValue(name, "[" + components.joined(separator: ",") + "]") }
            values += [
                vector("vector of 1 component", ["1"]),
                vector("vector of dimensions - 1", Array(repeating: "0.5", count: d - 1)),
                vector("vector of dimensions + 1", Array(repeating: "0.5", count: d + 1)),
                vector("all-zero vector", Array(repeating: "0", count: d)),
                vector("all -0 vector", Array(repeating: "-0", count: d)),
                vector("vector of 1e-30", Array(repeating: "1e-30", count: d)),
                vector("vector of one 1e-30", ["1e-30"] + Array(repeating: "0", count: d - 1)),
                vector("vector of 1e-45", Array(repeating: "1e-45", count: d)),
                vector("vector of 1e30", Array(repeating: "1e30", count: d)),
                vector("vector of 3e38", Array(repeating: "3e38", count: d)),
                vector("vector with 1e300", ["1e300"] + Array(repeating: "1", count: d - 1)),
                vector("vector with -1e300", ["-1e300"] + Array(repeating: "1", count: d - 1)),
                vector("vector with \"NaN\"", ["\"NaN\""] + Array(repeating: "1", count: d - 1)),
                vector("vector with \"Infinity\"", ["\"Infinity\""] + Array(repeating: "1", count: d - 1)),
                vector("vector with null", ["null"] + Array(repeating: "1", count: d - 1)),
                vector("vector with a nested array", ["[1]"] + Array(repeating: "1", count: d - 1)),
                vector("vector with a 64-bit integer", ["9223372036854775807"] + Array(repeating: "1", count: d - 1)),
                Self.hugeVector,
            ]
        } else if let max = schema["maxItems"]?.int, let item = validItem(items) {
            let text = String(decoding: item.bytes, as: UTF8.self)
            values.append(FuzzValue("maxItems + 1 items", "[" + Array(repeating: text, count: max + 1).joined(separator: ",") + "]"))
            values.append(FuzzValue("maxItems items", "[" + Array(repeating: text, count: max).joined(separator: ",") + "]"))
            values.append(Self.emptyObjects)
        } else {
            values.append(Self.nulls)
        }
        return values
    }

    private func objects() -> [FuzzValue] { Self.objectValues }

    // The large values are made once: every field shares them.
    static let megabyteOfWords = FuzzValue("1 MB string", "\"" + String(repeating: "abcdefgh ", count: 116_509) + "\"")
    static let megabyteOfOneCharacter = FuzzValue("1 MB of one character", "\"" + String(repeating: "x", count: 1 << 20) + "\"")
    static let hugeVector = FuzzValue("vector of 100,000 components", "[" + Array(repeating: "0.1", count: 100_000).joined(separator: ",") + "]")
    static let emptyObjects = FuzzValue("100,000 empty objects", "[" + Array(repeating: "{}", count: 100_000).joined(separator: ",") + "]")
    static let nulls = FuzzValue("100,000 nulls", "[" + Array(repeating: "null", count: 100_000).joined(separator: ",") + "]")
    static let objectValues = [
        FuzzValue("empty object", "{}"),
        FuzzValue("objects 31 deep", String(repeating: "{\"a\":", count: 31) + "1" + String(repeating: "}", count: 31)),
        FuzzValue("objects 100,000 deep", String(repeating: "{\"a\":", count: 100_000) + "1" + String(repeating: "}", count: 100_000)),
        FuzzValue("arrays 100,000 deep", String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)),
        FuzzValue("10,000 keys", "{" + (0..<10_000).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + "}"),
        FuzzValue("duplicate keys", #"{"a":1,"a":"2"}"#),
        FuzzValue("empty key and U+0000 key", #"{"":1,"\u0000":2}"#),
    ]
}
