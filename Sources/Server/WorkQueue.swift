import Synchronization

/// Counts the work waiting beyond the event loops (text queries for the encoder, write
/// requests for the writers), so that past a bound the daemon answers 503 at once
/// instead of queueing without limit.
final class WorkQueue: Sendable {
    let bound: Int
    private let waiting = Atomic(0)

    init(bound: Int) { self.bound = bound }

    /// Takes `count` places, or throws 503 when that would pass the bound. A request larger
    /// than the whole bound (a batch search of more texts than `--max-queued`, which the batch
    /// limit allows) is let in when nothing waits: otherwise no retry could ever be served.
    func admit(_ count: Int = 1) throws {
        let after = waiting.add(count, ordering: .relaxed).newValue
        guard after <= bound || after == count else {
            waiting.subtract(count, ordering: .relaxed)
            throw APIError.overloaded("the server has \(after - count) requests waiting (limit \(bound)): retry shortly")
        }
    }

    func release(_ count: Int = 1) { waiting.subtract(count, ordering: .relaxed) }

    var depth: Int { waiting.load(ordering: .relaxed) }
}
