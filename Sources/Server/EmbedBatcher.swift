import Dispatch
import Engine
import Foundation
import NIOCore
import Synchronization

/// Embeds the text of queries that arrive together in one encoder batch (dynamic
/// micro-batching). While the encoder runs a batch, new texts queue up and go together
/// into the next; an idle encoder waits at most `wait` after a first text for company.
final class EmbedBatcher: Sendable {
    private struct Item: Sendable {
        var text: String
        var precision: Precision
        var promise: EventLoopPromise<[Float]>
        var arrival: DispatchTime
    }

    private let pending = Mutex<[Item]>([])
    private let ready = DispatchSemaphore(value: 0)
    private let wait: TimeInterval
    private let maxBatch: Int
    private let queue: WorkQueue
    private let metrics: ServerMetrics
    private let stopping = Atomic(false)

    init(wait: TimeInterval, maxBatch: Int, queue: WorkQueue, metrics: ServerMetrics) {
        self.wait = wait
        self.maxBatch = maxBatch
        self.queue = queue
        self.metrics = metrics
        let thread = Thread { [self] in run() }
        thread.name = "mrl-encoder"
        thread.start()
    }

    /// The embeddings of `texts`, in order, once their batch ran; 503 when too many wait.
    func embed(_ texts: [String], precision: Precision, on eventLoop: EventLoop) throws -> EventLoopFuture<[[Float]]> {
        try queue.admit(texts.count)
        let now = DispatchTime.now()
        let items = texts.map { Item(text: $0, precision: precision, promise: eventLoop.makePromise(), arrival: now) }
        pending.withLock { $0.append(contentsOf: items) }
        for _ in items { ready.signal() }
        return EventLoopFuture.whenAllSucceed(items.map(\.promise.futureResult), on: eventLoop)
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        ready.signal()
    }

    private func run() {
        while true {
            ready.wait()
            if stopping.load(ordering: .relaxed) { break }
            var batch = take()
            if batch.isEmpty { continue }
            let waited = Double(DispatchTime.now().uptimeNanoseconds - batch[0].arrival.uptimeNanoseconds) / 1e9
            if batch.count < maxBatch, waited < wait {
                Thread.sleep(forTimeInterval: wait - waited)
                batch += take(upTo: maxBatch - batch.count)
            }
            // Each taken text had signalled once; consume the signals of those taken late.
            for _ in 1..<batch.count { ready.wait() }
            metrics.encoderBatch(size: batch.count)
            // One forward pass per precision among the batch's texts.
            for precision in Precision.allCases {
                let group = batch.filter { $0.precision == precision }
                guard !group.isEmpty else { continue }
                do {
                    let vectors = try Model.encoder().embed(group.map(\.text), precision: precision)
                    for (item, vector) in zip(group, vectors) { item.promise.succeed(vector) }
                } catch {
                    for item in group { item.promise.fail(error) }
                }
            }
            queue.release(batch.count)
        }
        let left = take(upTo: .max)
        for item in left { item.promise.fail(APIError.overloaded("the server is shutting down")) }
    }

    private func take(upTo limit: Int? = nil) -> [Item] {
        pending.withLock { pending in
            let count = min(limit ?? maxBatch, pending.count)
            defer { pending.removeFirst(count) }
            return Array(pending.prefix(count))
        }
    }
}
