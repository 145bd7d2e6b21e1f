import Foundation
import Search
import Store

/// The live recall monitor (see `RecallMonitor`): the daemon offers the answers it gives,
/// checks them against exact search while it has time to spare, and re-tunes the presets
/// from the query log when one falls short of its target.
extension Index {
    /// Offers an answer given to a user. Only graph walks are checked (an exact scan of every
    /// dimension is exact), only whole answers (a deadline's partial one is marked as such), and
    /// only unfiltered ones (the monitor's exact search has no filter).
    /// `vector` is the query in the model's raw space.
    public func offerToMonitor(_ request: SearchRequest, vector: [Float], result: SearchResult) {
        guard !result.plan.exact, result.plan.filter == nil, !result.partial, !request.groupByParent, let generation = result.vectorsGeneration else { return }
        let label: String, target: Double?
        switch (request.preset, request.budgetMs, request.ef) {
        case (let name?, _, _):
            label = name
            if case .recall(let r) = plannerCache.withLock({ $0?.planner.model.preset(name)?.goal }) { target = r } else { target = nil }
        case (nil, nil, nil): (label, target) = (Index.defaultPlanLabel, Planner.defaultRecall)
        case (nil, _?, _): (label, target) = ("budget", nil)
        case (nil, nil, _?): (label, target) = ("ef", nil)
        }
        recallMonitor.offer(.init(query: vector, k: request.k, preset: label, target: target, plan: result.plan,
                                  predicted: result.predictedRecall, hits: result.hits.map(\.id), vectorsGeneration: generation))
    }

    /// How the monitor names searches that asked for neither a preset, a budget nor a beam.
    public static let defaultPlanLabel = "default"

    /// Answers one check takes: 32 queries against 120,605 rows are 3 GFLOP, little enough for
    /// the monitor to hold a core between its pauses.
    static let answersPerCheck = 32

    /// Checks the newest answers waiting (`answersPerCheck` of them) against
    /// an exact search of the vectors they were answered from; returns how many were taken. An
    /// answer from vectors since changed is let go: another state's exact answer would not
    /// compare. Other writes (the query log's, every few seconds under load) keep answers.
    @discardableResult
    public func checkNewestAnswers() throws -> Int {
        let answers = recallMonitor.takeNewest(Index.answersPerCheck)
        guard !answers.isEmpty else { return 0 }
        try store.read { snapshot in
            let generation = try snapshot.vectorsGeneration()
            let current = answers.filter { $0.vectorsGeneration == generation }
            recallMonitor.skipChanged(answers.count - current.count)
            guard !current.isEmpty else { return }
            let truths = try ExactBatch.run(queries: current.map(\.query), k: current.map(\.k).max() ?? 10,
                                        blocks: try snapshot.vectorBlocks(space: .raw), layout: layout)
            for (answer, truth) in zip(current, truths) {
                let exact = Set(try truth.prefix(answer.k).compactMap { try snapshot.documentID(internalID: $0.id) })
                guard !exact.isEmpty else { continue }
                recallMonitor.record(answer, recall: Double(answer.hits.filter(exact.contains).count) / Double(exact.count))
            }
        }
        return answers.count
    }

    /// When a preset's realized recall fell more than the tolerance below its target over
    /// the last window of checked answers, and has stayed so while as many answers as a tune
    /// takes from the log were given (so the log's newest are of the kind that drifted):
    /// re-tunes from the log (`tune`: presets chosen on half, promised on the other half) and
    /// stores the new presets in one transaction. `pause` is called between queries measured,
    /// to pace the work (it may throw to give up). Returns what was done, or nil.
    public func retuneIfDrifted(pause: () throws -> Void) throws -> RecallMonitor.RetuneRecord? {
        guard let (preset, realized, target) = recallMonitor.drifted else {
            recallMonitor.forgetDrift()
            return nil
        }
        guard recallMonitor.driftHasLasted(Index.loggedQueriesForCalibration),
              try store.read({ try $0.loggedQueryCount() }) >= Index.loggedQueriesForCalibration else { return nil }
        guard let model = try tune(queries: nil, sampleCount: Index.loggedQueriesForCalibration, retune: true, pause: pause) else { return nil }
        let record = RecallMonitor.RetuneRecord(at: Date(), preset: preset, realized: realized, target: target,
                                                presetsAfter: Dictionary(model.presets.map { ($0.name, $0.measurement.recall) }) { a, _ in a })
        recallMonitor.restart(after: record)
        return record
    }
}
