import Foundation
import Embedding
import Store

/// The automatic head chosen on the queries an index receives: PCA serves queries like the
/// documents, but on short queries unlike them (package names against summaries) it ranks worse
/// at short prefixes than plain truncation, and an adaptor distilled from such queries ranks
/// better than both. Which one holds is measured on the log, not assumed.
extension Index {
    /// What the choice measured: for each candidate head, how many candidates a search at the
    /// graph's prefix must keep to hold 95% of full-dimension search's top 10 for the held-out
    /// logged queries (the first stage a walk must rank well; fewer is better).
    public struct HeadChoice: Sendable {
        public var prefix: Int
        public var heldOut: Int
        public var shortlists: [(kind: MatryoshkaHead.Kind, shortlist: Int)]
    }

    /// Every this many logged queries, one is held out of training to measure the heads on.
    static let headChoiceHoldOut = 5

    /// Whether the automatic head is due to be chosen on the log: it is automatic, the index
    /// holds enough documents to train an adaptor, and the log holds `graphGuidanceMinimum`
    /// queries and (after a choice) has been offered twice as many as at the last one.
    public func headChoiceIsDue() throws -> Bool {
        try store.read { snapshot in try headChoiceIsDue(try snapshot.head(), in: snapshot) }
    }

    func headChoiceIsDue(_ record: HeadRecord?, in snapshot: Snapshot) throws -> Bool {
        guard record?.automatic ?? true, try snapshot.documentCount() >= AdaptorTrainer.minimumSamples,
              try snapshot.loggedQueryCount() >= Index.graphGuidanceMinimum else { return false }
        return try queriesLogSaw(snapshot) >= 2 * (record?.chosenOnLog ?? 0)
    }

    /// Trains an adaptor distilled from four in five of (an even sample of) the logged queries,
    /// fits PCA, and makes current whichever of none, PCA and the adaptor keeps the shortest
    /// shortlist at the graph's prefix for the fifth held out (the simpler on a tie; an adaptor
    /// whose training learned nothing is left out). The head stays automatic. Throws PCA's and
    /// the store's errors.
    func chooseHeadOnLog(adaptor options: AdaptorTrainer.Options, training: (Int, Int, Double) -> Void,
                         progress: (Int, Int) -> Void) throws -> HeadChange {
        let started = Date()
        let d = manifest.dimensions
        let (samples, count, documents, sampled, seen) = try store.read { snapshot in
            let (rows, count, _) = try sampleRawVectors(snapshot, limit: Index.headSampleLimit)
            return (rows, count, try snapshot.documentCount(), try queriesSample(.log, in: snapshot), try queriesLogSaw(snapshot))
        }
        let queries = sampled?.queries ?? []
        let heldOut = queries.indices.filter { $0 % Index.headChoiceHoldOut == 0 }.flatMap { queries[$0] }
        let learning = queries.indices.filter { $0 % Index.headChoiceHoldOut != 0 }.flatMap { queries[$0] }
        let (pca, share) = try MatryoshkaHead.fitPCA(samples: samples, count: count, dimensions: d)
        // A training that learns nothing leaves the choice to truncation and PCA.
        var trained: (head: MatryoshkaHead, report: AdaptorTrainer.Report)?
        do {
            trained = try AdaptorTrainer(options: options).train(samples: samples, count: count, dimensions: d, queries: learning, progress: training)
        } catch is AdaptorError {}
        // The graph's prefix; without one, the prefix a graph would take (128 or the largest
        // stored prefix below it and the full dimension).
        let prefix = try storedGraphOptions()?.dims ?? layout.boundaries.filter { $0 > 0 && $0 < d && $0 <= GraphOptions().dims }.max() ?? d
        let heldOutCount = heldOut.count / d
        let truth = PrefixScores(queries: heldOut, docs: samples, dimensions: d, prefix: d).top(10)
        let candidates: [MatryoshkaHead] = [.identity(dimensions: d), pca] + (trained.map { [$0.head] } ?? [])
        let shortlists = candidates.map { head in
            // Without labels, each query's full-dimension first hit stands for its relevant
            // document: only the shortlist of the measures is used.
            let scores = PrefixScores(queries: head.apply(rows: heldOut, count: heldOutCount), docs: head.apply(rows: samples, count: count),
                                      dimensions: d, prefix: prefix)
            return (kind: head.kind, shortlist: scores.knownItem(targets: truth.map { $0.first ?? 0 }, truth: truth).shortlistFor95)
        }
        let best = shortlists.indices.min { shortlists[$0].shortlist < shortlists[$1].shortlist } ?? 1
        let chosen = candidates[best]
        let version = try install(chosen, automatic: true, fittedOn: documents, model: nil, chosenOnLog: seen, progress: progress)
        var change = HeadChange(kind: chosen.kind, version: version, samples: count, documents: documents,
                                varianceInPrefix: chosen.kind == .pca ? prefixShares(share) : [],
                                training: chosen.kind == .adaptor ? trained?.report : nil, fallback: nil, seconds: Date().timeIntervalSince(started))
        if chosen.kind == .adaptor { (change.distilledFrom, change.queriesSource) = (learning.count / d, sampled?.source) }
        change.choice = HeadChoice(prefix: prefix, heldOut: heldOutCount, shortlists: shortlists)
        return change
    }
}
