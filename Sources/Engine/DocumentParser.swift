import Foundation
import Store

/// Turns one JSONL line, or one element of the daemon's `documents` array, into a
/// `DocumentInput`: `{"id": "...", "text": "...", "meta": {...}, "vector": [...]}` with `id`
/// and at least one of `text` and `vector`. Any other top-level field (say `title`) is kept
/// in the metadata, beside `meta`'s own fields, which win on a clash. Errors name the file,
/// line and field.
public struct DocumentParser {
    public let source: String

    public init(source: String) { self.source = source }

    static let knownFields: Set<String> = ["id", "text", "meta", "vector"]

    /// nil for a blank line; throws `badDocument` for anything unusable.
    public func parse(_ bytes: ArraySlice<UInt8>, line: Int) throws -> DocumentInput? {
        guard let fields = try DocumentParser.jsonObject(bytes, source: source, line: line) else { return nil }
        return try DocumentParser.document(fields) { field, message in
            EngineError.badDocument(source: source, line: line, field: field, message: message)
        }
    }

    /// The document an object describes; `fail(field, message)` makes the error to throw.
    public static func document(_ fields: [String: JSON], fail: (String?, String) -> Error) throws -> DocumentInput {
        let id = try DocumentParser.id(fields["id"]) { fail("id", $0) }
        var text = ""
        switch fields["text"] {
        case .string(let s): text = s
        case nil, .null: break
        default: throw fail("text", "must be a string")
        }
        var metaFields = fields.filter { !knownFields.contains($0.key) }
        switch fields["meta"] {
        case .object(let object): metaFields.merge(object) { _, explicit in explicit }
        case nil, .null: break
        default: throw fail("meta", "must be a JSON object")
        }
        let meta = metaFields.isEmpty ? nil : JSON.object(metaFields).serialized
        var vector: [Float]?
        if let raw = fields["vector"], raw != .null {
            do {
                vector = try DocumentParser.vector(from: raw).get()
            } catch {
                throw fail("vector", error.message)
            }
        }
        guard fields["text"]?.string != nil || vector != nil else {
            throw fail("text", "is missing: each document needs \"text\" or \"vector\"")
        }
        return DocumentInput(id: id, text: text, meta: meta, vector: vector)
    }

    /// A document id, wherever one is given (a document, the ids of a bulk get or delete):
    /// a non-empty string of at most `IndexStore.maxIDBytes` bytes, or a whole number (its
    /// digits); `fail(message)` makes the error to throw.
    public static func id(_ value: JSON?, fail: (String) -> Error) throws -> String {
        switch value {
        case .string(let s) where s.utf8.count > IndexStore.maxIDBytes:
            throw fail("is \(s.utf8.count) bytes: ids may be at most \(IndexStore.maxIDBytes) bytes of UTF-8")
        case .string(let s) where !s.isEmpty: return s
        case .integer(let n): return String(n)
        case .number(let n) where n.rounded() == n && abs(n) < 1e15: return String(Int64(n))
        case nil: throw fail("is missing")
        default: throw fail("must be a non-empty string")
        }
    }

    /// The JSON object on one line of a JSONL file, or nil for a blank line; throws
    /// `badDocument` naming the line for invalid UTF-8, invalid JSON or a non-object.
    static func jsonObject(_ bytes: ArraySlice<UInt8>, source: String, line: Int) throws -> [String: JSON]? {
        func fail(_ message: String) -> EngineError { .badDocument(source: source, line: line, field: nil, message: message) }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return nil }
        let object: JSON
        do {
            object = try JSON.parse(bytes)
        } catch {
            if error.message.hasPrefix("invalid UTF-8") {
                throw fail("is not valid UTF-8 (byte \(error.offset + 1) of the line): re-encode the file as UTF-8")
            }
            let text = String(decoding: bytes, as: UTF8.self)
            if text.contains("NaN") || text.contains("Infinity") {
                throw fail("is not valid JSON: NaN and Infinity are not JSON numbers (vectors must be finite)")
            }
            throw fail("is not valid JSON (column \(error.column): \(error.message)): each line must be one JSON object")
        }
        guard let fields = object.object else { throw fail("is not a JSON object") }
        return fields
    }

    /// What is wrong with a vector, in words for the user.
    public struct VectorProblem: Error {
        public let message: String
    }

    /// A JSON array of numbers as floats (the form of `vector` in documents and queries),
    /// refused unless `VectorValues` accepts it.
    public static func vector(from raw: JSON) -> Result<[Float], VectorProblem> {
        guard case .array(let numbers) = raw, !numbers.isEmpty else {
            return .failure(VectorProblem(message: "must be a non-empty array of numbers"))
        }
        var values = [Float]()
        values.reserveCapacity(numbers.count)
        for (i, element) in numbers.enumerated() {
            guard let value = element.float else {
                return .failure(VectorProblem(message: "element \(i) is not a number"))
            }
            values.append(value)
        }
        if let problem = VectorValues.problem(values) { return .failure(VectorProblem(message: problem)) }
        return .success(values)
    }
}
