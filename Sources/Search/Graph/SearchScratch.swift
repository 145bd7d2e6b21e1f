/// A binary min-heap of hits on `score`, in memory it keeps between uses, so a walk that
/// has warmed up pushes and pops without allocating. The beam keeps two: results (root =
/// worst kept) and candidates, pushed with negated scores (root = best unexpanded).
///
/// A value type over raw memory so a hot loop can hold it in a local, free of the
/// exclusivity checks that a class property would cost on every access; the owner
/// (`SearchScratch`) frees it.
struct HitHeap {
    private(set) var count = 0
    private var capacity = 0
    private var storage = UnsafeMutablePointer<Hit>.allocate(capacity: 1)

    var isEmpty: Bool { count == 0 }
    @inline(__always) var top: Hit { storage[0] }

    mutating func removeAll() { count = 0 }

    mutating func push(_ hit: Hit) {
        if count == capacity { grow() }
        var i = count
        count += 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard storage[parent].score > hit.score else { break }
            storage[i] = storage[parent]
            i = parent
        }
        storage[i] = hit
    }

    mutating func pop() -> Hit {
        let root = storage[0]
        count -= 1
        let last = storage[count]
        var i = 0
        while true {
            let l = 2 * i + 1
            guard l < count else { break }
            let r = l + 1
            let child = r < count && storage[r].score < storage[l].score ? r : l
            guard storage[child].score < last.score else { break }
            storage[i] = storage[child]
            i = child
        }
        storage[i] = last
        return root
    }

    private mutating func grow() {
        let grown = max(64, capacity * 2)
        let moved = UnsafeMutablePointer<Hit>.allocate(capacity: grown)
        moved.moveInitialize(from: storage, count: count)
        storage.deallocate()
        storage = moved
        capacity = grown
    }

    func deallocate() { storage.deallocate() }
}

/// Which nodes a walk has seen: a stamp per node, equal to the current generation when
/// seen. Starting a walk bumps the generation instead of clearing N entries.
struct VisitedSet {
    private var stamps = UnsafeMutablePointer<UInt16>.allocate(capacity: 1)
    private var capacity = 0
    private var generation: UInt16 = 0

    /// Forgets every node; `nodes` bounds the ids the walk will mark.
    mutating func reset(nodes: Int) {
        if nodes > capacity {
            stamps.deallocate()
            capacity = max(nodes, capacity * 2)
            stamps = .allocate(capacity: capacity)
            stamps.initialize(repeating: 0, count: capacity)
            generation = 0
        }
        generation &+= 1
        if generation == 0 {  // wrapped: old stamps could read as current
            stamps.update(repeating: 0, count: capacity)
            generation = 1
        }
    }

    /// Marks `node`; true if it was not marked since the last reset.
    @inline(__always)
    mutating func insert(_ node: UInt32) -> Bool {
        let slot = stamps + Int(node)
        if slot.pointee == generation { return false }
        slot.pointee = generation
        return true
    }

    func deallocate() { stamps.deallocate() }
}

/// Memory a walk reuses: one per thread (a searcher, a build worker).
final class SearchScratch {
    var visited = VisitedSet()
    var candidates = HitHeap()
    var results = HitHeap()
    /// What a walk that may widen passed over (see `beam`'s `settingAside`).
    var outranked: [Hit] = [], evicted: [Hit] = []
    /// A node's unseen neighbours, gathered before they are scored.
    let pending = ScratchBuffer<UInt32>(capacity: 64)

    deinit {
        visited.deallocate()
        candidates.deallocate()
        results.deallocate()
    }
}

/// A fixed-size run of scratch memory, grown (contents dropped) on demand.
final class ScratchBuffer<Element> {
    private(set) var pointer = UnsafeMutablePointer<Element>.allocate(capacity: 1)
    private var capacity = 1

    init(capacity: Int = 1) { reserve(capacity) }

    /// Room for at least `count` elements; returns the (possibly moved) start.
    @discardableResult
    func reserve(_ count: Int) -> UnsafeMutablePointer<Element> {
        if count > capacity {
            pointer.deallocate()
            capacity = max(count, capacity * 2)
            pointer = .allocate(capacity: capacity)
        }
        return pointer
    }

    deinit { pointer.deallocate() }
}
