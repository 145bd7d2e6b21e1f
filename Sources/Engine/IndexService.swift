import Foundation
import Store

/// One index as a command uses it, wherever it is held: opened in this process (`Index`), or
/// held by a running daemon and reached over its socket (Server's `DaemonIndex`). Commands
/// parse, call one of these and print, so each rule exists once and holds through both.
public protocol IndexService: DocumentSink {
    /// What `GET /indexes/{name}` answers.
    func infoDocument() throws -> JSON
    /// A user's search, offered to the index's query log (see `Index.answer`).
    func answer(_ request: SearchRequest) throws -> SearchResult
    /// The stored document with id `id` as `GET /indexes/{name}/documents/{id}` answers, or nil.
    func documentJSON(id: String) throws -> JSON?
    /// Deletes documents by id in one transaction; returns how many existed.
    func delete(ids: [String]) throws -> Int
    /// The records folder indexing keeps of the files it read (see `FolderIngest`).
    func fileRecords() throws -> [FolderIngest.FileRecord]
    /// Stores the records of files read and forgets those of `forget` (paths), in one transaction.
    func updateFileRecords(put: [FolderIngest.FileRecord], forget: [String]) throws
    /// A page of the query log (see `QueryLog`).
    func queryLog(offset: Int, limit: Int) throws -> QueryLogPage
    /// Turns the query log on or off, and the keeping of texts (nil: unchanged), or empties it.
    func changeQueryLog(enabled: Bool?, includeText: Bool?, clear: Bool) throws -> QueryLogState
    /// Runs what is due after writes (see `Upkeep`). A daemon does that by itself after each
    /// commit: through it, this returns nil, and a head asked for by hand is refused.
    func upkeepAfterWrites(head: Upkeep.HeadRequest?, progress: Upkeep.Progress) throws -> Upkeep?
    /// The current head as a file (`mrl head --save`).
    func headFile() throws -> HeadFile
    /// Makes `file`'s head current and keeps it (see `Index.installHead`); `progress` gets
    /// the blocks of vectors written in its space (not called through a daemon).
    func installHead(_ file: HeadFile, progress: (_ blocksDone: Int, _ blocks: Int) -> Void) throws -> HeadChange
}

/// Where indexes live: a data folder (`DataDirectory`) or a running daemon (Server's
/// `DaemonCatalog`).
public protocol IndexCatalog {
    /// Where this is, for messages ("data folder indexes", "the daemon at /run/mrl.sock").
    var place: String { get }
    /// The info documents of every index, by name.
    func infoDocuments() throws -> [JSON]
    /// Index `name`; throws not-found naming how to create it.
    func index(_ name: String, writing: Bool) throws -> IndexService
    /// Index `name`, created when missing for vectors of `dimensions` (nil: texts, embedded
    /// by the built-in model at `precision`), by `Model.forNewIndex`.
    func indexCreatingIfMissing(_ name: String, dimensions: Int?, precision: Precision) throws -> IndexService
    /// Removes index `name` and its files.
    func drop(_ name: String) throws
}

extension Index: IndexService {
    public func infoDocument() throws -> JSON { try info().json }

    public func documentJSON(id: String) throws -> JSON? { try document(id: id)?.json }

    public func fileRecords() throws -> [FolderIngest.FileRecord] {
        try store.read { try $0.metaEntries(prefix: FolderIngest.recordPrefix, as: FolderIngest.FileRecord.self) }.map(\.value)
    }

    public func updateFileRecords(put: [FolderIngest.FileRecord], forget: [String]) throws {
        try store.updateMeta(put: put.map { (FolderIngest.recordKey($0.path), $0) }, delete: forget.map(FolderIngest.recordKey))
    }

    public func upkeepAfterWrites(head: Upkeep.HeadRequest?, progress: Upkeep.Progress) throws -> Upkeep? {
        try upkeep(head: head, progress: progress)
    }
}

extension DataDirectory: IndexCatalog {
    public var place: String { "data folder \(path)" }

    public func infoDocuments() throws -> [JSON] {
        try indexNames().map { try Index.open(name: $0, in: self, mode: .read).infoDocument() }
    }

    public func index(_ name: String, writing: Bool) throws -> IndexService {
        try Index.open(name: name, in: self, mode: writing ? .write : .read)
    }

    public func indexCreatingIfMissing(_ name: String, dimensions: Int?, precision: Precision) throws -> IndexService {
        do {
            return try Index.open(name: name, in: self, mode: .write)
        } catch StoreError.indexNotFound {
            return try create(name, dimensions: dimensions, precision: precision)
        }
    }

    /// Creates index `name` by the model rule (`Model.forNewIndex`).
    public func create(_ name: String, dimensions: Int?, precision: Precision = .fp32) throws -> Index {
        let (dimensions, model) = try Model.forNewIndex(dimensions: dimensions, precision: precision)
        return try Index.create(name: name, in: self, dimensions: dimensions, model: model)
    }
}

extension StoredDocument {
    /// The document as the API shows it: its meta as the JSON it was given as.
    public var json: JSON { json(vector: nil) }

    /// The same with its stored raw vector, when given.
    public func json(vector: [Float]?) -> JSON {
        var object: [String: JSON] = ["id": .string(id), "text": .string(text)]
        if let meta { object["meta"] = (try? JSON.parse(meta)) ?? .string(meta) }
        if let vector { object["vector"] = .array(vector.map(JSON.float)) }
        return .object(object)
    }
}
