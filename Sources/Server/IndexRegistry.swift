import Engine
import Foundation
import Logging
import Store
import Synchronization

/// The indexes the daemon holds open, by name: opened on first use and kept, each with
/// the writer that serializes its writes.
///
/// Other processes may change an index under the daemon: a CLI writer holds the writer lock
/// (the daemon then opens it for reading and takes the lock at the next write once it is
/// free), and `mrl restore` or `mrl drop` replace or remove its folder while the daemon only
/// reads it. Every use checks that the open files are still the index's (one fstat and one
/// stat); when not, the daemon forgets them and opens what is there now, so it never serves
/// deleted files. While the daemon writes an index, restore and drop by another process are
/// refused by the writer lock (`mrl drop` goes through the daemon instead).
final class IndexRegistry: Sendable {
    let data: DataDirectory
    private let state = Mutex(State())
    private let queue: WorkQueue
    private let logger: Logger
    /// An index unused this long, its writer idle, is closed (file descriptors and map let go).
    private let idleTimeout: TimeInterval

    private struct State {
        var open: [String: OpenIndex] = [:]
        /// Indexes closed for idleness whose last user may not have let go yet.
        var closed: [String: ClosedIndex] = [:]
    }

    /// An index let go of: reused while something still holds it, else waited for until its
    /// environment has closed before its files are opened again (LMDB must not have the same
    /// files open twice in one process).
    private struct ClosedIndex {
        weak var index: Index?
        let released: CloseSignal
    }

    init(data: DataDirectory, queue: WorkQueue, logger: Logger, idleTimeout: TimeInterval = 600) {
        self.data = data
        self.queue = queue
        self.logger = logger
        self.idleTimeout = idleTimeout
        scheduleSweep()
    }

    /// Index `name`, opening it on first use: for writing when no other process writes it,
    /// else for reading (its writes are then refused, naming the process that holds it).
    func index(_ name: String) throws -> OpenIndex {
        try state.withLock { state in
            if let index = state.open[name] {
                if index.index.store.isStillOnDisk {
                    index.touch()
                    return index
                }
                // Requests in flight finish on the old files, which close with their last user.
                logger.info("index \(name) was replaced or removed by another process: reopening it")
                state.open[name] = nil
                let gone = APIError.notFound("index \"\(name)\" was replaced or removed by another process while this write waited: nothing of it was written")
                DispatchQueue.global().async { _ = index.writer.close(because: gone) }
            }
            let opened = try reopenClosed(name, &state) ?? openAnew(name)
            // One query at a time per event loop: a scan split over both cores would only
            // take a core from another request.
            opened.index.scanThreads = 1
            state.open[name] = opened
            return opened
        }
    }

    private func openAnew(_ name: String) throws -> OpenIndex {
        let opened: OpenIndex
        do {
            opened = OpenIndex(try Index.open(name: name, in: data, mode: .write), queue: queue, logger: logger)
        } catch StoreError.indexNotFound {
            throw APIError.notFound("no index named \"\(name)\": create it with PUT /indexes/\(name), or `mrl index --index \(name) FILE`")
        } catch StoreError.busyWriter(let path, let pid) {
            let index = try Index.open(name: name, in: data, mode: .read)
            opened = OpenIndex(index, readOnlyBecause: StoreError.busyWriter(path: path, pid: pid), queue: queue, logger: logger)
        }
        if let stale = (try? opened.index.costModel())??.staleness {
            logger.warning("the planner's timings of index \(name) were \(stale): budgets may be missed until `mrl tune --index \(name)` re-measures them")
        }
        return opened
    }

    /// The index closed for idleness, when a search still holds it; else nil once its
    /// environment has closed.
    private func reopenClosed(_ name: String, _ state: inout State) -> OpenIndex? {
        guard let closed = state.closed.removeValue(forKey: name) else { return nil }
        guard let index = closed.index else {
            closed.released.wait()
            return nil
        }
        guard index.store.isStillOnDisk else { return nil }  // other files: no clash
        let reason = index.store.isWriter ? nil : StoreError.busyWriter(path: index.store.directory, pid: nil)
        return OpenIndex(index, readOnlyBecause: reason, queue: queue, logger: logger)
    }

    /// Closes the indexes unused for `idleTimeout` whose writer has nothing to do and that no
    /// request holds (the registry's is the only reference: none can be taken meanwhile,
    /// as that needs the lock held here).
    func closeIdle() {
        let now = DispatchTime.now().uptimeNanoseconds
        state.withLock { state in
            state.closed = state.closed.filter { !$0.value.released.isClosed }
            for name in Array(state.open.keys) {
                // The name is one of the keys: the unwrap holds.
                guard isKnownUniquelyReferenced(&state.open[name]!), let entry = state.open[name],
                      entry.idleSeconds(now: now) >= idleTimeout, entry.writer.isIdle else { continue }
                state.closed[name] = ClosedIndex(index: entry.index, released: entry.index.store.closeSignal)
                state.open[name] = nil
                logger.info("closed index \(name): unused for \(Int(idleTimeout)) s")
            }  // `entry`, the last reference, goes here: the environment closes under the lock
        }
    }

    private func scheduleSweep() {
        DispatchQueue.global().asyncAfter(deadline: .now() + max(0.25, min(idleTimeout / 4, 60))) { [weak self] in
            guard let self else { return }
            closeIdle()
            scheduleSweep()
        }
    }

    /// Creates index `name` for vectors of `dimensions` (nil: texts, embedded at `precision`), by
    /// the model rule (`Model.forNewIndex`). Throws `StoreError.indexExists`.
    func create(_ name: String, dimensions: Int?, precision: Precision) throws -> OpenIndex {
        try state.withLock { state in
            let index = try data.create(name, dimensions: dimensions, precision: precision)
            index.scanThreads = 1
            let opened = OpenIndex(index, queue: queue, logger: logger)
            state.open[name] = opened
            return opened
        }
    }

    /// Removes index `name`: writes queued for it fail (404), the one in flight finishes,
    /// then its files go and the daemon forgets it, so no write is acknowledged for a
    /// dropped index. Its environment closes when the last search in flight lets go.
    /// Blocks for the write in flight: call it off the event loop.
    func drop(_ name: String) throws {
        let opened = try writable(name)
        let dropped = APIError.notFound("index \"\(name)\" was dropped before this write was committed: nothing of it was written")
        guard opened.writer.close(because: dropped) else {
            throw APIError.notFound("index \"\(name)\" is being dropped already")
        }
        // Kept in the registry until its files are gone: opening the same files a second
        // time in this process would break LMDB's locks.
        defer { state.withLock { state in if state.open[name] === opened { state.open[name] = nil } } }
        try opened.index.store.removeFiles()
    }

    /// Index `name`, able to write: when it was opened for reading because another process
    /// wrote it, the writer lock is taken now if that process is gone. Throws 409 naming
    /// the process that still holds it.
    func writable(_ name: String) throws -> OpenIndex {
        let opened = try index(name)
        try opened.requireWritable()
        return opened
    }

    /// The indexes open now.
    var openIndexes: [OpenIndex] { state.withLock { Array($0.open.values) } }

    /// Closes every index (after the writers have drained).
    func closeAll() { state.withLock { $0.open.removeAll() } }
}

/// One open index and its write path.
final class OpenIndex: Sendable {
    let index: Index
    /// Why writes are refused (another process holds the writer lock), or nil.
    private let readOnlyReason: Mutex<StoreError?>
    let writer: IndexWriter
    private let lastUsed = Atomic<UInt64>(DispatchTime.now().uptimeNanoseconds)

    init(_ index: Index, readOnlyBecause reason: StoreError? = nil, queue: WorkQueue, logger: Logger) {
        self.index = index
        readOnlyReason = Mutex(reason)
        writer = IndexWriter(index: index, queue: queue, logger: logger)
    }

    func touch() { lastUsed.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed) }

    func idleSeconds(now: UInt64) -> Double {
        Double(now &- lastUsed.load(ordering: .relaxed)) / 1e9
    }

    /// Throws 409 while another process holds the writer lock; tries to take it first, so
    /// the daemon becomes the writer as soon as that process has finished.
    func requireWritable() throws {
        try readOnlyReason.withLock { reason in
            guard reason != nil else { return }
            do {
                try index.store.takeWriterLock()
                reason = nil
            } catch let error as StoreError {
                reason = error
                throw APIError(status: .conflict, code: "read_only", message: error.description)
            }
        }
    }
}
