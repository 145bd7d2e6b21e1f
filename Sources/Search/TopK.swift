/// A scored row.
public struct Hit: Equatable, Sendable {
    public var id: UInt32
    public var score: Float
    public init(id: UInt32, score: Float) {
        self.id = id
        self.score = score
    }

    /// Higher score first; equal scores by lower id, so results do not depend on thread timing.
    @inline(__always)
    static func ranksBefore(_ a: Hit, _ b: Hit) -> Bool {
        a.score > b.score || (a.score == b.score && a.id < b.id)
    }
}

/// The best `k` hits seen so far: a binary min-heap whose root is the worst kept hit,
/// so a candidate that does not beat the root costs one comparison.
public struct TopK {
    public let k: Int
    private var heap: [Hit] = []

    public init(k: Int) {
        precondition(k > 0)
        self.k = k
        heap.reserveCapacity(k)
    }

    /// The score a candidate must beat to enter, or -infinity while not full.
    @inline(__always)
    public var threshold: Float { heap.count < k ? -.infinity : heap[0].score }

    @inline(__always)
    public mutating func offer(_ hit: Hit) {
        if heap.count < k {
            heap.append(hit)
            siftUp(heap.count - 1)
        } else if Hit.ranksBefore(hit, heap[0]) {
            heap[0] = hit
            siftDown(0)
        }
    }

    public mutating func merge(_ other: TopK) {
        for hit in other.heap { offer(hit) }
    }

    /// The kept hits, best first.
    public func sorted() -> [Hit] { heap.sorted(by: Hit.ranksBefore) }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard Hit.ranksBefore(heap[parent], heap[i]) else { return }
            heap.swapAt(parent, i)
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var worst = i
            if l < heap.count, Hit.ranksBefore(heap[worst], heap[l]) { worst = l }
            if r < heap.count, Hit.ranksBefore(heap[worst], heap[r]) { worst = r }
            if worst == i { return }
            heap.swapAt(i, worst)
            i = worst
        }
    }
}
