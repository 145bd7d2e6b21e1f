import Embedding
import Foundation

/// Keeps the CPU time of the thread that calls `pause` within `share` of one core: time
/// accrues at `share` of wall time (at most `burst` seconds of it saved up), the thread's own
/// CPU time is spent from it, and `pause` sleeps while it is spent or while `busy` says
/// requests wait. Over any minute the thread uses at most `share` + `burst` / 60 of a core.
/// Used from one thread at a time.
final class CPUBudget: @unchecked Sendable {  // one thread at a time: the monitor's
    /// May change between pauses (a re-tune runs at a larger share).
    var share: Double
    let burst: Double
    private var saved: Double
    private var lastWall: Double
    private var lastCPU: Double
    /// CPU seconds spent in all.
    private(set) var spent = 0.0

    init(share: Double, burst: Double) {
        self.share = share
        self.burst = burst
        saved = burst
        lastWall = Seconds.monotonic()
        lastCPU = Seconds.threadCPU()
    }

    /// Returns when the budget has time for more work and `busy` is false; throws
    /// `CancellationError` as soon as `stopped` is true.
    func pause(busy: () -> Bool, stopped: () -> Bool) throws {
        account()
        while saved <= 0 || busy() {
            if stopped() { throw CancellationError() }
            Thread.sleep(forTimeInterval: min(max(-saved / share, 0.01), 0.25))
            account()
        }
        if stopped() { throw CancellationError() }
    }

    private func account() {
        let wall = Seconds.monotonic(), cpu = Seconds.threadCPU()
        saved = min(burst, saved + (wall - lastWall) * share) - (cpu - lastCPU)
        spent += cpu - lastCPU
        (lastWall, lastCPU) = (wall, cpu)
    }
}
