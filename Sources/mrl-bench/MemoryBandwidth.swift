import CKernels
import Dispatch
import Foundation

/// Sustained read bandwidth of this machine, STREAM-style: every thread sums its share of a
/// buffer far larger than the caches. It is the ceiling for an exact scan, which reads each
/// stored float once per query.
enum MemoryBandwidth {
    /// Best of `repeats` passes over `bytes`, in bytes per second.
    static func measure(threads: Int, bytes: Int = 1 << 30, repeats: Int = 5) -> Double {
        let count = bytes / MemoryLayout<Float>.size
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1, count: count)  // touch every page before timing
        nonisolated(unsafe) let shared = UnsafePointer(buffer)
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                let share = count / threads
                // dot(a, a) reads the array once from memory; the second load hits L1.
                let sum = mrl_dot(shared + t * share, shared + t * share, share)
                if sum.isNaN { print("") }  // keep the sum alive
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Double(count * MemoryLayout<Float>.size) / best
    }
}
