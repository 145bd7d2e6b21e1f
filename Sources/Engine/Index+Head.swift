import Embedding
import Foundation
import Store

/// The kinds of head an index can search with (none, pca, adaptor).
public typealias HeadKind = MatryoshkaHead.Kind

/// What a change of head did, for `mrl head`, `mrl index` and `mrl info`.
public struct HeadChange: Sendable {
    public var kind: MatryoshkaHead.Kind
    public var version: UInt32
    /// Documents the head was fitted on (sampled from the index).
    public var samples: Int
    public var documents: Int
    /// Share of the corpus variance in the first 32, 64, 128, ... coordinates (PCA only).
    public var varianceInPrefix: [(dims: Int, share: Double)]
    /// How training went (adaptor only).
    public var training: AdaptorTrainer.Report?
    /// Queries whose full-dimension rankings the adaptor was distilled from, and where they
    /// came from ("log" or "queries"; 0 and nil for none).
    public var distilledFrom = 0
    public var queriesSource: String?
    /// What the heads measured on logged queries when the automatic head was chosen on them.
    public var choice: Index.HeadChoice?
    /// Why the head is not the kind asked for (an adaptor on too few documents is a PCA head).
    public var fallback: String?
    public var seconds: Double
}

extension Index {
    /// Index size at which `mrl index` fits a PCA head by itself, and the growth factor at
    /// which it refits one it fitted: enough documents for a stable covariance, few refits.
    public static let automaticHeadMinimum = 2_000
    public static let automaticHeadRegrowth = 4
    /// Documents a head is fitted or trained on at most, spread evenly over the index: enough
    /// for a stable covariance and for an adaptor's epochs, and a bounded training time.
    public static let headSampleLimit = 50_000

    /// The current head and its record (nil record: never set, the identity). Decoded once
    /// per committed state and cached, since every search rotates its query with it.
    public func currentHead() throws -> (record: HeadRecord?, head: MatryoshkaHead) {
        try store.read { try currentHead(in: $0) }
    }

    func currentHead(in snapshot: Snapshot) throws -> (record: HeadRecord?, head: MatryoshkaHead) {
        // Decoding the record costs tens of microseconds: once per committed state, not per query.
        let version = snapshot.version
        if let cached = headCache.withLock({ $0 }), cached.version == version { return (cached.record, cached.head) }
        let stored = try snapshot.head()
        var head = MatryoshkaHead.identity(dimensions: manifest.dimensions)
        if let record = stored, !record.isIdentity {
            if let cached = headCache.withLock({ $0 }), cached.record == record {
                head = cached.head
            } else {
                guard let kind = MatryoshkaHead.Kind(rawValue: record.kind) else {
                    throw EngineError.unsupportedHead(index: name, kind: record.kind)
                }
                if let model = record.model, let own = manifest.model?.fingerprint, model != own {
                    throw EngineError.headOfAnotherModel(index: name, kind: record.kind)
                }
                head = try MatryoshkaHead(kind: kind, dimensions: manifest.dimensions,
                                          matrix: try snapshot.headMatrix(version: record.version))
            }
        }
        headCache.withLock { $0 = (version, stored, head) }
        return (stored, head)
    }

    /// Fits a head of `kind` on (a sample of at most `sampleLimit` of) the index's raw
    /// vectors and makes it current: its copy of the vectors is written a few blocks per
    /// transaction, and searches use the old head until the new one is complete.
    /// `automatic` lets later `mrl index` runs refit it as the index grows. An adaptor is
    /// trained with `adaptor` (reporting each step to `training`), on `pairs` when given
    /// (supervised: each query should find its relevant document), distilled from the queries
    /// `queries` stands for (the log's by default, once it holds `graphGuidanceMinimum`); on
    /// fewer documents than it needs, a PCA head is fitted instead and `fallback` says so.
    /// Throws `HeadError.tooFewSamples` (PCA on too small an index), `AdaptorError.diverged`
    /// and the store's errors.
    @discardableResult
    public func changeHead(to kind: MatryoshkaHead.Kind, automatic: Bool, sampleLimit: Int = Index.headSampleLimit,
                           adaptor: AdaptorTrainer.Options = .init(), pairs: [KnownItemQuery]? = nil, queries: QueryGuidance = .log,
                           training: (_ step: Int, _ steps: Int, _ loss: Double) -> Void = { _, _, _ in },
                           progress: (_ blocksDone: Int, _ blocks: Int) -> Void = { _, _ in }) throws -> HeadChange {
        let started = Date()
        let (samples, count, documents, distilled) = try store.read { snapshot in
            let (rows, count, _) = try sampleRawVectors(snapshot, limit: sampleLimit)
            return (rows, count, try snapshot.documentCount(), kind == .adaptor ? try queriesSample(queries, in: snapshot) : nil)
        }
        var head = MatryoshkaHead.identity(dimensions: manifest.dimensions)
        var share: [Float] = [], report: AdaptorTrainer.Report?, fallback: String?
        if kind == .adaptor && count < AdaptorTrainer.minimumSamples {
            fallback = "\(AdaptorError.tooFewSamples(found: count, needed: AdaptorTrainer.minimumSamples)): fitted a PCA head instead"
        }
        if kind == .pca || fallback != nil {
            (head, share) = try MatryoshkaHead.fitPCA(samples: samples, count: count, dimensions: manifest.dimensions)
        } else if kind == .adaptor {
            (head, report) = try AdaptorTrainer(options: adaptor).train(samples: samples, count: count, dimensions: manifest.dimensions,
                                                                         pairs: try pairs.map(trainingPairs),
                                                                         queries: distilled.map { $0.queries.flatMap { $0 } }, progress: training)
        }
        let version = try install(head, automatic: automatic, fittedOn: documents, model: nil, progress: progress)
        let distilledFrom = report == nil ? nil : distilled
        return HeadChange(kind: head.kind, version: version, samples: count, documents: documents,
                          varianceInPrefix: prefixShares(share), training: report, distilledFrom: distilledFrom?.queries.count ?? 0,
                          queriesSource: distilledFrom?.source, fallback: fallback, seconds: Date().timeIntervalSince(started))
    }

    /// The cumulative share of variance `share` (PCA's, per axis) at each prefix boundary.
    func prefixShares(_ share: [Float]) -> [(dims: Int, share: Double)] {
        var cumulative: Float = 0
        return share.enumerated().compactMap { i, s -> (Int, Double)? in
            cumulative += s
            return layout.boundaries.dropFirst().contains(i + 1) ? (i + 1, Double(cumulative)) : nil
        }
    }

    /// The current head as a file (`mrl head --save`, `GET /indexes/{name}/head`).
    public func headFile() throws -> HeadFile {
        let (record, head) = try currentHead()
        return HeadFile(head: head.kind, dimensions: manifest.dimensions, model: head.kind == .none ? nil : record?.model,
                        fittedOn: head.kind == .none ? 0 : record?.fittedOn ?? 0, matrix: head.matrix ?? [])
    }

    /// Makes `file`'s head current, as it is (fitted elsewhere: on a sample of every shard of
    /// a sharded index, say), and never refits it by itself. Throws `invalidRequest` naming
    /// the field when it is for other dimensions or another model's vectors.
    @discardableResult
    public func installHead(_ file: HeadFile, progress: (_ blocksDone: Int, _ blocks: Int) -> Void = { _, _ in }) throws -> HeadChange {
        let started = Date()
        guard file.dimensions == manifest.dimensions else {
            throw EngineError.invalidRequest(field: "dimensions", message: "the head is for \(file.dimensions)-d vectors, and index \"\(name)\" holds \(manifest.dimensions)-d ones")
        }
        if let model = file.model, let own = manifest.model?.fingerprint, model != own {
            throw EngineError.invalidRequest(field: "model", message: "the head was fitted on the vectors of model \(model), and index \"\(name)\" embeds with model \(own): fit a head on this model's vectors")
        }
        let head = try MatryoshkaHead(kind: file.head, dimensions: file.dimensions, matrix: file.head == .none ? nil : file.matrix)
        let version = try install(head, automatic: false, fittedOn: file.fittedOn, model: file.model, progress: progress)
        return HeadChange(kind: head.kind, version: version, samples: file.fittedOn, documents: try store.read { try $0.documentCount() },
                          varianceInPrefix: [], training: nil, fallback: nil, seconds: Date().timeIntervalSince(started))
    }

    /// Writes `head`'s copy of the vectors a few blocks per transaction, then makes it current
    /// (with a graph over it, when the index has one) in one transaction. Returns its version.
    func install(_ head: MatryoshkaHead, automatic: Bool, fittedOn: Int, model: String?, chosenOnLog: Int? = nil,
                 progress: (_ blocksDone: Int, _ blocks: Int) -> Void) throws -> UInt32 {
        for _ in 0..<3 {  // begin again if a write landed meanwhile (never with one writer process)
            let pending = try store.beginHead(kind: head.kind.rawValue, matrix: head.matrix, fittedOn: fittedOn,
                                              automatic: automatic, model: model, chosenOnLog: chosenOnLog)
            if head.kind != .none {
                let blocks = try store.read { try $0.blockIDs() }
                for start in stride(from: 0, to: blocks.count, by: 8) {
                    let chunk = Array(blocks[start..<min(start + 8, blocks.count)])
                    try store.writeHeadBlocks(pending, blocks: chunk) { rows, count in head.apply(rows: rows, count: count) }
                    progress(start + chunk.count, blocks.count)
                }
            }
            // An index with a graph gets one over the new head in the same transaction that
            // makes the head current: no moment, crash or not, with a stale graph.
            let graph = try storedGraphOptions().map { try graphInMemory(over: pending.record, options: $0) }
            let finished = try store.finishHead(pending) { transaction in
                if let (builder, record) = graph { try put(builder, record, into: transaction) }
            }
            if finished {
                writerGraph.withLock { $0 = WriterGraph() }
                return pending.record.version
            }
        }
        throw StoreError.headChanged(path: store.directory)
    }

    /// Fits a PCA head when the index has grown enough for one and nobody chose a head by
    /// hand: first at `automaticHeadMinimum` documents, again each time it has grown
    /// `automaticHeadRegrowth`-fold (an automatic adaptor is retrained then). Once the query
    /// log is large enough, the head is chosen on it instead (`chooseHeadOnLog`), and chosen
    /// again as the log or the index grows. Returns what it did, or nil when nothing was due.
    public func refitHeadIfDue(adaptor: AdaptorTrainer.Options = .init(), training: (Int, Int, Double) -> Void = { _, _, _ in },
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> HeadChange? {
        let (record, documents, choose) = try store.read { snapshot in
            let record = try snapshot.head()
            return (record, try snapshot.documentCount(), try headChoiceIsDue(record, in: snapshot))
        }
        guard record?.automatic ?? true, documents >= Index.automaticHeadMinimum else { return nil }
        func choice() throws -> HeadChange { try chooseHeadOnLog(adaptor: adaptor, training: training, progress: progress) }
        if choose { return try choice() }
        if let record, record.chosenOnLog != nil {
            // Chosen on the log: chosen again once the index has grown, or refitted as it is
            // when the log has since been cleared (truncation has nothing to refit).
            guard documents >= record.fittedOn * Index.automaticHeadRegrowth else { return nil }
            if try store.read({ try $0.loggedQueryCount() }) >= Index.graphGuidanceMinimum { return try choice() }
            guard let kind = MatryoshkaHead.Kind(rawValue: record.kind), kind != .none else { return nil }
            return try changeHead(to: kind, automatic: true, adaptor: adaptor, training: training, progress: progress)
        }
        let kind: MatryoshkaHead.Kind = record?.kind == MatryoshkaHead.Kind.adaptor.rawValue ? .adaptor : .pca
        if let record, !record.isIdentity, documents < record.fittedOn * Index.automaticHeadRegrowth { return nil }
        return try changeHead(to: kind, automatic: true, adaptor: adaptor, training: training, progress: progress)
    }

    /// Raw vectors of `queries` and of their relevant documents, for supervised training;
    /// queries whose document is not in the index are left out.
    func trainingPairs(_ queries: [KnownItemQuery]) throws -> AdaptorTrainer.Pairs {
        let documents = try store.read { snapshot in try queries.map { try snapshot.vector(id: $0.relevantID) } }
        let kept = queries.indices.filter { documents[$0] != nil }
        let vectors = try queryVectors(kept.map { queries[$0] })
        return AdaptorTrainer.Pairs(queries: vectors.flatMap { $0 }, documents: kept.flatMap { documents[$0]! }, count: kept.count)
    }

    /// min(`limit`, live) live raw vectors spread evenly over the index, row-major, and
    /// their internal ids.
    func sampleRawVectors(_ snapshot: Snapshot, limit: Int) throws -> (rows: [Float], count: Int, ids: [UInt32]) {
        let blocks = try snapshot.vectorBlocks(space: .raw)
        let live = blocks.reduce(0) { total, block in total + (0..<block.rows).filter { block.live[$0] != 0 }.count }
        var rows: [Float] = [], ids: [UInt32] = []
        rows.reserveCapacity(min(live, limit) * manifest.dimensions)
        var seen = 0
        for block in blocks {
            for i in 0..<block.rows where block.live[i] != 0 {
                defer { seen += 1 }
                // Take row `seen` when it starts a new stretch of live/limit rows.
                guard live <= limit || seen * limit / live != (seen - 1) * limit / live || seen == 0 else { continue }
                ids.append(block.firstID + UInt32(i))
                for s in 0..<layout.segmentCount {
                    let width = layout.width(s)
                    rows.append(contentsOf: UnsafeBufferPointer(start: block.segments[s] + i * width, count: width))
                }
            }
        }
        return (rows, ids.count, ids)
    }
}
