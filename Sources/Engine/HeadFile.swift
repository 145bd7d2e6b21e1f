import Embedding
import Foundation
import Store

/// A head as a file or a request body: what `mrl head --save` writes and `--from` installs,
/// `GET`/`PUT /indexes/{name}/head` answer and take. Sharded indexes install one head fitted
/// on a sample of all shards, so every shard searches the same space and scores compare.
///
/// ```json
/// {"format": "mrl-head", "kind": "pca", "dimensions": 384, "model": "5f0c…", "fitted_on": 50000, "matrix": [...]}
/// ```
/// `matrix` holds `kind.storedFloats(dimensions:)` floats (none for "none"); `model` is the
/// fingerprint of the model whose raw vectors it was fitted on (null: not recorded, e.g. an
/// index of vectors only).
public struct HeadFile: Sendable, Equatable {
    public static let format = "mrl-head"

    public var head: MatryoshkaHead.Kind
    public var dimensions: Int
    public var model: String?
    /// Documents the head was fitted on (0 for "none").
    public var fittedOn: Int
    public var matrix: [Float]

    public init(head: MatryoshkaHead.Kind, dimensions: Int, model: String?, fittedOn: Int, matrix: [Float]) {
        self.head = head
        self.dimensions = dimensions
        self.model = model
        self.fittedOn = fittedOn
        self.matrix = matrix
    }

    public var json: JSON {
        .object(["format": .string(HeadFile.format), "kind": .string(head.rawValue), "dimensions": JSON(dimensions),
                 "model": model.map(JSON.string) ?? .null, "fitted_on": JSON(fittedOn), "matrix": .array(matrix.map(JSON.float))])
    }

    /// Reads a head from `json`; errors name the field, prefixed with `source` (a file's path,
    /// or nothing for a request body, whose fields the API names).
    public init(json: JSON, source: String? = nil) throws(EngineError) {
        func bad(_ field: String, _ message: String) -> EngineError {
            source.map { .invalidRequest(field: "\($0): \(field)", message: message) } ?? .invalidRequest(field: field, message: message)
        }
        guard let fields = json.object else { throw bad("", "a head file is a JSON object, as `mrl head --save` writes") }
        guard fields["format"]?.string == HeadFile.format else {
            throw bad("format", "must be \"\(HeadFile.format)\": this is not a head saved by `mrl head --save` (or GET /indexes/NAME/head)")
        }
        guard let kindName = fields["kind"]?.string, let kind = MatryoshkaHead.Kind(rawValue: kindName) else {
            throw bad("kind", "must be one of " + MatryoshkaHead.Kind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard let dimensions = fields["dimensions"]?.int, (1...4_096).contains(dimensions) else {
            throw bad("dimensions", "must be a whole number from 1 to 4096")
        }
        let model = fields["model"]
        guard model == nil || model?.isNull == true || model?.string != nil else { throw bad("model", "must be a string or null") }
        guard let fittedOn = (fields["fitted_on"] ?? .integer(0)).int, fittedOn >= 0 else {
            throw bad("fitted_on", "must be a whole number, 0 or more")
        }
        guard let items = fields["matrix"]?.array else { throw bad("matrix", "must be an array of numbers") }
        let expected = kind.storedFloats(dimensions: dimensions)
        guard items.count == expected else {
            throw bad("matrix", "has \(items.count) numbers; a \(kind.rawValue) head of \(dimensions) dimensions has \(expected)")
        }
        var matrix: [Float] = []
        matrix.reserveCapacity(expected)
        for (i, item) in items.enumerated() {
            // The bound MatryoshkaHead keeps, checked here to name the entry.
            guard let value = item.float, value.isFinite, abs(value) <= MatryoshkaHead.largestEntry else {
                throw bad("matrix[\(i)]", "must be a finite number within ±\(MatryoshkaHead.largestEntry)")
            }
            matrix.append(value)
        }
        self.init(head: kind, dimensions: dimensions, model: model?.string, fittedOn: fittedOn, matrix: matrix)
    }

    /// Reads the head file at `path` (`-`: standard input).
    public static func read(path: String) throws -> HeadFile {
        let data: Data
        do {
            data = path == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw EngineError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        let json: JSON
        do {
            json = try JSON.parse(Array(data))
        } catch {
            throw EngineError.unreadable(path: path, reason: "it is not JSON (\(error)): give a file written by `mrl head --save`")
        }
        return try HeadFile(json: json, source: path)
    }
}
