#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Memory for what a graph walk touches at random (its vectors, its links): megabytes read
/// a few hundred bytes at a time, one place after another. On 4 KB pages nearly every step
/// misses the TLB as well as the cache, so large runs are asked to be backed by 2 MB pages
/// (transparent huge pages, where the kernel allows them; elsewhere a plain allocation).
public enum GraphMemory {
    public static let hugePage = 2 << 20

    /// `byteCount` bytes aligned to 64 (to 2 MB, with huge pages asked for, from 2 MB on).
    /// Free with `deallocate`.
    public static func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        let huge = byteCount >= hugePage
        let size = huge ? (byteCount + hugePage - 1) / hugePage * hugePage : max(byteCount, 1)
        var pointer: UnsafeMutableRawPointer?
        guard posix_memalign(&pointer, huge ? hugePage : 64, size) == 0, let pointer else {
            fatalError("out of memory allocating \(size) bytes for a graph walk")
        }
        #if os(Linux)
        if huge { _ = madvise(pointer, size, 14) }  // MADV_HUGEPAGE; a refusal only costs speed
        #endif
        return pointer
    }

    /// Frees what `allocate` returned (both kinds come from the C allocator).
    public static func deallocate(_ pointer: UnsafeMutableRawPointer) { free(pointer) }
}
