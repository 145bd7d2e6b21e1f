import Engine
import Foundation
import Search
import Server
import TestSupport

/// A request of the value fuzz, and what to call it in a failure ("POST
/// /indexes/{name}/search with queries[0].vector = all-zero vector").
struct FuzzRequest {
    let method: String
    /// As sent: percent-encoded.
    let path: String
    let body: [UInt8]?
    let description: String
}

/// One step into a request body: an object's member or an array's element.
enum FieldStep: CustomStringConvertible {
    case key(String)
    case index(Int)

    var description: String {
        switch self {
        case .key(let name): ".\(name)"
        case .index(let i): "[\(i)]"
        }
    }
}

/// The indexes the fuzz sends requests to, by what their valid requests look like.
struct FuzzTarget {
    let name: String
    let dimensions: Int
    /// Texts embedded by the daemon's model (else vectors of the caller's own).
    let text: Bool
}

/// The value fuzz's requests, generated from api/openapi.json: for each route and each field
/// of its request schema (and each path parameter), a valid request with that one field set to
/// each of its boundary values, so a finding names the field; now and then several fields at
/// once. Routes and fields come from the spec: a route added there is fuzzed without a change
/// here, as long as its request schema has a valid example in `validBody`.
struct SpecRequests {
    let spec: OpenAPISpec
    let targets: [FuzzTarget]
    /// A name no fuzz request touches otherwise: PUT and DELETE of an index work on their own.
    let scratchIndexPrefix = "scratch"

    /// A mutable site: a route, and a field of its body or its path.
    struct Site {
        let method: String
        let template: String
        let field: [FieldStep]
        /// The field's schema (body fields), or nil for a path parameter named by `field`.
        let schema: JSON?

        var fieldName: String {
            let text = field.map(\.description).joined()
            return text.hasPrefix(".") ? String(text.dropFirst()) : text
        }
    }

    /// Every site of every route in the spec, sorted so a seed repeats a run.
    var sites: [Site] {
        var sites: [Site] = []
        let paths = spec.root["paths"]?.object ?? [:]
        for template in paths.keys.sorted() {
            let operations = paths[template]?.object ?? [:]
            for method in operations.keys.sorted() where method != "parameters" {
                for parameter in template.split(separator: "/") where parameter.hasPrefix("{") {
                    sites.append(Site(method: method.uppercased(), template: template, field: [.key(String(parameter.dropFirst().dropLast()))], schema: nil))
                }
                guard let schema = operations[method]?["requestBody"]?["content"]?["application/json"]?["schema"] else { continue }
                sites += bodySites(schema, at: []).map { Site(method: method.uppercased(), template: template, field: $0.0, schema: $0.1) }
            }
        }
        return sites
    }

    /// Every field of `schema` (and the fields of its arrays' first objects), each with its
    /// schema; plus a field the schema does not know.
    private func bodySites(_ schema: JSON, at path: [FieldStep]) -> [([FieldStep], JSON)] {
        let schema = resolved(schema)
        guard let properties = schema["properties"]?.object else { return [] }
        var sites: [([FieldStep], JSON)] = [(path + [.key("not_in_spec")], ["type": "boolean"])]
        for (name, property) in properties.sorted(by: { $0.key < $1.key }) {
            sites.append((path + [.key(name)], property))
            if property["type"]?.string == "array", let items = property["items"], resolved(items)["properties"] != nil {
                sites += bodySites(items, at: path + [.key(name), .index(0)])
            }
        }
        return sites
    }

    func resolved(_ schema: JSON) -> JSON {
        guard let reference = schema["$ref"]?.string, let name = reference.split(separator: "/").last,
              let target = spec.root["components"]?["schemas"]?[String(name)] else { return schema }
        return resolved(target)
    }

    /// Documents the fuzz writes are upserts over this many ids (the first ones are inserts), so
    /// a run of a million requests keeps its indexes small: with an id per request they grew by
    /// every write. (With this, the million ran at 406/s at first and 367/s from halfway on.)
    static let writtenIds = 1_000

    /// A valid body of request schema `name` for `target`; `n` varies ids and vectors.
    func validBody(_ schema: JSON, for target: FuzzTarget, n: Int) -> JSON {
        let name = schema["$ref"]?.string?.split(separator: "/").last.map(String.init) ?? "?"
        let search: JSON = target.text ? ["query": "a query of a few words", "k": 3] : ["vector": vectorJSON(n, target), "k": 3]
        switch name {
        case "CreateIndex": return ["dimensions": 8]
        case "SearchRequest": return search
        case "BatchSearchRequest": return ["queries": [search, search]]
        case "EmbedRequest": return target.text ? ["texts": ["a text of the value fuzz"], "index": .string(target.name)] : ["texts": ["a text"]]
        case "GetDocumentsRequest": return ["ids": [.string("fuzz-\(n % 50)"), "fuzz-missing"], "include_vectors": true]
        case "DeleteDocumentsRequest": return ["ids": [.string("fuzz-\(n % 50)"), "fuzz-missing"]]
        case "DocumentInput", "UpsertRequest":
            var document: JSON = ["id": .string("fuzz-\(n % Self.writtenIds)"), "text": "a document of the value fuzz", "meta": ["n": JSON(n)]]
            if !target.text, case .object(var members) = document {
                members["vector"] = vectorJSON(n, target)
                document = .object(members)
            }
            return name == "UpsertRequest" ? ["documents": [document]] : document
        default:
            // A new request schema in the spec: give it a valid example above.
            return ["no example for schema": .string(name)]
        }
    }

    func vectorJSON(_ n: Int, _ target: FuzzTarget) -> JSON { .array(vector(n, dims: target.dimensions).map(JSON.float)) }

    /// The request of `site` with its field set to `values` (or several sites of one route,
    /// each with its value), sent to `target`.
    func request(_ changes: [(Site, FuzzValue)], target: FuzzTarget, n: Int) -> FuzzRequest {
        let site = changes[0].0
        let operation = spec.root["paths"]?[site.template]?[site.method.lowercased()]
        var parameters: [String: String] = ["name": target.name, "id": "fuzz-\(n % 50)"]
        if site.method == "PUT" || (site.method == "DELETE" && !site.template.contains("{id}")) {
            parameters["name"] = "\(scratchIndexPrefix)-\(n)"
        }
        var body = (operation?["requestBody"]?["content"]?["application/json"]?["schema"]).map { validBody($0, for: target, n: n) }
        var raw: [(String, [UInt8])] = []
        for (i, (site, value)) in changes.enumerated() {
            if site.schema == nil, case .key(let parameter) = site.field[0] {
                parameters[parameter] = String(decoding: value.text, as: UTF8.self)
            } else if body != nil {
                let placeholder = "@@fuzz\(i)@@"
                body = body!.setting(site.field[...], to: .string(placeholder))
                raw.append(("\"\(placeholder)\"", value.text))
            }
        }
        var path = site.template
        for (name, value) in parameters { path = path.replacingOccurrences(of: "{\(name)}", with: value) }
        let bytes = body.map { splice(raw, into: $0.bytes) }
        let fields = changes.map { "\($0.0.fieldName) = \($0.1.name)" }.joined(separator: ", ")
        return FuzzRequest(method: site.method, path: path, body: bytes,
                           description: "\(site.method) \(site.template) on \(target.name) with \(fields)")
    }

    /// The values of a path parameter: names that are not names, percent-encoded as sent.
    static let pathValues: [FuzzValue] = [
        FuzzValue("empty", ""), FuzzValue("\".\"", "."), FuzzValue("\"..\"", ".."), FuzzValue("encoded ..", "%2e%2e"),
        FuzzValue("\"backups\"", "backups"), FuzzValue("encoded slash", "a%2Fb"), FuzzValue("encoded ../", "..%2F..%2Fx"),
        FuzzValue("65 characters", String(repeating: "a", count: 65)), FuzzValue("64 characters", String(repeating: "b", count: 64)),
        FuzzValue("511 bytes", String(repeating: "c", count: 511)), FuzzValue("512 bytes", String(repeating: "c", count: 512)),
        FuzzValue("8,000 bytes", String(repeating: "d", count: 8_000)), FuzzValue("encoded U+0000", "a%00b"),
        FuzzValue("encoded invalid UTF-8", "%FF%FE"), FuzzValue("encoded lone surrogate", "%ED%A0%80"),
        FuzzValue("encoded RTL mark", "%E2%80%AEx"), FuzzValue("encoded emoji", "%F0%9F%98%80"), FuzzValue("bad escape", "%zz%"),
        FuzzValue("encoded space", "a%20b"), FuzzValue("\"-\"", "-"), FuzzValue("encoded #", "a%23b"), FuzzValue("encoded ?", "a%3Fb"),
        FuzzValue("query string", "x?a=1&b"), FuzzValue("fragment", "x#y"),
    ]

    /// The values to try at `site` of a request to `target`.
    func values(_ site: Site, target: FuzzTarget) -> [FuzzValue] {
        guard let schema = site.schema else { return Self.pathValues }
        var boundary = BoundaryValues(spec: spec, dimensions: target.dimensions)
        boundary.validItem = { [self] items in validBody(items, for: target, n: 0) }
        var values = boundary.values(for: schema)
        if site.fieldName == "documents" {
            values += duplicateIDs(dimensions: target.dimensions)
        }
        return values
    }

    /// Documents that repeat an id within one write (issue 16, crash 2 on a graph index).
    private func duplicateIDs(dimensions: Int) -> [FuzzValue] {
        let target = FuzzTarget(name: "", dimensions: dimensions, text: false)
        func document(_ id: JSON, _ n: Int) -> JSON { ["id": id, "text": "dup", "vector": vectorJSON(n, target)] }
        return [
            FuzzValue("one id twice", json: [document("dup", 1), document("dup", 2)]),
            FuzzValue("one id 100 times", json: .array((0..<100).map { document("dup100", $0) })),
            FuzzValue("an id as string and integer", json: [document("7", 1), document(7, 2)]),
        ]
    }

    /// `body` with each placeholder replaced by its raw text. The placeholders are found in the
    /// body as built, which is small, so a value of megabytes is copied but never searched (a
    /// search through the text already spliced in took 83% of a run's time).
    private func splice(_ replacements: [(placeholder: String, text: [UInt8])], into body: [UInt8]) -> [UInt8] {
        let found = replacements.compactMap { replacement in
            position(of: Array(replacement.placeholder.utf8), in: body).map { (start: $0, end: $0 + replacement.placeholder.utf8.count, text: replacement.text) }
        }
        var out: [UInt8] = [], copied = 0
        for splice in found.sorted(by: { $0.start < $1.start }) {
            out += body[copied..<splice.start]
            out += splice.text
            copied = splice.end
        }
        return out + body[copied...]
    }

    private func position(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        haystack.withUnsafeBufferPointer { h in
            needle.withUnsafeBufferPointer { n in
                guard let first = n.first, h.count >= n.count else { return nil }
                for start in 0...(h.count - n.count) where h[start] == first {
                    if memcmp(h.baseAddress! + start, n.baseAddress!, n.count) == 0 { return start }
                }
                return nil
            }
        }
    }
}

extension JSON {
    /// This value with the field at `path` set to `value` (created when absent).
    func setting(_ path: ArraySlice<FieldStep>, to value: JSON) -> JSON {
        guard let step = path.first else { return value }
        switch (step, self) {
        case (.key(let name), .object(var members)):
            members[name] = (members[name] ?? .null).setting(path.dropFirst(), to: value)
            return .object(members)
        case (.index(let i), .array(var items)) where i < items.count:
            items[i] = items[i].setting(path.dropFirst(), to: value)
            return .array(items)
        default:
            return self
        }
    }
}

/// What the spec allows as an answer to a request: the statuses of the route the daemon
/// resolves the path to (a mutated name may make it another route, or none).
struct SpecStatuses {
    let spec: OpenAPISpec

    /// The route's template for `path` as sent, and its documented statuses for `method`
    /// (405's for a method the route does not take; 404 alone when no route matches).
    func allowed(_ method: String, _ path: String) -> (route: String, statuses: Set<Int>, operation: JSON?) {
        let segments = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
            .split(separator: "/").map(String.init)
        // Literal segments match before parameters ("documents/get" before "documents/{id}"),
        // as OpenAPI has it, unless only the parameter's route takes the method (a GET of the
        // document with id "get").
        let matching = (spec.root["paths"]?.object ?? [:]).filter { template, _ in
            let parts = template.split(separator: "/")
            return parts.count == segments.count && zip(parts, segments).allSatisfy({ $0.hasPrefix("{") || $0 == $1 })
        }.sorted { $0.key.filter { $0 == "{" }.count < $1.key.filter { $0 == "{" }.count }
        if let (template, operation) = matching.lazy.compactMap({ template, operations in operations[method.lowercased()].map { (template, $0) } }).first {
            return (template, Set((operation["responses"]?.object ?? [:]).keys.compactMap { Int($0) }), operation)
        }
        if let (template, operations) = matching.first {
            let others = (operations.object ?? [:]).values.compactMap { $0["responses"]?.object }
            let documents405 = others.contains { $0["405"] != nil }
            return (template, documents405 ? [405, 413, 403] : [], nil)
        }
        return ("(no route)", [404, 413, 403], nil)
    }
}
