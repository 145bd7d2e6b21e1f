import Foundation
import Synchronization

/// Shares the cores between the encoder's lanes while a write is embedding, as weighted fair
/// sharing does: queries together get at most `queryShare` of the cores' time, each running on
/// one core beside the write's. Without it a closed-loop search client takes a third of the
/// machine from a write (three busy threads on two cores: the query thread's fair share under
/// Linux); with it a query waits only for its pacing, never for a write's pass. With no write
/// under way, queries run unpaced on every core.
final class LaneGate: Sendable {
    /// The queries' share of the cores' time during a write.
    let queryShare: Double
    /// Query CPU seconds that build up while queries take less than their share, so the first
    /// queries of a write, or a short burst, run unpaced.
    private let burst: Double
    private let cores: Int
    private let state: Mutex<State>

    private struct State {
        var writes = 0
        /// CPU seconds queries may still take before they wait; negative: overdrawn.
        var credit: Double
        var accounted = Seconds.monotonic()
        /// The running mean of a query pass's CPU seconds during writes. Each pass is charged the
        /// mean when it starts, and what it used beyond (or short of) it is repaid over the next
        /// passes, an eighth at a time: a long query makes the next ones wait only a little
        /// longer, and the share holds over a run.
        var meanCost = 0.005
        var owed = 0.0
    }

    /// The most a pass's overrun is carried (CPU seconds): one large `/embed` batch during a
    /// write delays the searches after it by about 0.2 s in all (0.05 s at 15% of two cores),
    /// at the cost of the write's share for that moment.
    private static let maxOwed = 0.05

    init(queryShare: Double = 0.15, burst: Double = 0.02, cores: Int = BertModel.workers) {
        self.queryShare = queryShare
        self.burst = burst
        self.cores = cores
        state = Mutex(State(credit: burst))
    }

    /// Runs a query's pass on the cores it may use: all of them with no write under way, else
    /// one, once the queries' share has room for it.
    func query<T>(_ pass: (_ cores: Int) -> T) -> T {
        // Paced queries wait in short monotonic sleeps, so a write's end or a clock step is
        // noticed within a few milliseconds.
        while let wait = state.withLock({ accrue(&$0) ? nil : min(-$0.credit / rate, 0.005) }) {
            Thread.sleep(forTimeInterval: wait)
        }
        let charge: Double? = state.withLock { state in
            guard state.writes > 0 else { return nil }
            let charge = state.meanCost
            state.credit -= max(0, charge + state.owed / 8)
            state.owed -= state.owed / 8
            return charge
        }
        guard let charge else { return pass(cores) }
        let start = Seconds.threadCPU()
        let result = pass(1)
        let used = Seconds.threadCPU() - start
        state.withLock { state in
            state.owed = min(LaneGate.maxOwed, state.owed + used - charge)
            state.meanCost += (min(used, 2 * state.meanCost) - state.meanCost) / 16
        }
        return result
    }

    /// Marks a write's embedding (all its passes): queries are paced until it ends.
    func write<T>(_ passes: () -> T) -> T {
        state.withLock { state in
            _ = accrue(&state)
            state.writes += 1
        }
        defer { state.withLock { $0.writes -= 1 } }
        return passes()
    }

    /// CPU seconds a second the queries earn: their share of the cores.
    private var rate: Double { queryShare * Double(cores) }

    /// Grants the queries their share of the cores' time since the last account, up to the
    /// burst; whether a query may go now (no write under way, or credit left).
    private func accrue(_ state: inout State) -> Bool {
        let now = Seconds.monotonic()
        state.credit = min(burst, state.credit + (now - state.accounted) * rate)
        state.accounted = now
        return state.writes == 0 || state.credit >= 0
    }
}
