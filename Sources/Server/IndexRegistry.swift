import Engine
import Foundation
import Logging
import Store
import Synchronization

/// The indexes the daemon holds open, by name: opened on first use and kept, each with
/// the writer that serializes its writes.
final class IndexRegistry: Sendable {
    let data: DataDirectory
    private let open = Mutex<[String: OpenIndex]>([:])
    private let queue: WorkQueue
    private let logger: Logger

    init(data: DataDirectory, queue: WorkQueue, logger: Logger) {
        self.data = data
        self.queue = queue
        self.logger = logger
    }

    /// Index `name`, opening it on first use: for writing when no other process writes it,
    /// else for reading (its writes are then refused, naming the process that holds it).
    func index(_ name: String) throws -> OpenIndex {
        try open.withLock { open in
            if let index = open[name] { return index }
            let opened: OpenIndex
            do {
                opened = OpenIndex(try Index.open(name: name, in: data, mode: .write), queue: queue, logger: logger)
            } catch StoreError.indexNotFound {
                throw APIError.notFound("no index named \"\(name)\": create it with PUT /indexes/\(name), or `mrl index --index \(name) FILE`")
            } catch StoreError.busyWriter(let path, let pid) {
                let index = try Index.open(name: name, in: data, mode: .read)
                opened = OpenIndex(index, readOnlyBecause: StoreError.busyWriter(path: path, pid: pid), queue: queue, logger: logger)
            }
            // One query at a time per event loop: a scan split over both cores would only
            // take a core from another request.
            opened.index.scanThreads = 1
            if let stale = (try? opened.index.costModel())??.staleness {
                logger.warning("the planner's timings of index \(name) were \(stale): budgets may be missed until `mrl tune --index \(name)` re-measures them")
            }
            open[name] = opened
            return opened
        }
    }

    /// Creates index `name`: vectors of `dimensions` of the user's own model, or (nil) the
    /// built-in model's. Throws `StoreError.indexExists`.
    func create(_ name: String, dimensions: Int?) throws -> OpenIndex {
        try open.withLock { open in
            let index = try Index.create(name: name, in: data, dimensions: dimensions ?? Model.defaultDimensions,
                                         model: dimensions == nil ? Model.identity() : nil)
            index.scanThreads = 1
            let opened = OpenIndex(index, queue: queue, logger: logger)
            open[name] = opened
            return opened
        }
    }

    /// Forgets index `name` and removes its files (searches in flight finish on the old map).
    func drop(_ name: String) throws {
        let opened = try index(name)
        try opened.requireWritable()
        try open.withLock { open in
            try opened.index.store.removeFiles()
            open[name] = nil
        }
    }

    /// The indexes open now.
    var openIndexes: [OpenIndex] { open.withLock { Array($0.values) } }

    /// Closes every index (after the writers have drained).
    func closeAll() { open.withLock { $0.removeAll() } }
}

/// One open index and its write path.
final class OpenIndex: Sendable {
    let index: Index
    /// Why writes are refused (another process holds the writer lock), or nil.
    let readOnlyReason: StoreError?
    let writer: IndexWriter

    init(_ index: Index, readOnlyBecause reason: StoreError? = nil, queue: WorkQueue, logger: Logger) {
        self.index = index
        readOnlyReason = reason
        writer = IndexWriter(index: index, queue: queue, logger: logger)
    }

    func requireWritable() throws {
        if let readOnlyReason { throw APIError(status: .conflict, code: "read_only", message: readOnlyReason.description) }
    }
}
