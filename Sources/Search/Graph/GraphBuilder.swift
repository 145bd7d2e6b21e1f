import CKernels
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds and maintains an HNSW graph (Malkov & Yashunin) over `GraphVectors`: each node
/// gets a random top level (mean 1/ln M above 0), descends greedily from the entry point,
/// runs a beam of width `efConstruction` on each of its levels, keeps M diverse neighbours
/// (`selectDiverse`) and links both ways, re-choosing a neighbour's links when they overflow.
///
/// ```swift
/// let builder = GraphBuilder(vectors: vectors, parameters: .init(m: 16, efConstruction: 128, seed: 7))
/// builder.insert(0..<UInt32(vectors.rows), threads: 2)
/// builder.delete([3, 9]); vectors.set(id: 3, to: row); builder.insert(id: 3)
/// ```
/// One thread with a given seed builds the same graph every time. Calls must not overlap
/// one another or a search of `layers`; within `insert`, threads lock per node.
public final class GraphBuilder: @unchecked Sendable {
    public struct Parameters: Sendable, Equatable {
        /// Links per node on upper levels (2M on level 0).
        public var m: Int
        /// Beam width while inserting: wider finds better neighbours, slower.
        public var efConstruction: Int
        /// Seeds the level draws.
        public var seed: UInt64

        public init(m: Int = 16, efConstruction: Int = 128, seed: UInt64 = 1) {
            precondition(m >= 2 && efConstruction >= 1)
            self.m = m
            self.efConstruction = efConstruction
            self.seed = seed
        }
    }

    public let parameters: Parameters
    public let vectors: GraphVectors
    public let layers: GraphLayers
    private var rng: SplitMix64
    /// mL of the paper: a level is floor(-ln U · mL), U uniform in (0, 1].
    private let levelScale: Double
    private let locks = NodeLocks()
    /// During a parallel insert, 1 for each node not yet linked (see `LockedAdjacency`).
    private var inserting: UnsafeMutablePointer<UInt8>?
    /// Working memory, one per thread; grown to the largest thread count asked for.
    private(set) var workers: [BuildWorker] = []

    /// Starts from `layers` (e.g. `GraphLayers(restoring:)`) or an empty graph.
    public init(vectors: GraphVectors, parameters: Parameters = Parameters(), layers: GraphLayers? = nil) {
        precondition(layers.map { $0.m == parameters.m } ?? true, "the graph was built with another M")
        self.parameters = parameters
        self.vectors = vectors
        self.layers = layers ?? GraphLayers(m: parameters.m)
        rng = SplitMix64(seed: parameters.seed)
        levelScale = 1 / log(Double(parameters.m))
    }

    /// Adds one node; its vector must already be row `id` of `vectors`.
    public func insert(id: UInt32) { insert([id]) }

    /// Adds nodes in order, on up to `threads` threads (each node's links locked while
    /// changed). Ids may be sparse, and may be ids deleted earlier.
    /// - Precondition: every id has a row in `vectors` and is not in the graph.
    public func insert<Ids: Collection>(_ ids: Ids, threads: Int = 1) where Ids.Element == UInt32 {
        let ids = Array(ids)
        guard let largest = ids.max() else { return }
        precondition(Int(largest) < vectors.rows, "node \(largest) has no vector")
        // Levels are drawn up front, in id order, so the graph depends on the seed alone,
        // and every node's upper lists exist before any thread can link to them.
        let levels = ids.map { _ in randomLevel() }
        layers.reserve(idLimit: Int(largest) + 1)
        for (id, level) in zip(ids, levels) { layers.place(id, level: level) }
        let threads = max(1, min(threads, ids.count))
        while workers.count < threads { workers.append(BuildWorker(dimensions: vectors.dimensions, m: parameters.m)) }

        let startsGraph = layers.entryPoint == nil
        if startsGraph {  // the first node needs no search, and the others need it
            connect(ids[0], level: levels[0], worker: workers[0])
        }
        let first = startsGraph ? 1 : 0
        if threads == 1 {
            for i in first..<ids.count { connect(ids[i], level: levels[i], worker: workers[0]) }
            return
        }
        // Worker w takes every threads-th node; each owns its BuildWorker, and the shared
        // lists are only touched under NodeLocks. A node is hidden from the others' walks
        // until all its levels are linked.
        let flags = UnsafeMutablePointer<UInt8>.allocate(capacity: Int(largest) + 1)
        flags.initialize(repeating: 0, count: Int(largest) + 1)
        for i in first..<ids.count { flags[Int(ids[i])] = 1 }
        inserting = flags
        defer {
            inserting = nil
            flags.deallocate()
        }
        DispatchQueue.concurrentPerform(iterations: threads) { w in
            for i in stride(from: first + w, to: ids.count, by: threads) {
                connect(ids[i], level: levels[i], worker: workers[w])
            }
        }
    }

    /// Links node `id`, already placed at `level`, into the graph (and, in a parallel insert,
    /// clears its `inserting` flag once done).
    private func connect(_ id: UInt32, level: Int, worker: BuildWorker) {
        let query = worker.query.pointer
        vectors.prepare(row: id, into: query)
        locks.lockEntry()
        guard let entry = layers.entryPoint else {
            layers.entryPoint = id
            layers.maxLevel = level
            locks.unlockEntry()
            return
        }
        let top = layers.maxLevel
        // A node that raises the top level holds the entry lock to the end, as hnswlib does:
        // two such nodes in parallel would otherwise each open a new top level blind to the other.
        let raisesTop = level > top
        if !raisesTop { locks.unlockEntry() }

        let graph = LockedAdjacency(layers: layers, locks: locks, copy: worker.copy.pointer, inserting: inserting)
        var cost = 0
        var current = Hit(id: entry, score: vectors.similarity(query, entry))
        for l in stride(from: top, to: level, by: -1) {
            current = worker.scratch.greedyClosest(graph, vectors, query, from: current, level: l, cost: &cost)
        }
        for l in stride(from: min(level, top), through: 0, by: -1) {
            _ = worker.scratch.beam(graph, vectors, query, entry: current, level: l, ef: parameters.efConstruction,
                                    deadline: .max, cost: &cost, allow: { $0 != id })
            let found = worker.found.reserve(worker.scratch.results.count)
            let count = worker.scratch.drainResults(into: found)
            guard count > 0 else { continue }
            current = found[0]
            let kept = selectDiverse(found, count: count, limit: parameters.m, vectors: vectors, scratch: worker.other.pointer)
            locks.lock(id)
            layers.setLinks(of: id, level: l, to: found, count: kept)
            locks.unlock(id)
            for i in 0..<kept { addLink(from: found[i].id, to: id, score: found[i].score, level: l, worker: worker) }
        }
        if raisesTop {
            layers.entryPoint = id
            layers.maxLevel = level
            locks.unlockEntry()
        }
        if let inserting { mrl_flag_store(inserting, Int(id), 0) }
    }

    /// Adds `target` to the links of `node` at `level`; when they are full, re-chooses among
    /// the old links and `target` with the same rule as a new node's.
    private func addLink(from node: UInt32, to target: UInt32, score: Float, level: Int, worker: BuildWorker) {
        let capacity = level == 0 ? 2 * parameters.m : parameters.m
        locks.lock(node)
        defer { locks.unlock(node) }
        let list = layers.list(of: node, level: level)!
        let count = Int(list[0] & GraphFormat.countMask)
        for i in 0..<count where list[1 + i] == target { return }
        if count < capacity {
            list[1 + count] = target
            list[0] += 1
            return
        }
        let hits = worker.pruned.reserve(count + 1)
        let base = worker.nodeQuery.pointer
        vectors.prepare(row: node, into: base)
        for i in 0..<count { hits[i] = Hit(id: list[1 + i], score: vectors.similarity(base, list[1 + i])) }
        hits[count] = Hit(id: target, score: score)
        sortBestFirst(hits, count: count + 1)
        let kept = selectDiverse(hits, count: count + 1, limit: capacity, vectors: vectors, scratch: worker.other.pointer)
        layers.setLinks(of: node, level: level, to: hits, count: kept)
    }

    private func randomLevel() -> Int {
        let unit = Double(rng.next() >> 11) * 0x1p-53  // [0, 1)
        return min(Int(-log(1 - unit) * levelScale), GraphLayers.levelCap)
    }
}

/// One build thread's working memory.
final class BuildWorker {
    let scratch = SearchScratch()
    /// The node being inserted, prepared as a query.
    let query: ScratchBuffer<Float>
    /// A neighbour whose links are being re-chosen, prepared as a query.
    let nodeQuery: ScratchBuffer<Float>
    /// The candidate `selectDiverse` is testing.
    let other: ScratchBuffer<Float>
    /// One list copied out under its lock (`LockedAdjacency`).
    let copy: ScratchBuffer<UInt32>
    /// A beam's results, best first.
    let found = ScratchBuffer<Hit>()
    /// Candidates while re-choosing one node's links.
    let pruned = ScratchBuffer<Hit>()

    init(dimensions: Int, m: Int) {
        query = ScratchBuffer(capacity: dimensions)
        nodeQuery = ScratchBuffer(capacity: dimensions)
        other = ScratchBuffer(capacity: dimensions)
        copy = ScratchBuffer(capacity: GraphFormat.level0Width(m: m))
    }
}
