import Dispatch
import Foundation

/// Shares the cores between the encoder's lanes while a write is embedding, as weighted fair
/// sharing does: queries together get at most `queryShare` of the cores' time, each running on
/// one core beside the write's. Without it a closed-loop search client takes a third of the
/// machine from a write (three busy threads on two cores: the query thread's fair share under
/// Linux); with it a query waits only for its pacing, never for a write's pass. With no write
/// under way, queries run unpaced on every core.
final class LaneGate: @unchecked Sendable {  // all state behind `condition`
    /// The queries' share of the cores' time during a write.
    let queryShare: Double
    /// Query CPU time a write's start grants at once, so the first queries of a write run unpaced.
    private let burst: Double
    private let cores: Int
    private let condition = NSCondition()
    private var writes = 0
    /// CPU seconds queries may still take before they wait; negative: overdrawn.
    private var credit = 0.0
    /// The running mean of a query pass's CPU seconds during writes. Each pass is charged the
    /// mean when it starts, and what it used beyond (or short of) it is repaid over the next
    /// passes, an eighth at a time: a long query does not make the next one wait much longer,
    /// and the share still holds over a run.
    private var meanCost = 0.005
    private var owed = 0.0
    private var accounted = 0.0

    init(queryShare: Double = 0.15, burst: Double = 0.02, cores: Int = BertModel.workers) {
        self.queryShare = queryShare
        self.burst = burst
        self.cores = cores
    }

    /// Runs a query's pass on the cores it may use: all of them with no write under way, else
    /// one, once the queries' share has room for it.
    func query<T>(_ pass: (_ cores: Int) -> T) -> T {
        condition.lock()
        accrue()
        while writes > 0, credit < 0 {
            _ = condition.wait(until: Date(timeIntervalSinceNow: -credit / (queryShare * Double(cores))))
            accrue()
        }
        guard writes > 0 else {
            condition.unlock()
            return pass(cores)
        }
        let charge = meanCost
        credit -= max(0, charge + owed / 8)
        owed -= owed / 8
        condition.unlock()
        let start = LaneGate.threadCPU()
        let result = pass(1)
        let used = LaneGate.threadCPU() - start
        condition.lock()
        owed += used - charge
        meanCost += (used - meanCost) / 16
        condition.unlock()
        return result
    }

    /// Marks a write's embedding (all its passes): queries are paced until it ends.
    func write<T>(_ passes: () -> T) -> T {
        condition.lock()
        if writes == 0 {
            credit = burst
            accounted = LaneGate.now()
        }
        writes += 1
        condition.unlock()
        defer {
            condition.lock()
            writes -= 1
            condition.broadcast()  // a paced query need wait no longer
            condition.unlock()
        }
        return passes()
    }

    /// Grants the queries their share of the cores' time since the last account (lock held).
    private func accrue() {
        let now = LaneGate.now()
        if writes > 0 { credit = min(burst, credit + (now - accounted) * queryShare * Double(cores)) }
        accounted = now
    }

    /// Seconds on the monotonic clock.
    private static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// CPU seconds this thread has used.
    private static func threadCPU() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
