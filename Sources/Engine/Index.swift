import Embedding
import Foundation
import Search
import Store
import Synchronization

/// An index: the one API the CLI and the daemon both call, so a feature exists once.
///
/// ```swift
/// let index = try Index.open(name: "debian", in: DataDirectory(path: nil), mode: .read)
/// let result = try index.search(SearchRequest(query: "tiling window manager", k: 10, dims: 64))
/// print(result.hits.map(\.id))
/// ```
public final class Index: @unchecked Sendable {  // state is in Mutexes and Atomics; the store is thread-safe
    public let name: String
    public let store: IndexStore
    let layout: PrefixLayout
    /// The current head as of a committed state (see `currentHead`).
    let headCache = Mutex<(version: CommittedVersion, record: HeadRecord?, head: MatryoshkaHead)?>(nil)
    /// The stored graph as of a committed state, nil when none is usable (see `loadedGraph`),
    /// and the writer's changeable copy.
    let graphCache = Mutex<(version: CommittedVersion, graph: LoadedGraph?)?>(nil)
    let writerGraph = Mutex(WriterGraph())
    /// Searchers (each with its scratch memory) free for the next query, and the planner.
    let graphSearchers = Mutex<[GraphSearcher]>([])
    let plannerCache = Mutex<(version: CommittedVersion, planner: Planner)?>(nil)
    /// The field index in memory as of its last generation read, and the live rows as of a
    /// committed state (see `matchingRows`).
    let fieldColumnsCache = Mutex<FieldColumns?>(nil)
    /// The fusion `mrl tune` stored, as of a committed state (see `storedFusion`).
    let fusionCache = Mutex<(version: CommittedVersion, fusion: Fusion?)?>(nil)
    /// A filtered search has read the field columns since upkeep last refreshed them.
    let fieldColumnsUsed = Atomic<Bool>(false)
    let liveRowsCache = Mutex<(version: CommittedVersion, rows: RowSet)?>(nil)
    /// The rows' codes of a graph state, and per field their copy in its order (see
    /// `filterRows`) with the field columns and graph state it was made from.
    let orderedCodesCache = Mutex<OrderedCodesCache>(.init())
    /// Queries recorded for the query log, not yet written (see `QueryLog`).
    let querySample = QueryLog()
    /// Answers given, checked against exact search in the daemon's idle time.
    public let recallMonitor = RecallMonitor()

    public var manifest: Manifest { store.manifest }

    /// Reading beside other processes, or writing (one writer per index at a time).
    public typealias OpenMode = IndexStore.Mode

    /// Threads an exact scan splits its blocks across (the machine has 2 cores; a daemon
    /// serving many queries at once may prefer 1).
    public var scanThreads: Int {
        get { scanThreadCount.load(ordering: .relaxed) }
        set { scanThreadCount.store(newValue, ordering: .relaxed) }
    }
    private let scanThreadCount = Atomic(2)

    /// Creates index `name` for vectors of `dimensions` floats. `model` names the model
    /// whose raw space they are in (nil for bring-your-own vectors of another size).
    /// Throws `invalidIndexName`, `StoreError.indexExists`, `StoreError.busyWriter`.
    /// Commands create through `DataDirectory.create`, which applies the model rule.
    public static func create(name: String, in data: DataDirectory, dimensions: Int, model: ModelIdentity?) throws -> Index {
        let layout = PrefixLayout(dimensions: dimensions)
        let manifest = Manifest(dimensions: dimensions, segmentBoundaries: layout.boundaries, model: model)
        let store = try IndexStore.create(directory: try data.directory(of: name), manifest: manifest, options: data.storeOptions)
        return Index(name: name, store: store)
    }

    /// Opens index `name`. Throws `invalidIndexName`, `StoreError.indexNotFound`,
    /// `.busyWriter` (for `.write`), `.newerFormat`, `.corrupt`.
    public static func open(name: String, in data: DataDirectory, mode: IndexStore.Mode) throws -> Index {
        Index(name: name, store: try IndexStore.open(directory: try data.directory(of: name), mode: mode, options: data.storeOptions))
    }

    private init(name: String, store: IndexStore) {
        self.name = name
        self.store = store
        layout = PrefixLayout(boundaries: store.manifest.segmentBoundaries)
    }

    /// The stored document with external id `id`, or nil.
    public func document(id: String) throws -> StoredDocument? {
        try store.read { try $0.document(id: id) }
    }

    /// The documents of `ids` that exist, read from one snapshot, each with its stored raw
    /// vector when `withVectors`.
    public func documents(ids: [String], withVectors: Bool) throws -> [(document: StoredDocument, vector: [Float]?)] {
        try store.read { snapshot in
            try ids.compactMap { id in
                guard let row = try snapshot.internalID(of: id), let document = try snapshot.document(internalID: row) else { return nil }
                guard withVectors else { return (document, nil) }
                guard let vector = try snapshot.vector(internalID: row) else {
                    throw StoreError.corrupt(path: store.directory, detail: "document \(row) has no live vector")
                }
                return (document, vector)
            }
        }
    }

    /// Deletes documents by id in one transaction, graph included; returns how many existed.
    public func delete(ids: [String]) throws -> Int { try deleteDocuments(ids).count }

    /// Deletes documents by id in one transaction, graph included; returns the ids that
    /// existed (each once).
    public func deleteDocuments(_ ids: [String]) throws -> [String] {
        let head = try currentHead().record
        return try changingGraph {
            try store.delete(ids: ids) { graph, rows in try self.updateGraph(graph, head: head, written: [], deleted: rows) }
        }
    }

    /// Whether text can be embedded into this index's space by the built-in model.
    public var acceptsText: Bool { manifest.model?.name == Model.defaultName }

    /// How this index's texts, documents and queries alike, are embedded (recorded at creation).
    /// Throws for a precision this build of mrl does not have.
    public func textPrecision() throws -> Precision {
        let recorded = manifest.model?.precision ?? Precision.fp32.rawValue
        guard let precision = Precision(rawValue: recorded) else {
            throw EngineError.modelUnavailable(
                "index \"\(name)\" embeds its texts with precision \"\(recorded)\", which this mrl does not have (it has \(Precision.allCases.map(\.rawValue).joined(separator: ", "))): use the mrl that made it, or re-create the index")
        }
        return precision
    }
}
