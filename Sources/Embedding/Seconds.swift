import Dispatch
import Foundation

/// The two clocks that CPU-share accounting reads: the encoder's `LaneGate` and the recall
/// monitor's `CPUBudget` both grant time by the monotonic clock and spend a thread's CPU time.
public enum Seconds {
    /// Seconds on the monotonic clock (unmoved by changes to the wall clock).
    public static func monotonic() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// CPU seconds the calling thread has used.
    public static func threadCPU() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
