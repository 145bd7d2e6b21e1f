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
        lastWall = CPUBudget.wallSeconds()
        lastCPU = CPUBudget.threadCPUSeconds()
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
        let wall = CPUBudget.wallSeconds(), cpu = CPUBudget.threadCPUSeconds()
        saved = min(burst, saved + (wall - lastWall) * share) - (cpu - lastCPU)
        spent += cpu - lastCPU
        (lastWall, lastCPU) = (wall, cpu)
    }

    private static func wallSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    private static func threadCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
