import Foundation
import Search
import Store

/// A known-item query: a text (or a vector in the model's raw space) and the id of the
/// document that answers it (or the ids of those that do).
public struct KnownItemQuery: Sendable {
    public var query: String?
    public var vector: [Float]?
    /// The ids of the documents (or files, or chunked documents) that answer it: at least one.
    public var relevantIDs: [String]
    /// The first of them (the only one of a known item).
    public var relevantID: String { relevantIDs.first ?? "" }

    public init(query: String? = nil, vector: [Float]? = nil, relevantID: String) {
        self.init(query: query, vector: vector, relevantIDs: [relevantID])
    }

    public init(query: String? = nil, vector: [Float]? = nil, relevantIDs: [String]) {
        self.query = query
        self.vector = vector
        self.relevantIDs = relevantIDs
    }

    /// Reads a JSONL file (plain, .gz or "-") of `{"query": "...", "relevant_id": "..."}`
    /// (`title` stands for a missing `query`; `"relevant_ids": [...]` for several relevant
    /// documents, in place of or beside `relevant_id`), with `"vector": [...]` in place of or
    /// beside the text (both are kept; searches use the vector).
    /// Without `requiringRelevant`, `relevant_id` may be absent (it reads as "").
    /// Throws `badDocument` naming the file, line and field, and `unreadable`.
    public static func read(path: String, requiringRelevant: Bool = true) throws -> [KnownItemQuery] {
        let reader = try LineReader(path: path, maxLineBytes: 16 << 20)
        let source = path == "-" ? "<stdin>" : path
        var queries: [KnownItemQuery] = []
        while let line = try reader.next() {
            let number: Int, bytes: ArraySlice<UInt8>
            switch line {
            case .tooLong(let at):
                throw EngineError.badDocument(source: source, line: at, field: nil, message: "is over the 16 MiB line limit")
            case .text(let at, let text):
                (number, bytes) = (at, text)
            }
            func fail(_ field: String, _ message: String) -> EngineError {
                .badDocument(source: source, line: number, field: field, message: message)
            }
            guard let fields = try DocumentParser.jsonObject(bytes, source: source, line: number) else { continue }
            var relevant = fields["relevant_id"]?.string.map { [$0] } ?? []
            if let list = fields["relevant_ids"], list != .null {
                guard let ids = list.array?.compactMap(\.string), ids.count == list.array?.count, !ids.contains("") else {
                    throw fail("relevant_ids", "is not a list of non-empty strings")
                }
                relevant += ids
            }
            relevant = relevant.filter { !$0.isEmpty }
            guard !relevant.isEmpty || !requiringRelevant else {
                throw fail("relevant_id", "is missing or not a non-empty string (or give \"relevant_ids\", a list)")
            }
            var query = KnownItemQuery(query: fields["query"]?.string ?? fields["title"]?.string, relevantIDs: relevant)
            if let raw = fields["vector"], raw != .null {
                do { query.vector = try DocumentParser.vector(from: raw).get() } catch { throw fail("vector", error.message) }
            } else if query.query == nil {
                throw fail("query", "is missing: each line needs \"query\" (text) or \"vector\"")
            }
            queries.append(query)
        }
        return queries
    }
}

/// Retrieval quality of one way of searching: exact search at a prefix, or a preset.
public struct Quality: Sendable {
    /// "384" for an exact prefix, the preset's name otherwise.
    public var label: String
    public var dims: Int?
    public var plan: SearchPlan?
    /// Mean reciprocal rank of the relevant document, counting ranks 1–10 only.
    public var mrrAt10: Double = 0
    /// Share of queries whose relevant document is in the top 10 (top 100; exact prefixes only).
    public var recallAt10: Double = 0
    public var recallAt100: Double?
    /// nDCG@10 with one relevant document: 1 / log2(rank + 1) within the top 10.
    public var ndcgAt10: Double = 0
    /// Presets: share of exact full-dimension search's top 10 found.
    public var recallVsExact: Double?
    public var meanMs: Double = 0
    public var p99Ms: Double = 0
    public var meanDistanceComputations: Double = 0
}

/// What `mrl eval` reports.
public struct Evaluation: Sendable {
    public var head: String
    /// Queries evaluated, and those skipped because their relevant id is not in the index.
    public var queries: Int
    public var missingRelevant: Int
    public var missingExamples: [String]
    public var byDims: [Quality]
    public var byPreset: [Quality]
    /// By search mode (`SearchMode`), each at its default plan.
    public var byMode: [Quality] = []
}

extension Index {
    /// Known-item quality of exact search at each prefix in `dims` (in the current head's
    /// space), and of each preset in `presets` (ANN, k = 10, also scored against exact
    /// full-dimension search). With `groupByParent`, hits are chunks grouped by the document
    /// they are of, and a query finds its relevant document through any of its chunks. Every
    /// search, exact ones included, passes `filter`. Queries whose relevant id is not in the index are counted,
    /// not scored. Throws `invalidRequest` for a bad query vector, dims or preset,
    /// `modelUnavailable` for text queries without the model, and the store's errors.
    public func evaluate(_ queries: [KnownItemQuery], dims: [Int], presets: [String] = [], modes: [SearchMode] = [],
                         groupByParent: Bool = false, filter: Filter? = nil, progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }) throws -> Evaluation {
        // A chunked document is there when its first chunk is.
        let present = try store.read { snapshot in try queries.map { try isPresent($0, in: snapshot, chunked: groupByParent) } }
        let scored = zip(queries, present).filter(\.1).map(\.0)
        let missing = zip(queries, present).filter { !$0.1 }.map(\.0.relevantID)
        let vectors = try queryVectors(scored)
        if !modes.filter({ $0 != .semantic }).isEmpty, let line = scored.firstIndex(where: { $0.query == nil }) {
            throw EngineError.invalidRequest(field: "mode", message: "lexical and hybrid need query texts: known item \(line + 1) (relevant \(scored[line].relevantID)) has only a vector")
        }
        let total = (dims.count + presets.count + (presets.isEmpty ? 0 : 1) + modes.count) * scored.count
        var done = 0
        func run(_ label: String, _ request: (Int) -> SearchRequest, truth: [[String]]? = nil) throws -> (Quality, [[String]]) {
            var quality = Quality(label: label)
            var times: [Double] = [], found100 = 0.0, vsExact = 0.0, answers: [[String]] = []
            for (i, query) in scored.enumerated() {
                var asked = request(i)
                asked.groupByParent = groupByParent
                asked.filter = filter
                asked.includeText = groupByParent
                let result = try search(asked)
                quality.plan = result.plan
                times.append(result.tookMs)
                quality.meanDistanceComputations += Double(result.distanceComputations)
                // Grouped, a hit stands for its parent: the document (or file) the chunk is of.
                let ids = result.hits.map { hit in groupByParent ? Index.parent(of: hit) ?? hit.id : hit.id }
                answers.append(ids)
                let relevant = Set(query.relevantIDs)
                if let rank = ids.firstIndex(where: relevant.contains).map({ $0 + 1 }) {
                    found100 += 1
                    if rank <= 10 {
                        quality.recallAt10 += 1
                        quality.mrrAt10 += 1 / Double(rank)
                        quality.ndcgAt10 += 1 / log2(Double(rank) + 1)
                    }
                }
                if let truth { vsExact += Double(Set(truth[i].prefix(10)).intersection(ids.prefix(10)).count) / Double(max(min(truth[i].count, 10), 1)) }
                done += 1
                if done % 1_000 == 0 || i == scored.count - 1 { progress(done, total) }
            }
            let n = Double(max(scored.count, 1))
            quality.mrrAt10 /= n
            quality.recallAt10 /= n
            quality.ndcgAt10 /= n
            quality.meanDistanceComputations /= n
            quality.meanMs = times.reduce(0, +) / n
            times.sort()
            quality.p99Ms = times.isEmpty ? 0 : quantile(times, 0.99)
            if truth != nil { quality.recallVsExact = vsExact / n } else { quality.recallAt100 = found100 / n }
            return (quality, answers)
        }
        var byDims: [Quality] = []
        for prefix in dims {
            var (quality, _) = try run(String(prefix)) { SearchRequest(vector: vectors[$0], k: 100, dims: prefix) }
            quality.dims = prefix
            byDims.append(quality)
        }
        var byPreset: [Quality] = []
        if !presets.isEmpty {
            // The reference for presets: exact search at full dimensions, at their k.
            let (exact, truth) = try run("exact") { SearchRequest(vector: vectors[$0], k: 10, dims: self.manifest.dimensions) }
            for name in presets {
                byPreset.append(try run(name, { SearchRequest(vector: vectors[$0], k: 10, preset: name) }, truth: truth).0)
            }
            var reference = exact
            reference.recallVsExact = 1
            byPreset.append(reference)
        }
        let byMode = try modes.map { mode in
            try run(mode.rawValue) { i in
                var request = SearchRequest(query: scored[i].query, k: 100)
                (request.mode, request.embedded) = (mode, vectors[i])
                if mode == .semantic { (request.query, request.vector) = (nil, vectors[i]) }
                return request
            }.0
        }
        let head = try currentHead().record
        return Evaluation(head: head.map { "\($0.kind) v\($0.version)" } ?? "none", queries: scored.count,
                          missingRelevant: missing.count, missingExamples: Array(missing.prefix(5)), byDims: byDims,
                          byPreset: byPreset, byMode: byMode)
    }

    /// Each query's raw vector (see `vectors`), checked against the index: dimensions, and
    /// texts only for an index of the built-in model.
    public func queryVectors(_ queries: [KnownItemQuery]) throws -> [[Float]] {
        for query in queries {
            if let vector = query.vector, vector.count != manifest.dimensions {
                throw EngineError.invalidRequest(field: "vector", message:
                    "of the query for \"\(query.relevantID)\" has \(vector.count) dimensions, index \"\(name)\" has \(manifest.dimensions)")
            }
        }
        if !acceptsText, queries.contains(where: { $0.vector == nil }) {
            throw EngineError.invalidRequest(field: "query", message:
                "index \"\(name)\" holds vectors of your own model: give each query a \"vector\"")
        }
        return try queries.vectors(precision: textPrecision())
    }
}

extension Collection<KnownItemQuery> {
    /// Each query's raw vector: given, or embedded by the built-in model at `precision` (the
    /// index's; all texts in one encoder call, which batches them).
    public func vectors(precision: Precision) throws -> [[Float]] {
        // `read` refuses a line with neither "query" nor "vector".
        let texts = compactMap { $0.vector == nil ? $0.query ?? "" : nil }
        var embedded = try texts.isEmpty ? [] : Model.encoder().embed(texts, precision: precision)[...]
        return map { $0.vector ?? embedded.removeFirst() }
    }
}

/// The value at quantile `q` (0.5 for the median, 0.99 for p99) of values sorted in increasing
/// order; NaN for none.
public func quantile(_ sorted: [Double], _ q: Double) -> Double {
    sorted.isEmpty ? .nan : sorted[Swift.min(sorted.count - 1, Int(Double(sorted.count) * q))]
}
