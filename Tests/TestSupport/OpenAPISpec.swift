import Engine
import Foundation

/// api/openapi.json, the one source of truth for the daemon's field names, and a checker
/// of answers against its schemas (the subset the spec uses: $ref, type, nullable,
/// properties, required, additionalProperties, items, enum, oneOf).
public struct OpenAPISpec {
    public let root: JSON

    public static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    public init() throws {
        let data = try Data(contentsOf: OpenAPISpec.repositoryRoot.appendingPathComponent("api/openapi.json"))
        root = try JSON.parse(data)
    }

    /// The schema of the answer to `method path` with `status` (path as in the spec, e.g.
    /// "/indexes/{name}/search"); nil when the spec does not describe it.
    public func responseSchema(_ method: String, _ path: String, status: Int) -> JSON? {
        root["paths"]?[path]?[method.lowercased()]?["responses"]?[String(status)]?["content"]?["application/json"]?["schema"]
    }

    /// Every way `value` breaks `schema`, as "path: problem" lines (empty when it conforms).
    public func problems(_ value: JSON, _ schema: JSON, at path: String = "$") -> [String] {
        if let reference = schema["$ref"]?.string {
            let name = String(reference.split(separator: "/").last!)
            guard let target = root["components"]?["schemas"]?[name] else { return ["\(path): unknown schema \(reference)"] }
            return problems(value, target, at: path)
        }
        if let options = schema["oneOf"]?.array {
            return options.contains { problems(value, $0, at: path).isEmpty } ? [] : ["\(path): matches none of oneOf"]
        }
        if value == .null { return schema["nullable"]?.bool == true ? [] : ["\(path): null is not allowed"] }
        if let allowed = schema["enum"]?.array, !allowed.contains(value) { return ["\(path): \(value.serialized) is not one of the enum"] }
        switch (schema["type"]?.string, value) {
        case ("string", .string), ("boolean", .bool), ("number", .integer), ("number", .number), ("number", .float): return []
        case ("integer", .integer): return []
        case ("integer", .number), ("integer", .float):
            return value.int64 != nil ? [] : ["\(path): \(value.serialized) is not an integer"]
        case ("array", .array(let items)):
            guard let itemSchema = schema["items"] else { return [] }
            return items.enumerated().flatMap { problems($1, itemSchema, at: "\(path)[\($0)]") }
        case ("object", .object(let members)):
            let properties = schema["properties"]?.object ?? [:]
            var found = (schema["required"]?.array ?? []).compactMap(\.string).filter { members[$0] == nil }
                .map { "\(path): required field \($0) is missing" }
            for (key, member) in members {
                if let property = properties[key] {
                    found += problems(member, property, at: "\(path).\(key)")
                } else if schema["additionalProperties"] == .bool(false) {
                    found.append("\(path): field \(key) is not in the spec")
                }
            }
            return found
        case (nil, _): return []
        default: return ["\(path): expected \(schema["type"]?.string ?? "?"), got \(value.typeName)"]
        }
    }
}
