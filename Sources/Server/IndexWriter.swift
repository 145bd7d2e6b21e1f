import Dispatch
import Engine
import Logging
import NIOCore
import Store
import Synchronization

/// Serializes one index's writes. Requests that arrive while a transaction commits wait
/// together and go into the next one (group commit: one fsync for all), and each is
/// answered only once that transaction is durable.
final class IndexWriter: Sendable {
    enum Job: Sendable {
        case upsert([DocumentInput], EventLoopPromise<WriteReport>)
        /// Deletes in one transaction; answers the ids that existed.
        case delete([String], EventLoopPromise<[String]>)
        /// Folder indexing's records of files read (put) and gone (paths).
        case files(put: [FolderIngest.FileRecord], forget: [String], EventLoopPromise<Void>)
        /// The query log's switches, or its clearing.
        case queryLog(enabled: Bool?, includeText: Bool?, clear: Bool, EventLoopPromise<QueryLogState>)
        /// A head fitted elsewhere, installed as it is.
        case head(HeadFile, EventLoopPromise<HeadChange>)

        func fail(_ error: Error) {
            switch self {
            case .upsert(_, let promise): promise.fail(error)
            case .delete(_, let promise): promise.fail(error)
            case .files(_, _, let promise): promise.fail(error)
            case .queryLog(_, _, _, let promise): promise.fail(error)
            case .head(_, let promise): promise.fail(error)
            }
        }
    }

    private let index: Index
    private let queue: WorkQueue
    private let logger: Logger
    /// Jobs waiting, whether a drain is scheduled or running, and why jobs are refused.
    private let pending = Mutex<(jobs: [Job], draining: Bool, closedBecause: Error?)>(([], false, nil))
    private let serial: DispatchQueue
    /// When the log last set off upkeep (a choice of head, a guided rebuild of the graph): one
    /// that failed (a full disk) is tried again only `guidanceRetrySeconds` later, not after
    /// every write of the log.
    private let lastLogUpkeep = Mutex<DispatchTime?>(nil)
    static let guidanceRetrySeconds: Double = 600

    init(index: Index, queue: WorkQueue, logger: Logger) {
        self.index = index
        self.queue = queue
        self.logger = logger
        serial = DispatchQueue(label: "mrl.writer.\(index.name)")
        scheduleQueryLogFlush()
    }

    /// Seconds between writes of the query log when no commit writes it sooner: what a crash
    /// may lose of the log.
    static let queryLogInterval: Double = 2

    /// Writes the queries logged since the last time, on the writer's queue, every
    /// `queryLogInterval` seconds for as long as the writer lives.
    private func scheduleQueryLogFlush() {
        serial.asyncAfter(deadline: .now() + IndexWriter.queryLogInterval) { [weak self] in
            guard let self else { return }
            flushQueryLog()
            // A daemon that only answers searches still chooses its head and re-guides its graph
            // as its log grows.
            if index.store.isWriter, (try? index.graphGuidanceIsDue()) == true || (try? index.headChoiceIsDue()) == true,
               logUpkeepMayRun() { maintain() }
            if pending.withLock({ $0.closedBecause == nil }) { scheduleQueryLogFlush() }
        }
    }

    /// Whether upkeep set off by the log may start now (none started in the last
    /// `guidanceRetrySeconds`); if so, its start is noted.
    private func logUpkeepMayRun() -> Bool {
        lastLogUpkeep.withLock { last in
            let now = DispatchTime.now()
            if let last, Double(now.uptimeNanoseconds - last.uptimeNanoseconds) / 1e9 < IndexWriter.guidanceRetrySeconds { return false }
            last = now
            return true
        }
    }

    /// A failure to log costs only log entries: it is noted, never passed to a request.
    private func flushQueryLog() {
        guard index.store.isWriter else { return }
        do {
            try index.flushQueryLog()
        } catch {
            logger.warning("could not write the query log: \(error)", metadata: ["index": "\(index.name)"])
        }
    }

    /// Queues `job`, or fails its promise: 503 when too much is waiting already, the reason
    /// given to `close` once the index is going away.
    func submit(_ job: Job) {
        do {
            try queue.admit()
        } catch {
            return job.fail(error)
        }
        let accepted = pending.withLock { pending -> Result<Bool, Error> in
            if let reason = pending.closedBecause { return .failure(reason) }
            pending.jobs.append(job)
            defer { pending.draining = true }
            return .success(!pending.draining)
        }
        switch accepted {
        case .success(let first):
            if first { serial.async { self.drain() } }
        case .failure(let reason):
            queue.release(1)
            job.fail(reason)
        }
    }

    /// Nothing queued or being written.
    var isIdle: Bool { pending.withLock { $0.jobs.isEmpty && !$0.draining } }

    /// Blocks until everything queued so far is written (for shutdown).
    func flush() { serial.sync {} }

    /// Refuses every later job and fails the queued ones with `reason`, then waits for the
    /// transaction in flight (and its upkeep) to finish, so that once it returns nothing
    /// more is written or acknowledged. Call it off the event loop. Returns false when it
    /// was closed already.
    func close(because reason: Error) -> Bool {
        let queued = pending.withLock { pending -> [Job]? in
            guard pending.closedBecause == nil else { return nil }
            pending.closedBecause = reason
            defer { pending.jobs.removeAll() }
            return pending.jobs
        }
        guard let queued else { return false }
        for job in queued { job.fail(reason) }
        queue.release(queued.count)
        serial.sync {}
        return true
    }

    private func drain() {
        while true {
            let jobs = pending.withLock { pending in
                defer { pending.jobs.removeAll() }
                if pending.jobs.isEmpty { pending.draining = false }
                return pending.jobs
            }
            if jobs.isEmpty { return }
            var start = 0
            while start < jobs.count {
                // Consecutive upserts share a transaction; other jobs keep their place in the order.
                var end = start
                while end < jobs.count, case .upsert = jobs[end] { end += 1 }
                if end > start {
                    commit(upserts: jobs[start..<end])
                    start = end
                } else {
                    runAlone(jobs[start])
                    start += 1
                }
            }
            // An index being dropped needs no graph or head any more.
            if pending.withLock({ $0.closedBecause == nil }) {
                flushQueryLog()
                maintain()
            }
        }
    }

    /// A job with a transaction of its own; its place in the queue is freed before it is answered.
    private func runAlone(_ job: Job) {
        switch job {
        case .upsert: commit(upserts: [job][...])
        case .delete(let ids, let promise): answer(promise) { try index.deleteDocuments(ids) }
        case .files(let put, let forget, let promise): answer(promise) { try index.updateFileRecords(put: put, forget: forget) }
        case .queryLog(let enabled, let includeText, let clear, let promise):
            answer(promise) { try index.changeQueryLog(enabled: enabled, includeText: includeText, clear: clear) }
        case .head(let file, let promise): answer(promise) { try index.installHead(file) }
        }
    }

    /// Runs a job alone and answers it, freeing its place in the queue first.
    private func answer<Value>(_ promise: EventLoopPromise<Value>, _ work: () throws -> Value) {
        let result = Result(catching: work)
        queue.release(1)
        promise.completeWith(result)
    }

    private func commit(upserts: ArraySlice<Job>) {
        var groups: [[DocumentInput]] = [], promises: [EventLoopPromise<WriteReport>] = []
        for case .upsert(let documents, let promise) in upserts {
            groups.append(documents)
            promises.append(promise)
        }
        let written = Result { try index.upsert(groups: groups) }
        // A written request waits no more, and its client may send the next one as soon as it
        // is answered: free its place first (upkeep after it must not refuse new work).
        queue.release(promises.count)
        switch written {
        case .success(let reports): for (promise, report) in zip(promises, reports) { promise.succeed(report) }
        case .failure(let error): for promise in promises { promise.fail(error) }
        }
    }

    /// The upkeep due after writes (`Index.upkeep`: the same as after `mrl index`).
    /// Searches go on meanwhile.
    private func maintain() {
        do {
            let upkeep = try index.upkeep()
            if let change = upkeep.head {
                let chosen = change.choice.map { choice in
                    ", chosen on \(choice.heldOut) held-out logged queries (candidates a \(choice.prefix)-d search keeps for 95% of their full top 10: "
                        + choice.shortlists.map { "\($0.kind.rawValue) \($0.shortlist)" }.joined(separator: ", ") + ")"
                } ?? ""
                logger.info("fitted the \(change.kind.rawValue) head (version \(change.version)) in \(change.seconds) s\(chosen)", metadata: ["index": "\(index.name)"])
            }
            if let build = upkeep.graph {
                logger.info("built the graph: \(build.record.nodes) nodes in \(build.record.buildSeconds) s", metadata: ["index": "\(index.name)"])
            }
            if let model = upkeep.costModel {
                logger.info("measured \(model.measurements.count) plans for the planner", metadata: ["index": "\(index.name)"])
            }
        } catch {
            logger.warning("index upkeep failed (writes are committed; it is retried after the next write): \(error)", metadata: ["index": "\(index.name)"])
        }
    }
}
