import Engine

/// A request's JSON object, read field by field: wrong types and unknown names are 400s
/// that name the field ("queries[2].k"), so a typo is an error, not a silent default.
struct Fields {
    let object: [String: JSON]
    /// Prefix for field names in errors, e.g. "queries[2]."
    let path: String

    init(_ object: [String: JSON], path: String = "") {
        self.object = object
        self.path = path
    }

    func allowOnly(_ names: Set<String>) throws {
        if let unknown = object.keys.sorted().first(where: { !names.contains($0) }) {
            throw APIError.field(path + unknown, "is not a field of this request (known: \(names.sorted().joined(separator: ", ")))")
        }
    }

    /// nil when absent or null.
    private func value(_ name: String) -> JSON? {
        guard let value = object[name], value != .null else { return nil }
        return value
    }

    func string(_ name: String) throws -> String? {
        guard let value = value(name) else { return nil }
        guard let s = value.string else { throw APIError.field(path + name, "must be a string, got \(value.typeName)") }
        return s
    }

    func int(_ name: String) throws -> Int? {
        guard let value = value(name) else { return nil }
        guard let n = value.int else { throw APIError.field(path + name, "must be a whole number, got \(value.serialized.prefix(40))") }
        return n
    }

    func double(_ name: String) throws -> Double? {
        guard let value = value(name) else { return nil }
        guard let n = value.number else { throw APIError.field(path + name, "must be a number, got \(value.typeName)") }
        return n
    }

    func bool(_ name: String) throws -> Bool? {
        guard let value = value(name) else { return nil }
        guard let b = value.bool else { throw APIError.field(path + name, "must be true or false, got \(value.typeName)") }
        return b
    }

    /// An encoder precision ("fp32", "int8"); any other string is a 400 listing them.
    func precision(_ name: String) throws -> Precision? {
        guard let given = try string(name) else { return nil }
        guard let precision = Precision(rawValue: given) else {
            throw APIError.field(path + name, "must be one of \(Precision.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(given)\"")
        }
        return precision
    }

    /// A filter (`Filter`), checked where it is read: errors name its part ("queries[2].filter.and[1]").
    func filter(_ name: String) throws -> Filter? {
        guard let value = value(name) else { return nil }
        return try Filter(json: value, path: path + name)
    }

    func vector(_ name: String) throws -> [Float]? {
        guard let value = value(name) else { return nil }
        do {
            return try DocumentParser.vector(from: value).get()
        } catch {
            throw APIError.field(path + name, error.message)
        }
    }

    func array(_ name: String, max: Int) throws -> [JSON] {
        guard let value = value(name) else { throw APIError.field(path + name, "is missing") }
        guard let items = value.array else { throw APIError.field(path + name, "must be an array, got \(value.typeName)") }
        guard !items.isEmpty else { throw APIError.field(path + name, "is empty") }
        guard items.count <= max else {
            throw APIError(status: .payloadTooLarge, code: "too_large", message: "\"\(path + name)\" has \(items.count) items, over the limit of \(max): split the request")
        }
        return items
    }

    /// An array field that may be missing, null or empty (then []).
    func optionalArray(_ name: String, max: Int) throws -> [JSON] {
        guard let value = value(name), value.array?.isEmpty != true else { return [] }
        return try array(name, max: max)
    }

    /// Element `i` of an array field as an object.
    func element(_ item: JSON, of name: String, at i: Int) throws -> Fields {
        guard let object = item.object else { throw APIError.field("\(path)\(name)[\(i)]", "must be an object, got \(item.typeName)") }
        return Fields(object, path: "\(path)\(name)[\(i)].")
    }
}
