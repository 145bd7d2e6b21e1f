import CBLAS

/// OpenBLAS's own threads, switched off once per process.
///
/// mrl parallelises above BLAS (the encoder splits batches across cores, the daemon runs one
/// search per event loop), so OpenBLAS threads only compete: left on, every small `sgemv` of a
/// head wakes them and they spin in `sched_yield` after it, which took the daemon's p99 from
/// 0.2 ms to 3 ms under load.
public enum BLASThreads {
    public static let single: Void = openblas_set_num_threads(1)
}
