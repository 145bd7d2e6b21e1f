import CBLAS
import Dispatch
import Embedding
import Foundation
import Synchronization

/// Known-item quality of exact search at each prefix under several heads side by side (plain
/// truncation, PCA, adaptor), on the index's own vectors: what `mrl eval --compare-heads` prints.
public struct HeadComparison: Sendable {
    public struct Row: Sendable {
        /// "none", "pca" or "adaptor".
        public var head: String
        public var dims: Int
        public var mrrAt10: Double
        public var recallAt10: Double
        /// How many candidates an exact search at this prefix must keep for them to hold 95%
        /// of full-dimension search's top 10: the first stage of the funnel at these dims.
        public var shortlistFor95: Int
    }

    public var rows: [Row]
    public var queries: Int
    public var missingRelevant: Int
    /// Heads fitted or trained for the comparison only (the index's own head is used as it is).
    public var fittedForComparison: [String]
}

extension Index {
    /// Compares the heads `kinds` by exact search at each prefix in `dims`, in memory: every
    /// live raw vector is mapped by each head, and prefixes are scored by cosine. A head the
    /// index does not have is fitted (PCA) or trained (adaptor, with `adaptor`, reporting
    /// steps to `training`, on `pairs` when given) on the same sample `mrl head` would use; the
    /// index is not changed.
    /// Full-dimension rows score the raw vectors, as the index's searches do under any head.
    /// Throws as `evaluate` does, and the head fitters' errors.
    public func compareHeads(_ queries: [KnownItemQuery], dims: [Int], kinds: [MatryoshkaHead.Kind],
                             adaptor: AdaptorTrainer.Options = .init(), pairs: [KnownItemQuery]? = nil, trainingQueries: QueryGuidance = .log,
                             training: (_ step: Int, _ steps: Int, _ loss: Double) -> Void = { _, _, _ in }) throws -> HeadComparison {
        let d = manifest.dimensions
        if let wrong = dims.first(where: { !(1...d).contains($0) }) {
            throw EngineError.invalidRequest(field: "dims", message: "must be between 1 and \(d) (the index's dimensions), got \(wrong)")
        }
        let distilled = try store.read { snapshot in try queriesSample(trainingQueries, in: snapshot)?.queries.flatMap { $0 } }
        let (rows, n, sample, sampleCount, current, relevant) = try store.read { snapshot in
            let all = try sampleRawVectors(snapshot, limit: .max)
            let fit = try sampleRawVectors(snapshot, limit: Index.headSampleLimit)
            let rowOf = Dictionary(uniqueKeysWithValues: all.ids.enumerated().map { ($1, $0) })
            let relevant = try queries.map { try snapshot.internalID(of: $0.relevantID).flatMap { rowOf[$0] } }
            return (all.rows, all.count, fit.rows, fit.count, try currentHead(in: snapshot), relevant)
        }
        let scored = queries.indices.filter { relevant[$0] != nil }
        let queryRows = try queryVectors(scored.map { queries[$0] }).flatMap { $0 }
        let targets = scored.map { relevant[$0]! }
        // Full dimensions score the raw vectors under every head: one pass gives the truth and
        // the full-dimension row of every head.
        let raw = PrefixScores(queries: queryRows, docs: rows, dimensions: d, prefix: d)
        let truth = raw.top(10)
        let full = dims.contains(d) ? raw.knownItem(targets: targets, truth: truth) : nil

        var table: [HeadComparison.Row] = [], fitted: [String] = []
        for kind in kinds {
            var head = current.head
            if head.kind != kind {
                fitted.append(kind.rawValue)
                switch kind {
                case .none: head = .identity(dimensions: d)
                case .pca: head = try MatryoshkaHead.fitPCA(samples: sample, count: sampleCount, dimensions: d).head
                case .adaptor:
                    head = try AdaptorTrainer(options: adaptor).train(samples: sample, count: sampleCount, dimensions: d,
                                                                      pairs: try pairs.map(trainingPairs), queries: distilled,
                                                                      progress: training).head
                }
            }
            let docs = head.apply(rows: rows, count: n), mapped = head.apply(rows: queryRows, count: scored.count)
            for m in dims {
                let (mrr, recall, shortlist) = m == d ? full!
                    : PrefixScores(queries: mapped, docs: docs, dimensions: d, prefix: m).knownItem(targets: targets, truth: truth)
                table.append(.init(head: kind.rawValue, dims: m, mrrAt10: mrr, recallAt10: recall, shortlistFor95: shortlist))
            }
        }
        return HeadComparison(rows: table, queries: scored.count, missingRelevant: queries.count - scored.count,
                              fittedForComparison: fitted)
    }
}

/// Cosines between every query and every document at one prefix, computed a slice of queries
/// at a time (sgemm) on every core, for known-item measures.
struct PrefixScores {
    let queries: [Float], docs: [Float], count: Int, queryCount: Int, prefix: Int

    /// Queries and documents as unit-length `prefix`-d rows cut from `dimensions`-d rows.
    init(queries: [Float], docs: [Float], dimensions d: Int, prefix: Int) {
        func unitPrefixes(_ rows: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: rows.count / d * prefix)
            for i in 0..<rows.count / d {
                var norm: Float = 0
                for j in 0..<prefix { norm += rows[i * d + j] * rows[i * d + j] }
                let scale = norm > 0 ? 1 / norm.squareRoot() : 0
                for j in 0..<prefix { out[i * prefix + j] = rows[i * d + j] * scale }
            }
            return out
        }
        self.queries = unitPrefixes(queries)
        self.docs = unitPrefixes(docs)
        self.prefix = prefix
        count = docs.count / d
        queryCount = queries.count / d
    }

    /// Calls `body(query, scores)` for every query, from several threads at once.
    private func forEachQuery(_ body: @Sendable (Int, UnsafeBufferPointer<Float>) -> Void) {
        let threads = ProcessInfo.processInfo.activeProcessorCount
        let slice = max(1, min(256, (16 << 20) / max(count, 1)))  // a slice's scores: at most 64 MB
        let slices = (queryCount + slice - 1) / slice
        let (q, x, n, m, total) = (queries, docs, count, prefix, queryCount)
        DispatchQueue.concurrentPerform(iterations: threads) { worker in
            var scores = [Float](repeating: 0, count: slice * n)
            for s in stride(from: worker, to: slices, by: threads) {
                let first = s * slice, rows = min(slice, total - first)
                scores.withUnsafeMutableBufferPointer { out in
                    q.withUnsafeBufferPointer { q in
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(n), Int32(m), 1,
                                    q.baseAddress! + first * m, Int32(m), x, Int32(m), 0, out.baseAddress!, Int32(n))
                    }
                    for r in 0..<rows { body(first + r, UnsafeBufferPointer(rebasing: out[r * n..<(r + 1) * n])) }
                }
            }
        }
    }

    /// Each query's `k` best documents (row numbers), best first.
    func top(_ k: Int) -> [[Int]] {
        let results = Mutex([[Int]](repeating: [], count: queryCount))
        forEachQuery { query, scores in
            let best = scores.indices.largest(k) { scores[$0] < scores[$1] }
            results.withLock { $0[query] = best }
        }
        return results.withLock { $0 }
    }

    /// MRR@10 and recall@10 of `targets` (each query's relevant row), and the shortlist that
    /// holds 95% of the `truth` rows over all queries.
    func knownItem(targets: [Int], truth: [[Int]]) -> (mrr: Double, recall: Double, shortlistFor95: Int) {
        let found = Mutex((reciprocal: 0.0, hits: 0, ranks: [Int]()))
        forEachQuery { query, scores in
            let target = scores[targets[query]]
            let truthScores = truth[query].map { scores[$0] }
            // A document's rank counts the documents scoring at least as high, itself included:
            // ties rank it last among equals, so a prefix that cannot tell documents apart (a
            // query with nothing in it) ranks them all last, not first.
            let floor = min(target, truthScores.min() ?? target)
            var atLeast = 0, truthAtLeast = [Int](repeating: 0, count: truthScores.count)
            for s in scores where s >= floor {  // most documents are below every threshold
                if s >= target { atLeast += 1 }
                for (t, threshold) in truthScores.enumerated() where s >= threshold { truthAtLeast[t] += 1 }
            }
            found.withLock {
                if atLeast <= 10 {
                    $0.reciprocal += 1 / Double(atLeast)
                    $0.hits += 1
                }
                $0.ranks += truthAtLeast
            }
        }
        return found.withLock { found in
            let ranks = found.ranks.sorted()
            let n = Double(max(queryCount, 1))
            let shortlist = ranks.isEmpty ? 0 : ranks[min(ranks.count - 1, Int((0.95 * Double(ranks.count)).rounded(.up)) - 1)]
            return (found.reciprocal / n, Double(found.hits) / n, shortlist)
        }
    }
}

extension Collection {
    /// The `k` greatest elements by `less`, greatest first.
    func largest(_ k: Int, by less: (Element, Element) -> Bool) -> [Element] {
        var best: [Element] = []
        for element in self where best.count < k || less(best[best.count - 1], element) {
            let at = best.firstIndex { less($0, element) } ?? best.count
            best.insert(element, at: at)
            if best.count > k { best.removeLast() }
        }
        return best
    }
}
