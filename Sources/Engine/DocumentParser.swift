import Foundation

/// Turns one JSONL line into a `DocumentInput`:
/// `{"id": "...", "text": "...", "meta": {...}, "vector": [...]}` with `id` and at least one
/// of `text` and `vector`. Any other top-level field (say `title`) is kept in the metadata,
/// beside `meta`'s own fields, which win on a clash. Errors name the file, line and field.
public struct DocumentParser {
    public let source: String

    public init(source: String) { self.source = source }

    static let knownFields: Set<String> = ["id", "text", "meta", "vector"]

    /// nil for a blank line; throws `badDocument` for anything unusable.
    public func parse(_ bytes: ArraySlice<UInt8>, line: Int) throws -> DocumentInput? {
        func fail(_ field: String?, _ message: String) -> EngineError {
            .badDocument(source: source, line: line, field: field, message: message)
        }
        guard let fields = try DocumentParser.jsonObject(bytes, source: source, line: line) else { return nil }

        let id: String
        switch fields["id"] {
        case let s as String where !s.isEmpty: id = s
        case let n as NSNumber where !n.isJSONBoolean && n.doubleValue == n.doubleValue.rounded() && abs(n.doubleValue) < 1e15:
            id = String(n.int64Value)
        case nil: throw fail("id", "is missing")
        default: throw fail("id", "must be a non-empty string")
        }
        var text = ""
        if let raw = fields["text"], !(raw is NSNull) {
            guard let s = raw as? String else { throw fail("text", "must be a string") }
            text = s
        }
        var metaFields = fields.filter { !DocumentParser.knownFields.contains($0.key) }
        if let raw = fields["meta"], !(raw is NSNull) {
            guard let object = raw as? [String: Any] else { throw fail("meta", "must be a JSON object") }
            metaFields.merge(object) { _, explicit in explicit }
        }
        var meta: String?
        if !metaFields.isEmpty {
            let data = try JSONSerialization.data(withJSONObject: metaFields, options: [.sortedKeys, .withoutEscapingSlashes])
            meta = String(decoding: data, as: UTF8.self)
        }
        var vector: [Float]?
        if let raw = fields["vector"], !(raw is NSNull) {
            do {
                vector = try DocumentParser.vector(from: raw).get()
            } catch {
                throw fail("vector", error.message)
            }
        }
        guard fields["text"] is String || vector != nil else {
            throw fail("text", "is missing: each document needs \"text\" or \"vector\"")
        }
        return DocumentInput(id: id, text: text, meta: meta, vector: vector)
    }

    /// The JSON object on one line of a JSONL file, or nil for a blank line; throws
    /// `badDocument` naming the line for invalid UTF-8, invalid JSON or a non-object.
    static func jsonObject(_ bytes: ArraySlice<UInt8>, source: String, line: Int) throws -> [String: Any]? {
        func fail(_ message: String) -> EngineError { .badDocument(source: source, line: line, field: nil, message: message) }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return nil }
        if let offset = DocumentParser.firstInvalidUTF8(bytes) {
            throw fail("is not valid UTF-8 (byte \(offset + 1) of the line): re-encode the file as UTF-8")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            let text = String(decoding: bytes, as: UTF8.self)
            if text.contains("NaN") || text.contains("Infinity") {
                throw fail("is not valid JSON: NaN and Infinity are not JSON numbers (vectors must be finite)")
            }
            throw fail("is not valid JSON: each line must be one JSON object")
        }
        guard let fields = object as? [String: Any] else { throw fail("is not a JSON object") }
        return fields
    }

    /// What is wrong with a vector, in words for the user.
    public struct VectorProblem: Error {
        public let message: String
    }

    /// A JSON array of finite numbers as floats (the form of `vector` in documents and queries).
    public static func vector(from raw: Any) -> Result<[Float], VectorProblem> {
        guard let numbers = raw as? [Any], !numbers.isEmpty else {
            return .failure(VectorProblem(message: "must be a non-empty array of numbers"))
        }
        var values = [Float]()
        values.reserveCapacity(numbers.count)
        for (i, element) in numbers.enumerated() {
            guard let n = element as? NSNumber, !n.isJSONBoolean else {
                return .failure(VectorProblem(message: "element \(i) is not a number"))
            }
            let v = n.floatValue
            guard v.isFinite else { return .failure(VectorProblem(message: "element \(i) is not finite (NaN or out of float range)")) }
            values.append(v)
        }
        return .success(values)
    }

    /// Offset of the first byte that is not valid UTF-8, or nil when all is.
    static func firstInvalidUTF8(_ bytes: ArraySlice<UInt8>) -> Int? {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }
}

extension NSNumber {
    /// JSON true/false parse to NSNumber too; `is Bool` would also match 0 and 1.
    var isJSONBoolean: Bool { objCType.pointee == CChar(UInt8(ascii: "c")) }
}
