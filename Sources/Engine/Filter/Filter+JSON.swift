import Store

/// The filter language's JSON: `{"field": NAME, OP: VALUE}` with one OP of eq, ne, in,
/// range, prefix, glob, exists; `{"and": [...]}`, `{"or": [...]}`, `{"not": F}`. The one
/// place a filter is checked: errors name the part, as a path (`filter.and[1].range.gte`).
extension Filter {
    static let combinators = ["and", "or", "not"]
    static let operators = ["eq", "ne", "in", "range", "prefix", "glob", "exists"]

    /// Parses and checks `json`; `path` names it in errors. Throws `EngineError.invalidRequest`.
    public init(json: JSON, path: String = "filter") throws {
        try self.init(json: json, path: path, depth: 1)
    }

    private init(json: JSON, path: String, depth: Int) throws {
        guard depth <= Filter.maxDepth else {
            throw Filter.invalid(path, "is nested deeper than \(Filter.maxDepth) levels: flatten the and/or/not")
        }
        guard let object = json.object else {
            throw Filter.invalid(path, #"must be an object such as {"field": "ext", "eq": "md"} or {"and": [...]}, got \#(json.typeName)"#)
        }
        if let unknown = object.keys.sorted().first(where: { !(Filter.combinators + Filter.operators + ["field"]).contains($0) }) {
            throw Filter.invalid("\(path).\(unknown)", "is not part of a filter: use field with one of \(Filter.operators.joined(separator: ", ")), or one of and, or, not")
        }
        let given = object.keys.filter { Filter.combinators.contains($0) }
        if let combinator = given.first {
            guard object.count == 1 else {
                throw Filter.invalid(path, "holds \(object.keys.sorted().joined(separator: ", ")): \(combinator) stands alone; put the other tests inside it")
            }
            let member = "\(path).\(combinator)"
            guard combinator != "not" else {
                self = .not(try Filter(json: object[combinator] ?? .null, path: member, depth: depth + 1))
                return
            }
            let members = try Filter.array(object[combinator], at: member, count: 1...Filter.maxMembers, of: "filters")
            let filters = try members.enumerated().map { i, json in try Filter(json: json, path: "\(member)[\(i)]", depth: depth + 1) }
            self = combinator == "and" ? .and(filters) : .or(filters)
            return
        }
        self = .field(try Filter.fieldName(object["field"], at: "\(path).field"), try FieldTest(object, path: path))
    }

    /// Parses a filter written as JSON text (`mrl search --filter`).
    public init(text: String, path: String = "filter") throws {
        let json: JSON
        do {
            json = try JSON.parse(Array(text.utf8))
        } catch {
            throw Filter.invalid(path, "is not JSON (\(error)): write it as {\"field\": \"ext\", \"eq\": \"md\"}, quoted for the shell")
        }
        try self.init(json: json, path: path)
    }

    /// The API's shape (what the CLI sends a daemon).
    public var json: JSON {
        switch self {
        case .field(let name, let test):
            let (op, value) = test.json
            return .object(["field": .string(name), op: value])
        case .and(let filters): return ["and": .array(filters.map(\.json))]
        case .or(let filters): return ["or": .array(filters.map(\.json))]
        case .not(let filter): return ["not": filter.json]
        }
    }

    static func invalid(_ path: String, _ message: String) -> EngineError {
        .invalidRequest(field: path, message: message)
    }

    private static func fieldName(_ json: JSON?, at path: String) throws -> String {
        guard let json else { throw invalid(path, "is missing: name the meta field to test, e.g. \"path\" or \"ext\"") }
        guard let name = json.string, (1...FieldValue.maxFieldNameBytes).contains(name.utf8.count), !name.utf8.contains(0) else {
            throw invalid(path, "must be a meta field's name of 1 to \(FieldValue.maxFieldNameBytes) bytes (nested fields as a.b), got \(json.serialized.prefix(60))")
        }
        return name
    }

    /// A JSON array of `count` elements (a count outside names the limit).
    static func array(_ json: JSON?, at path: String, count: ClosedRange<Int>, of what: String) throws -> [JSON] {
        guard let elements = json?.array else {
            throw invalid(path, "must be an array of \(what), got \(json?.typeName ?? "nothing")")
        }
        guard count.contains(elements.count) else {
            throw invalid(path, "must hold \(count.lowerBound) to \(count.upperBound) \(what), got \(elements.count)")
        }
        return elements
    }
}

extension FieldTest {
    /// The test of a leaf `{"field": ..., OP: VALUE}`: exactly one operator.
    init(_ object: [String: JSON], path: String) throws {
        let ops = Filter.operators.filter { object[$0] != nil }
        guard ops.count == 1, let op = ops.first, let json = object[op] else {
            let found = ops.isEmpty ? "none" : ops.joined(separator: " and ")
            throw Filter.invalid(path, "must have exactly one of \(Filter.operators.joined(separator: ", ")) beside \"field\", got \(found)")
        }
        let at = "\(path).\(op)"
        switch op {
        case "eq": self = .eq(try FieldTest.value(json, at: at))
        case "ne": self = .ne(try FieldTest.value(json, at: at))
        case "in":
            let elements = try Filter.array(json, at: at, count: 1...Filter.maxInValues, of: "strings, numbers or booleans")
            self = .isIn(try elements.enumerated().map { i, element in try FieldTest.value(element, at: "\(at)[\(i)]") })
        case "range": self = .range(try FieldRange(json, path: at))
        case "prefix": self = .prefix(Array(try FieldTest.string(json, at: at).utf8))
        case "glob":
            let pattern = try FieldTest.string(json, at: at)
            guard Glob(pattern).segments != nil else {
                throw Filter.invalid(at, "is not a glob: a [ is not closed or it ends with \\ (escape a literal [ as \\[)")
            }
            self = .glob(pattern)
        default:
            guard let wanted = json.bool else { throw Filter.invalid(at, "must be true or false, got \(json.typeName)") }
            self = .exists(wanted)
        }
    }

    /// The operator and its operand, as the API writes them.
    var json: (String, JSON) {
        switch self {
        case .eq(let value): ("eq", value.json)
        case .ne(let value): ("ne", value.json)
        case .isIn(let values): ("in", .array(values.map(\.json)))
        case .range(let range): ("range", range.json)
        case .prefix(let bytes): ("prefix", .string(String(decoding: bytes, as: UTF8.self)))
        case .glob(let pattern): ("glob", .string(pattern))
        case .exists(let wanted): ("exists", .bool(wanted))
        }
    }

    /// A string, number or boolean to compare with.
    static func value(_ json: JSON, at path: String) throws -> FieldValue {
        if case .string = json { return .string(Array(try string(json, at: path).utf8)) }
        guard json.bool != nil || json.number != nil, let value = FieldValue(json) else {
            throw Filter.invalid(path, "must be a string, a number or a boolean, got \(json.typeName)")
        }
        return value
    }

    /// A string a field can hold: over `FieldValue.maxStringBytes` bytes no value is filterable.
    static func string(_ json: JSON, at path: String) throws -> String {
        guard let string = json.string else { throw Filter.invalid(path, "must be a string, got \(json.typeName)") }
        guard string.utf8.count <= FieldValue.maxStringBytes, !string.utf8.contains(0) else {
            throw Filter.invalid(path, "is longer than \(FieldValue.maxStringBytes) bytes (or holds U+0000): no field value that long is filterable")
        }
        return string
    }
}

extension FieldRange {
    static let bounds = ["gt", "gte", "lt", "lte"]

    /// `{"gte": 10, "lt": 20}`: any of gt, gte, lt, lte (not gt with gte, nor lt with lte),
    /// all numbers or all strings.
    init(_ json: JSON, path: String) throws {
        guard let object = json.object, !object.isEmpty else {
            throw Filter.invalid(path, #"must be an object of bounds such as {"gte": 10, "lt": 20} (gt, gte, lt, lte), got \#(json.serialized.prefix(60))"#)
        }
        if let unknown = object.keys.sorted().first(where: { !FieldRange.bounds.contains($0) }) {
            throw Filter.invalid("\(path).\(unknown)", "is not a bound: use gt, gte, lt or lte")
        }
        var values: [String: FieldValue] = [:]
        for (name, bound) in object.sorted(by: { $0.key < $1.key }) {
            guard bound.string != nil || bound.number != nil else {
                throw Filter.invalid("\(path).\(name)", "must be a number or a string, got \(bound.typeName)")
            }
            values[name] = try FieldTest.value(bound, at: "\(path).\(name)")
        }
        for (a, b) in [("gt", "gte"), ("lt", "lte")] where values[a] != nil && values[b] != nil {
            throw Filter.invalid(path, "has both \(a) and \(b): give one lower and one upper bound at most")
        }
        if Set(values.values.map(\.typeTag)).count > 1 {
            throw Filter.invalid(path, "mixes numbers and strings: a number never compares with a string")
        }
        self.init(lower: (values["gt"] ?? values["gte"]).map { ($0, values["gte"] != nil) },
                  upper: (values["lt"] ?? values["lte"]).map { ($0, values["lte"] != nil) })
    }

    var json: JSON {
        var object: [String: JSON] = [:]
        if let lower { object[lower.inclusive ? "gte" : "gt"] = lower.value.json }
        if let upper { object[upper.inclusive ? "lte" : "lt"] = upper.value.json }
        return .object(object)
    }
}
