import Foundation
import Search
import Store
import Synchronization

/// What the answers an index gave realized, as the daemon checks them in idle time against
/// exact search: per preset, against the recall it was chosen for, and per plan, against
/// the recall the answer predicted. A sample: the monitor checks the newest answers while
/// it has CPU time to spare, and the rest are let go.
public final class RecallMonitor: Sendable {
    /// One answer waiting to be checked: the query (model space), what was asked and answered,
    /// and the committed state it was answered from (only that state's exact answer compares).
    struct Answer: Sendable {
        var query: [Float]
        var k: Int
        var preset: String
        var target: Double?
        var plan: SearchPlan
        var predicted: Double?
        var hits: [String]
        var vectorsGeneration: UInt64
    }

    /// Answers kept for checking, the newest: older ones would describe a past load.
    static let pendingLimit = 256
    /// Checked answers over which a preset's realized recall is judged: at 200 queries of 10
    /// hits, the mean is known to about ±0.01.
    public static let window = 200
    /// How far below its target a preset's realized recall may sit before it is re-tuned.
    public static let tolerance = 0.01
    /// Plans reported at most (the most recently checked); presets are few.
    static let planLimit = 32

    private struct State {
        var pending: [Answer] = []
        var presets: [String: Tally] = [:]
        var plans: [SearchPlan: Tally] = [:]
        var offered = 0
        var checked = 0
        /// Answers let go because the index changed before they were checked.
        var changed = 0
        var retunes: [RetuneRecord] = []
        /// `offered` when the drift under way was first seen (nil: no drift).
        var driftSeenAt: Int?
    }
    private let state = Mutex(State())

    /// Realized recall of the answers of one preset or plan: the last `window` and all.
    public struct Tally: Sendable {
        /// The preset's target recall, or the plan's predicted recall.
        public var expected: Double?
        public var recent: [Double] = []
        public var checked = 0
        public var recallSum = 0.0
        var lastChecked = 0

        mutating func add(_ recall: Double, at sequence: Int) {
            if recent.count == RecallMonitor.window { recent.removeFirst() }
            recent.append(recall)
            checked += 1
            recallSum += recall
            lastChecked = sequence
        }

        public var windowRecall: Double? { recent.isEmpty ? nil : recent.reduce(0, +) / Double(recent.count) }

        var json: JSON {
            .object(dropping: ["expected": expected.map(JSON.number), "window_recall": windowRecall.map(JSON.number),
                               "window": JSON(recent.count), "checked": JSON(checked),
                               "recall": checked > 0 ? .number(recallSum / Double(checked)) : nil])
        }
    }

    /// A re-tune the monitor started: why, and what it changed.
    public struct RetuneRecord: Sendable {
        public var at: Date
        public var preset: String
        public var realized: Double
        public var target: Double
        public var presetsAfter: [String: Double]

        var json: JSON {
            ["at": .string(ISO8601DateFormatter().string(from: at)), "preset": .string(preset), "realized": .number(realized),
             "target": .number(target), "presets_after": .object(presetsAfter.mapValues(JSON.number))]
        }
    }

    func offer(_ answer: Answer) {
        state.withLock { state in
            state.offered += 1
            if state.pending.count == RecallMonitor.pendingLimit { state.pending.removeFirst() }
            state.pending.append(answer)
        }
    }

    /// The newest answers waiting, at most `count`, newest first.
    func takeNewest(_ count: Int) -> [Answer] {
        state.withLock { state in
            defer { state.pending.removeLast(min(count, state.pending.count)) }
            return state.pending.suffix(count).reversed()
        }
    }

    func record(_ answer: Answer, recall: Double) {
        state.withLock { state in
            state.checked += 1
            let sequence = state.checked
            state.presets[answer.preset, default: Tally(expected: answer.target)].add(recall, at: sequence)
            state.plans[answer.plan, default: Tally(expected: answer.predicted)].add(recall, at: sequence)
            if state.plans.count > RecallMonitor.planLimit,
               let oldest = state.plans.min(by: { $0.value.lastChecked < $1.value.lastChecked })?.key {
                state.plans[oldest] = nil
            }
        }
    }

    func skipChanged(_ count: Int) { state.withLock { $0.changed += count } }

    /// The preset whose last `window` checked answers realized more than `tolerance` below its
    /// target, if any (the furthest below).
    public var drifted: (preset: String, realized: Double, target: Double)? {
        state.withLock { state in
            state.presets.compactMap { name, tally -> (String, Double, Double)? in
                guard let target = tally.expected, tally.recent.count >= RecallMonitor.window, let realized = tally.windowRecall,
                      realized < target - RecallMonitor.tolerance else { return nil }
                return (name, realized, target)
            }.min { $0.1 - $0.2 < $1.1 - $1.2 }
        }
    }

    /// Whether `answers` have been offered since a drift was first seen (the first call starts
    /// the count): a re-tune takes the most recent logged queries, which should then all be of
    /// the kind that drifted, not the window's mix of the old kind and the new.
    func driftHasLasted(_ answers: Int) -> Bool {
        state.withLock { state in
            guard let seen = state.driftSeenAt else {
                state.driftSeenAt = state.offered
                return answers <= 0
            }
            return state.offered - seen >= answers
        }
    }

    func forgetDrift() { state.withLock { $0.driftSeenAt = nil } }

    /// Forgets what was checked (the plans changed), keeping the counts and the re-tunes.
    func restart(after retune: RetuneRecord?) {
        state.withLock { state in
            state.driftSeenAt = nil
            state.pending.removeAll()
            state.presets.removeAll()
            state.plans.removeAll()
            if let retune { state.retunes = Array((state.retunes + [retune]).suffix(10)) }
        }
    }

    /// True until an answer is offered.
    public var isEmpty: Bool { state.withLock { $0.offered == 0 } }
    public var checked: Int { state.withLock { $0.checked } }
    public var retuneCount: Int { state.withLock { $0.retunes.count } }
    public var presetTallies: [String: Tally] { state.withLock { $0.presets } }

    /// One line for people: each preset's realized recall against its target, and the last re-tune.
    public var summary: String? {
        state.withLock { state in
            guard state.offered > 0 else { return nil }
            let presets = state.presets.sorted { $0.key < $1.key }.compactMap { name, tally in
                tally.windowRecall.map { recall in
                    String(format: "%@ %.3f over its last %d", name, recall, tally.recent.count)
                        + (tally.expected.map { String(format: " (target %.2f)", $0) } ?? "")
                }
            }
            var line = "\(state.checked) of \(state.offered) answers checked against exact search"
                + (presets.isEmpty ? "" : ": " + presets.joined(separator: "; "))
            if let last = state.retunes.last {
                line += String(format: "; re-tuned %d times, last at %@ (%@ had realized %.3f)", state.retunes.count,
                               ISO8601DateFormatter().string(from: last.at), last.preset, last.realized)
            }
            return line
        }
    }

    /// The report in `GET /indexes/{name}`: nil until an answer was offered.
    public var json: JSON? {
        state.withLock { state in
            guard state.offered > 0 else { return nil }
            return [
                "answers_offered": JSON(state.offered), "answers_checked": JSON(state.checked),
                "answers_let_go_changed": JSON(state.changed),
                "presets": .object(state.presets.mapValues(\.json)),
                "plans": .array(state.plans.sorted { $0.value.lastChecked > $1.value.lastChecked }.map { plan, tally in
                    var object = tally.json.object ?? [:]
                    object["plan"] = plan.json
                    return .object(object)
                }),
                "retunes": .array(state.retunes.map(\.json)),
            ]
        }
    }
}
