import Embedding
import Foundation
import Search
import Store

/// What building a graph did, for `mrl graph` and `mrl index`.
public struct GraphBuild: Sendable {
    public var record: GraphRecord
    public var threads: Int
}

extension Index {
    /// Index size from which `mrl index` builds a graph by itself: below it an exact scan
    /// costs well under a millisecond.
    public static let automaticGraphMinimum = 5_000

    /// Options of a graph build.
    public struct GraphOptions: Sendable {
        /// Prefix of the head-space vectors the graph walks (a stored segment boundary). 128
        /// measured best on MiniLM's Debian vectors: 64-d neighbours are too often not the
        /// 384-d ones, so the beam must be wider than the cheaper distances pay for.
        public var dims = 128
        public var m = 16
        public var efConstruction = 128
        public var encoding = GraphVectors.Encoding.int8
        public var threads = 2
        /// Queries whose neighbours get linked too (see `QueryGuidance`).
        public var guidance = QueryGuidance.log
        public init() {}
    }

    /// The stored graph for `snapshot`, loaded once per committed state; nil when the index
    /// has none or it was built over another head's vectors (stale).
    func loadedGraph(in snapshot: Snapshot, head: HeadRecord?) throws -> LoadedGraph? {
        let version = snapshot.version
        if let cached = graphCache.withLock({ $0 }), cached.version == version { return cached.graph }
        var loaded: LoadedGraph?
        if let record = try snapshot.graphRecord(), record.isOver(head) {
            let blocks = try snapshot.vectorBlocks(space: head?.space ?? .raw)
            let key = GraphCore.Key(vectorsGeneration: try snapshot.vectorsGeneration(), head: head, graph: record)
            let kept = graphCache.withLock { $0?.graph?.core }
            let core = try kept.flatMap { $0.key == key ? $0 : nil } ?? GraphCore(key: key, snapshot: snapshot, blocks: blocks, layout: layout)
            loaded = LoadedGraph(core: core, snapshot: snapshot, blocks: blocks, rawBlocks: try snapshot.vectorBlocks(space: .raw),
                                 layout: layout, blockRows: manifest.blockRows)
        }
        graphCache.withLock { $0 = (version, loaded) }
        return loaded
    }

    /// Builds the ANN graph over the current head's vectors on `options.threads` threads and
    /// stores it in one transaction, replacing any graph. Searches use the old graph (or
    /// exact scans) until it commits. Throws `invalidRequest` for dims off the stored
    /// prefixes, `StoreError.headChanged` if the index kept changing, and write errors.
    @discardableResult
    public func buildGraph(_ options: GraphOptions = GraphOptions()) throws -> GraphBuild {
        guard layout.boundaries.dropFirst().contains(options.dims) else {
            throw EngineError.invalidRequest(field: "dims", message:
                "the graph's dims must be one of the stored prefixes \(layout.boundaries.dropFirst().map(String.init).joined(separator: ", ")), got \(options.dims)")
        }
        for _ in 0..<3 {  // begin again if vectors were written meanwhile
            let generation = try store.read { try $0.vectorsGeneration() }
            let head = try store.read { try $0.head() }
            let (builder, record) = try graphInMemory(over: head, options: options)
            let stored = try store.replaceGraph(ifGeneration: generation) { graph in try put(builder, record, into: graph) }
            if stored {
                writerGraph.withLock { $0 = WriterGraph() }
                return GraphBuild(record: record, threads: options.threads)
            }
        }
        throw StoreError.headChanged(path: store.directory)
    }

    /// A graph over `head`'s copy of the vectors (written, if the head is still pending),
    /// built in memory, with its record.
    func graphInMemory(over head: HeadRecord?, options: GraphOptions) throws -> (GraphBuilder, GraphRecord) {
        let started = Date()
        let (vectors, ids, guiding, logSeen) = try store.read { snapshot -> (GraphVectors, [UInt32], GuidingQueries?, Int) in
            let blocks = try snapshot.vectorBlocks(space: head?.space ?? .raw)
            let rows = blocks.last.map { Int($0.firstID) + $0.rows } ?? 0
            let vectors = LoadedGraph.walkVectors(blocks: blocks, rows: rows, dims: options.dims, layout: layout,
                                                  encoding: options.encoding)
            var ids: [UInt32] = []
            for block in blocks { for i in 0..<block.rows where block.live[i] != 0 { ids.append(block.firstID + UInt32(i)) } }
            return (vectors, ids, try guidingQueries(options.guidance, in: snapshot, threads: options.threads), try queriesLogSaw(snapshot))
        }
        let builder = GraphBuilder(vectors: vectors, parameters: .init(m: options.m, efConstruction: options.efConstruction))
        builder.insert(ids, threads: options.threads)
        let links = guiding.map { builder.addQueryEdges($0.neighbors).added } ?? 0
        var record = GraphRecord(dims: options.dims, m: options.m, efConstruction: options.efConstruction,
                                 encoding: options.encoding.rawValue, headVersion: head?.version ?? 0,
                                 nodes: builder.layers.count, buildSeconds: Date().timeIntervalSince(started))
        record.guidance = options.guidance == .none ? "none" : guiding?.source
        if let guiding { (record.guidedBy, record.queryLinks, record.logSeen) = (guiding.count, links, logSeen) }
        return (builder, record)
    }

    /// The options the stored graph was built with, to rebuild it alike; nil when there is none.
    public func storedGraphOptions() throws -> GraphOptions? {
        guard let record = try store.read({ try $0.graphRecord() }) else { return nil }
        var options = GraphOptions()
        options.dims = record.dims
        options.m = record.m
        options.efConstruction = record.efConstruction
        options.encoding = GraphVectors.Encoding(rawValue: record.encoding) ?? .int8
        options.guidance = record.guidance == "none" ? .none : .log
        return options
    }

    /// Removes the graph; searches scan exactly. Returns whether there was one.
    public func dropGraph() throws -> Bool {
        var had = false
        _ = try store.replaceGraph(ifGeneration: try store.read { try $0.vectorsGeneration() }) { graph in
            had = try graph.record() != nil
            try graph.drop()
        }
        writerGraph.withLock { $0 = WriterGraph() }
        return had
    }

    /// Builds a graph when the index is big enough for one to pay and has none, or only a
    /// stale one (built over another head), or when the query log has grown enough to guide
    /// it anew (`graphGuidanceIsDue`). Returns what it did, or nil.
    public func buildGraphIfDue() throws -> GraphBuild? {
        let (record, head, documents, guidanceDue) = try store.read { snapshot in
            let record = try snapshot.graphRecord()
            return (record, try snapshot.head(), try snapshot.documentCount(), try record.map { try graphGuidanceIsDue($0, in: snapshot) } ?? false)
        }
        if let record, record.isOver(head), !guidanceDue { return nil }
        guard documents >= Index.automaticGraphMinimum || record != nil else { return nil }
        return try buildGraph(try storedGraphOptions() ?? defaultGraphOptions)
    }

    /// The default options, with the prefix cut to the index's size (a 32-d index walks 32 dims).
    public var defaultGraphOptions: GraphOptions {
        var options = GraphOptions()
        options.dims = layout.boundaries.dropFirst().last { $0 <= options.dims } ?? layout.dimensions
        return options
    }

    /// Keeps the stored graph in step with a write, inside its transaction: rows written
    /// (re)enter the graph with `walkRows`, rows deleted leave it. The writer's graph is
    /// kept in memory between batches, so the write must run in `changingGraph`.
    func updateGraph(_ graph: GraphTransaction, head: HeadRecord?, written: [(UInt32, [Float])], deleted: [UInt32]) throws {
        guard let record = try graph.record(), record.isOver(head) else { return }
        // A copy changed by an attempt that did not commit (the map grew and the
        // transaction runs again) is not the stored graph any more.
        writerGraph.withLock { if $0.uncommitted { $0 = WriterGraph() } }
        let builder = try writerGraphBuilder(record: record, head: head)
        writerGraph.withLock { $0.uncommitted = true }
        // A changed document's node leaves and re-enters, linked for its new vector.
        builder.delete(Set(deleted + written.map(\.0)).filter(builder.layers.contains))
        for (id, vector) in written { builder.vectors.set(id: id, to: LoadedGraph.walkRow(vector, dims: record.dims)) }
        builder.insert(written.map(\.0))
        var updated = record
        updated.nodes = builder.layers.count
        try put(builder, updated, into: graph)
    }

    /// Runs a store write whose transaction calls `updateGraph`: the writer's copy of the
    /// graph is kept only if the transaction commits. A failed one (disk full, an I/O error
    /// at commit) leaves the stored graph as it was, so the copy is dropped, to be reloaded.
    func changingGraph<T>(_ write: () throws -> T) throws -> T {
        do {
            let result = try write()
            writerGraph.withLock { $0.uncommitted = false }
            return result
        } catch {
            writerGraph.withLock { $0 = WriterGraph() }
            throw error
        }
    }

    /// The writer's changeable copy of the stored graph, restored on first use.
    private func writerGraphBuilder(record: GraphRecord, head: HeadRecord?) throws -> GraphBuilder {
        if let builder = writerGraph.withLock({ $0.builder }) { return builder }
        let builder = try store.read { snapshot -> GraphBuilder in
            guard let loaded = try loadedGraph(in: snapshot, head: head) else {
                throw StoreError.corrupt(path: store.directory, detail: "graph record without graph data")
            }
            let shared = loaded.vectors  // searches read it: the writer changes a copy
            let copy = GraphVectors(encoding: shared.encoding, dimensions: shared.dimensions, bytes: shared.bytes, scales: shared.scales)
            return GraphBuilder(vectors: copy, parameters: .init(m: record.m, efConstruction: record.efConstruction),
                                layers: GraphLayers(restoring: loaded.graph))
        }
        writerGraph.withLock { $0.builder = builder }
        return builder
    }

    func put(_ builder: GraphBuilder, _ record: GraphRecord, into graph: GraphTransaction) throws {
        let layers = builder.layers
        try graph.put(record, blockCount: layers.level0BlockCount, level0Block: { layers.level0Block($0) },
                      upperLevels: layers.encodeUpperLevels())
    }
}

/// The writer's in-memory copy of the stored graph, which each write changes inside its
/// transaction (see `changingGraph`).
struct WriterGraph {
    var builder: GraphBuilder?
    /// Changed by a transaction that has not committed yet.
    var uncommitted = false
}
