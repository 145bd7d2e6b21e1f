import Foundation

/// Errors of the Index API: each says what is wrong, where, and what to do.
public enum EngineError: Error, Equatable, CustomStringConvertible {
    case invalidIndexName(String)
    /// A request field is missing or out of range.
    case invalidRequest(field: String, message: String)
    /// A line of an input file is unusable; `line` counts from 1.
    case badDocument(source: String, line: Int, field: String?, message: String)
    /// The embedding model is missing or unusable.
    case modelUnavailable(String)
    /// An environment variable's value is unusable.
    case badEnvironment(variable: String, message: String)
    /// The input file cannot be read.
    case unreadable(path: String, reason: String)
    /// The index's head is of a kind this build does not know.
    case unsupportedHead(index: String, kind: String)
    case headOfAnotherModel(index: String, kind: String)

    public var description: String {
        switch self {
        case .invalidIndexName(let name):
            return "invalid index name \"\(name)\": use 1 to 64 of A-Z a-z 0-9 _ -"
        case .invalidRequest(let field, let message):
            return "field \"\(field)\": \(message)"
        case .badDocument(let source, let line, let field, let message):
            let what = field.map { "field \"\($0)\" " } ?? ""
            return "\(source):\(line): \(what)\(message)"
        case .modelUnavailable(let message):
            return message
        case .badEnvironment(let variable, let message):
            return "\(variable) \(message)"
        case .unreadable(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .unsupportedHead(let index, let kind):
            return "index \"\(index)\" uses a \"\(kind)\" head, which this mrl does not know: upgrade mrl, or run `mrl head --index \(index) --kind pca`"
        case .headOfAnotherModel(let index, let kind):
            return "index \"\(index)\" has a \"\(kind)\" head fitted for another model's vectors: refit it with `mrl head --index \(index) --kind \(kind)`"
        }
    }
}

extension EngineError: LocalizedError {
    public var errorDescription: String? { description }
}
