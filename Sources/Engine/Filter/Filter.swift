import Store

/// A condition on documents' meta fields (the API's `filter`): a test of one field, or tests
/// joined by and, or, not. Parsed and checked once, from JSON (`Filter(json:)`); evaluated to
/// the matching rows by `Index.matchingRows`.
///
/// ```swift
/// let filter = try Filter(json: JSON.parse(Array(#"{"and": [{"field": "ext", "eq": "md"},
///                                                         {"field": "mtime", "range": {"gte": 1.7e9}}]}"#.utf8)))
/// let rows = try index.store.read { try index.matchingRows(filter, in: $0) }
/// ```
public indirect enum Filter: Sendable, Equatable {
    case field(String, FieldTest)
    case and([Filter])
    case or([Filter])
    case not(Filter)

    /// The limits of the filter language.
    public static let maxDepth = 16
    public static let maxMembers = 64
    public static let maxInValues = 1_024
}

/// What a filter asks of one field's values. A field with several values (an array) passes
/// when any of them does; a number never equals a string.
public enum FieldTest: Sendable, Equatable {
    case eq(FieldValue)
    /// `not eq`: also true of rows without the field.
    case ne(FieldValue)
    case isIn([FieldValue])
    case range(FieldRange)
    /// Strings that start with these UTF-8 bytes.
    case prefix([UInt8])
    /// Strings a gitignore glob matches (`Glob`: `*`, `?`, `[...]`, `**`), split into names at `/`.
    case glob(String)
    /// Whether the row has any filterable value for the field.
    case exists(Bool)
}

/// Bounds on values of one kind (numbers, or strings by UTF-8 bytes); nil: unbounded.
public struct FieldRange: Sendable, Equatable {
    public var lower: (value: FieldValue, inclusive: Bool)?
    public var upper: (value: FieldValue, inclusive: Bool)?

    public init(lower: (value: FieldValue, inclusive: Bool)?, upper: (value: FieldValue, inclusive: Bool)?) {
        self.lower = lower
        self.upper = upper
    }

    /// The bounds' kind: a value of another kind is never in the range.
    public var typeTag: UInt8 { (lower ?? upper)?.value.typeTag ?? 0 }

    /// Whether `value` sorts before the range (of its kind or an earlier one): on sorted
    /// values, the range starts where this stops holding.
    func isBelow(_ value: FieldValue) -> Bool {
        guard value.typeTag == typeTag else { return value.typeTag < typeTag }
        guard let lower else { return false }
        return lower.inclusive ? value < lower.value : value <= lower.value
    }

    /// Whether `value` sorts after the range: where the range ends.
    func isAbove(_ value: FieldValue) -> Bool {
        guard value.typeTag == typeTag else { return value.typeTag > typeTag }
        guard let upper else { return false }
        return upper.inclusive ? value > upper.value : value >= upper.value
    }

    public func contains(_ value: FieldValue) -> Bool { !isBelow(value) && !isAbove(value) }

    public static func == (a: FieldRange, b: FieldRange) -> Bool {
        a.lower?.value == b.lower?.value && a.lower?.inclusive == b.lower?.inclusive
            && a.upper?.value == b.upper?.value && a.upper?.inclusive == b.upper?.inclusive
    }
}
