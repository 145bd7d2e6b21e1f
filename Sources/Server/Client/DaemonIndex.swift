import Engine
import Foundation
import Store

/// The indexes a running daemon holds, reached over its socket: what a command uses instead of
/// opening an index itself when `mrl serve` runs (see `IndexCatalog`).
public final class DaemonCatalog: IndexCatalog {
    let client: UnixHTTPClient

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// The daemon's error code (`index_not_found`, `document_not_found`, ...), nil when the
        /// daemon could not be reached or answered something else than an API error.
        public var code: String?

        public init(description: String, code: String? = nil) {
            self.description = description
            self.code = code
        }
    }

    /// Connects to the daemon on `socket`; throws `Failure` when nothing listens there.
    public init(socket: String) throws {
        do {
            client = try UnixHTTPClient(socketPath: socket)
        } catch {
            throw Failure(description: "\(error)")
        }
    }

    public var place: String { "the daemon at \(client.socketPath)" }

    /// Sends a request and returns the JSON of a 2xx answer; any other answer throws its message.
    public func call(_ method: String, _ path: String, _ body: JSON? = nil) throws -> JSON {
        let reply: UnixHTTPClient.Reply
        do {
            reply = try client.request(method, path, body: body?.bytes)
        } catch {
            throw Failure(description: "\(error)")
        }
        guard let json = reply.json else {
            throw Failure(description: "\(place) sent a reply that is not JSON (status \(reply.status))")
        }
        guard (200..<300).contains(reply.status) else {
            throw Failure(description: json["error"]?["message"]?.string ?? "\(place) answered \(reply.status)",
                          code: json["error"]?["code"]?.string)
        }
        return json
    }

    public func infoDocuments() throws -> [JSON] { try call("GET", "/indexes")["indexes"]?.array ?? [] }

    public func index(_ name: String, writing: Bool) throws -> IndexService {
        try DaemonIndex(catalog: self, name: name, info: call("GET", "/indexes/\(try path(name))"))
    }

    public func indexCreatingIfMissing(_ name: String, dimensions: Int?, precision: Precision) throws -> IndexService {
        do {
            return try index(name, writing: true)
        } catch let failure as Failure where failure.code == "index_not_found" {
            // The daemon applies the same model rule (`Model.forNewIndex`).
            var fields: [String: JSON] = precision == .fp32 ? [:] : ["precision": .string(precision.rawValue)]
            if let dimensions { fields["dimensions"] = JSON(dimensions) }
            let body = JSON.object(fields)
            return try DaemonIndex(catalog: self, name: name, info: call("PUT", "/indexes/\(try path(name))", body))
        }
    }

    public func drop(_ name: String) throws { _ = try call("DELETE", "/indexes/\(try path(name))") }

    /// `name` as a path segment: a valid index name needs no escaping, and any other is
    /// refused here as the daemon would.
    func path(_ name: String) throws -> String {
        try DataDirectory.checkIndexName(name)
        return name
    }
}

/// One index a daemon holds (see `IndexService`). The daemon does the upkeep after each commit.
final class DaemonIndex: IndexService {
    let name: String
    let dimensions: Int
    let acceptsText: Bool
    private let catalog: DaemonCatalog

    init(catalog: DaemonCatalog, name: String, info: JSON) {
        self.catalog = catalog
        self.name = name
        dimensions = info["dimensions"]?.int ?? Model.defaultDimensions
        acceptsText = info["model"]?["name"]?.string == Model.defaultName
    }

    func infoDocument() throws -> JSON { try catalog.call("GET", "/indexes/\(name)") }

    func answer(_ request: SearchRequest) throws -> SearchResult {
        let answer = try catalog.call("POST", "/indexes/\(name)/search", request.json)
        guard let result = SearchResult(json: answer) else {
            throw DaemonCatalog.Failure(description: "\(catalog.place) answered with something that is not a search result: \(answer.serialized.prefix(200))")
        }
        return result
    }

    func upsert(_ documents: [DocumentInput]) throws -> WriteReport {
        let items: [JSON] = documents.map { doc in
            var object: [String: JSON] = ["id": .string(doc.id), "text": .string(doc.text)]
            if let meta = doc.meta { object["meta"] = (try? JSON.parse(meta)) ?? .null }
            if let vector = doc.vector { object["vector"] = .array(vector.map(JSON.float)) }
            return .object(object)
        }
        let reply = try catalog.call("POST", "/indexes/\(name)/documents", ["documents": .array(items)])
        var report = WriteReport()
        report.added = reply["added"]?.int ?? 0
        report.changed = reply["changed"]?.int ?? 0
        report.unchanged = reply["unchanged"]?.int ?? 0
        return report
    }

    func documentJSON(id: String) throws -> JSON? {
        do {
            return try catalog.call("GET", "/indexes/\(name)/documents/\(Self.segment(id))")
        } catch let failure as DaemonCatalog.Failure where failure.code == "document_not_found" {
            return nil
        }
    }

    /// Ids per bulk delete: well within the daemon's cap (documents in one write).
    static let idsPerRequest = 1_000

    /// One transaction per `idsPerRequest` ids.
    func delete(ids: [String]) throws -> Int {
        try stride(from: 0, to: ids.count, by: Self.idsPerRequest).reduce(0) { deleted, start in
            let chunk = ids[start..<min(start + Self.idsPerRequest, ids.count)]
            let answer = try catalog.call("POST", "/indexes/\(name)/documents/delete", ["ids": .array(chunk.map(JSON.string))])
            return deleted + (answer["deleted"]?.int ?? 0)
        }
    }

    func fileRecords() throws -> [FolderIngest.FileRecord] {
        try (catalog.call("GET", "/indexes/\(name)/files")["files"]?.array ?? []).map { record in
            do {
                return try FolderIngest.FileRecord(json: record)
            } catch {
                throw DaemonCatalog.Failure(description: "\(catalog.place) sent a file record that is not one: \(error)")
            }
        }
    }

    func updateFileRecords(put: [FolderIngest.FileRecord], forget: [String]) throws {
        let step = Application.fileRecordsPerRequest
        for start in stride(from: 0, to: max(put.count, forget.count), by: step) {
            let records = put.dropFirst(start).prefix(step).map(\.json), paths = forget.dropFirst(start).prefix(step).map(JSON.string)
            _ = try catalog.call("POST", "/indexes/\(name)/files", ["put": .array(Array(records)), "forget": .array(Array(paths))])
        }
    }

    func queryLog(offset: Int, limit: Int) throws -> QueryLogPage {
        try page(catalog.call("GET", "/indexes/\(name)/queries?offset=\(offset)&limit=\(min(limit, Application.queryLogPage))"))
    }

    func changeQueryLog(enabled: Bool?, includeText: Bool?, clear: Bool) throws -> QueryLogState {
        var answer: JSON?
        if enabled != nil || includeText != nil || !clear {
            answer = try catalog.call("PUT", "/indexes/\(name)/queries", .object(dropping: ["enabled": enabled.map(JSON.bool), "include_text": includeText.map(JSON.bool)]))
        }
        if clear { answer = try catalog.call("DELETE", "/indexes/\(name)/queries") }
        return try page(answer ?? [:]).state
    }

    private func page(_ answer: JSON) throws -> QueryLogPage {
        do {
            return try QueryLogPage(json: answer)
        } catch {
            throw DaemonCatalog.Failure(description: "\(catalog.place) answered with something that is not the query log: \(error)")
        }
    }

    func upkeepAfterWrites(head: Upkeep.HeadRequest?, progress: Upkeep.Progress) throws -> Upkeep? {
        guard head == nil else {
            throw DaemonCatalog.Failure(description: "a head asked for by hand changes the index here, but \(catalog.place) holds it: stop it, or run `mrl head` when it is stopped")
        }
        return nil
    }

    func headFile() throws -> HeadFile {
        let answer = try catalog.call("GET", "/indexes/\(name)/head")
        do {
            return try HeadFile(json: answer)
        } catch {
            throw DaemonCatalog.Failure(description: "\(catalog.place) answered with something that is not a head: \(error)")
        }
    }

    func installHead(_ file: HeadFile, progress: (Int, Int) -> Void) throws -> HeadChange {
        let answer = try catalog.call("PUT", "/indexes/\(name)/head", file.json)
        guard let change = HeadChange(json: answer) else {
            throw DaemonCatalog.Failure(description: "\(catalog.place) answered with something that is not a change of head: \(answer.serialized.prefix(200))")
        }
        return change
    }

    /// A document id as one path segment.
    static func segment(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/%?#"))) ?? id
    }
}
