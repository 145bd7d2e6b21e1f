import Foundation
import Store

/// A known-item query: a text (or a vector in the model's raw space) and the id of the one
/// document that answers it.
public struct KnownItemQuery: Sendable {
    public var query: String?
    public var vector: [Float]?
    public var relevantID: String

    public init(query: String? = nil, vector: [Float]? = nil, relevantID: String) {
        self.query = query
        self.vector = vector
        self.relevantID = relevantID
    }

    /// Reads a JSONL file (plain, .gz or "-") of `{"query": "...", "relevant_id": "..."}`
    /// (`title` stands for a missing `query`), with `"vector": [...]` in place of or beside
    /// the text (both are kept; searches use the vector).
    /// Without `requiringRelevant`, `relevant_id` may be absent (it reads as "").
    /// Throws `badDocument` naming the file, line and field, and `unreadable`.
    public static func read(path: String, requiringRelevant: Bool = true) throws -> [KnownItemQuery] {
        let reader = try LineReader(path: path, maxLineBytes: 16 << 20)
        let source = path == "-" ? "<stdin>" : path
        var queries: [KnownItemQuery] = []
        while let line = try reader.next() {
            guard case .text(let number, let bytes) = line else {
                throw EngineError.badDocument(source: source, line: queries.count + 1, field: nil, message: "is over the 16 MiB line limit")
            }
            func fail(_ field: String, _ message: String) -> EngineError {
                .badDocument(source: source, line: number, field: field, message: message)
            }
            guard let fields = try DocumentParser.jsonObject(bytes, source: source, line: number) else { continue }
            let relevant = fields["relevant_id"]?.string ?? ""
            guard !relevant.isEmpty || !requiringRelevant else {
                throw fail("relevant_id", "is missing or not a non-empty string")
            }
            var query = KnownItemQuery(query: fields["query"]?.string ?? fields["title"]?.string, relevantID: relevant)
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

/// Retrieval quality of exact search at one prefix length.
public struct PrefixQuality: Sendable {
    public var dims: Int
    /// Mean reciprocal rank of the relevant document, counting ranks 1–10 only.
    public var mrrAt10: Double
    /// Share of queries whose relevant document is in the top 10 (top 100).
    public var recallAt10: Double
    public var recallAt100: Double
    /// nDCG@10 with one relevant document: 1 / log2(rank + 1) within the top 10.
    public var ndcgAt10: Double
    public var meanMs: Double
}

/// What `mrl eval` reports.
public struct Evaluation: Sendable {
    public var head: String
    /// Queries evaluated, and those skipped because their relevant id is not in the index.
    public var queries: Int
    public var missingRelevant: Int
    public var missingExamples: [String]
    public var byDims: [PrefixQuality]
}

extension Index {
    /// Known-item quality of exact search at each prefix in `dims` (in the current head's
    /// space). Queries whose relevant id is not in the index are counted, not scored.
    /// Throws `invalidRequest` for a bad query vector or dims, `modelUnavailable` for text
    /// queries without the model, and the store's errors.
    public func evaluate(_ queries: [KnownItemQuery], dims: [Int],
                         progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }) throws -> Evaluation {
        let present = try store.read { snapshot in try queries.map { try snapshot.internalID(of: $0.relevantID) != nil } }
        let scored = zip(queries, present).filter(\.1).map(\.0)
        let missing = zip(queries, present).filter { !$0.1 }.map(\.0.relevantID)
        let vectors = try queryVectors(scored)
        var results: [PrefixQuality] = []
        let total = dims.count * scored.count
        for (d, prefix) in dims.enumerated() {
            var quality = PrefixQuality(dims: prefix, mrrAt10: 0, recallAt10: 0, recallAt100: 0, ndcgAt10: 0, meanMs: 0)
            for (i, query) in scored.enumerated() {
                let result = try search(SearchRequest(vector: vectors[i], k: 100, dims: prefix))
                quality.meanMs += result.tookMs
                if let rank = result.hits.firstIndex(where: { $0.id == query.relevantID }).map({ $0 + 1 }) {
                    quality.recallAt100 += 1
                    if rank <= 10 {
                        quality.recallAt10 += 1
                        quality.mrrAt10 += 1 / Double(rank)
                        quality.ndcgAt10 += 1 / log2(Double(rank) + 1)
                    }
                }
                if i % 1_000 == 999 || i == scored.count - 1 { progress(d * scored.count + i + 1, total) }
            }
            let n = Double(max(scored.count, 1))
            quality.mrrAt10 /= n
            quality.recallAt10 /= n
            quality.recallAt100 /= n
            quality.ndcgAt10 /= n
            quality.meanMs /= n
            results.append(quality)
        }
        let head = try currentHead().record
        return Evaluation(head: head.map { "\($0.kind) v\($0.version)" } ?? "none", queries: scored.count,
                          missingRelevant: missing.count, missingExamples: Array(missing.prefix(5)), byDims: results)
    }

    /// Each query's raw vector: given, or embedded (all texts in one encoder call, which
    /// batches them).
    private func queryVectors(_ queries: [KnownItemQuery]) throws -> [[Float]] {
        let texts = queries.indices.filter { queries[$0].vector == nil }
        var vectors = queries.map { $0.vector ?? [] }
        if !texts.isEmpty {
            guard acceptsText else {
                throw EngineError.invalidRequest(field: "query", message:
                    "index \"\(name)\" holds vectors of your own model: give each query a \"vector\"")
            }
            let embedded = try Model.encoder().embed(texts.map { queries[$0].query! })
            for (j, i) in texts.enumerated() { vectors[i] = embedded[j] }
        }
        return vectors
    }
}
