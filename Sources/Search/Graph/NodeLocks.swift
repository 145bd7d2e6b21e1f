import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Mutexes for a parallel build: one per stripe of node ids (a lock per node would cost 40
/// bytes a node), plus one for the entry point. A thread holds at most one stripe at a
/// time, and takes a stripe only after the entry lock, never before it, so no two threads
/// can wait on each other. pthread mutexes rather than spin locks: the build shares two
/// cores with other work, and a preempted lock holder must not leave the other core spinning.
final class NodeLocks: @unchecked Sendable {
    private let stripes: UnsafeMutablePointer<pthread_mutex_t>
    private let entry: UnsafeMutablePointer<pthread_mutex_t>
    private let mask: Int

    init(stripeCount: Int = 4096) {
        precondition(stripeCount > 0 && stripeCount & (stripeCount - 1) == 0)
        mask = stripeCount - 1
        stripes = .allocate(capacity: stripeCount)
        entry = .allocate(capacity: 1)
        for i in 0..<stripeCount { pthread_mutex_init(stripes + i, nil) }
        pthread_mutex_init(entry, nil)
    }

    deinit {
        for i in 0...mask { pthread_mutex_destroy(stripes + i) }
        pthread_mutex_destroy(entry)
        stripes.deallocate()
        entry.deallocate()
    }

    @inline(__always) func lock(_ node: UInt32) { pthread_mutex_lock(stripes + (Int(node) & mask)) }
    @inline(__always) func unlock(_ node: UInt32) { pthread_mutex_unlock(stripes + (Int(node) & mask)) }
    func lockEntry() { pthread_mutex_lock(entry) }
    func unlockEntry() { pthread_mutex_unlock(entry) }
}

/// The builder's view of the links while other threads change them: each list is copied
/// out under its node's lock, so a walk never reads a list half-written.
struct LockedAdjacency: GraphAdjacency {
    let layers: GraphLayers
    let locks: NodeLocks
    /// Room for one level-0 list; each call overwrites it.
    let copy: UnsafeMutablePointer<UInt32>
    /// Nodes another thread is still linking (flag 1), left out of every list read: their lower
    /// levels may still be empty, and a walk that descends through one would link the node it
    /// inserts to that one alone (which cost a 2-thread build a point of recall).
    let inserting: UnsafeMutablePointer<UInt8>?

    var entryPoint: UInt32? { layers.entryPoint }
    var maxLevel: Int { layers.maxLevel }
    var idLimit: Int { layers.idLimit }

    func neighbors(of node: UInt32, level: Int) -> UnsafeBufferPointer<UInt32> {
        locks.lock(node)
        let links = layers.neighbors(of: node, level: level)
        if let start = links.baseAddress, links.count > 0 { copy.update(from: start, count: links.count) }
        locks.unlock(node)
        guard let inserting else { return UnsafeBufferPointer(start: copy, count: links.count) }
        var kept = 0
        for i in 0..<links.count where mrl_flag_load(inserting, Int(copy[i])) == 0 {
            copy[kept] = copy[i]
            kept += 1
        }
        return UnsafeBufferPointer(start: copy, count: kept)
    }
}
