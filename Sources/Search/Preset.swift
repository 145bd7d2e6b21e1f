import Foundation

/// A named plan a user picks without knowing what ef or a rescore depth is: `fast`,
/// `balanced`, `accurate`, or one named by `mrl tune`, with what it was measured to give.
public struct Preset: Equatable, Sendable {
    public var name: String
    /// What it was chosen for (kept, so a re-measured model chooses again).
    public var goal: Goal
    public var measurement: PlanMeasurement

    public init(name: String, goal: Goal, measurement: PlanMeasurement) {
        self.name = name
        self.goal = goal
        self.measurement = measurement
    }

    /// The built-in presets' recall targets.
    public static let builtIn: [(name: String, recall: Double)] = [("fast", 0.90), ("balanced", 0.95), ("accurate", 0.99)]

    /// What a user may ask `mrl tune` for.
    public enum Goal: Sendable, Equatable, CustomStringConvertible {
        /// The cheapest plan (by mean latency) reaching this recall (beyond its measurement's noise).
        case recall(Double)
        /// The best recall whose p99 fits in this many ms.
        case budget(Double)

        public var description: String {
            switch self {
            case .recall(let r): String(format: "recall ≥ %.3g at least cost", r)
            case .budget(let ms): String(format: "best recall with p99 ≤ %.3g ms", ms)
            }
        }
    }

    /// The measurement that meets `goal` among `measurements`, and whether it truly meets it
    /// (false: none does, and this is the closest: the best recall, or the fastest p99).
    public static func choose(_ goal: Goal, among measurements: [PlanMeasurement]) -> (PlanMeasurement, met: Bool)? {
        guard !measurements.isEmpty else { return nil }
        switch goal {
        case .recall(let target):
            if let cheapest = measurements.filter({ $0.reaches(target) }).min(by: { $0.meanMs < $1.meanMs }) { return (cheapest, true) }
            return (measurements.max { ($0.recall, -$0.meanMs) < ($1.recall, -$1.meanMs) }!, false)
        case .budget(let ms):
            if let best = measurements.filter({ $0.p99Ms <= ms }).max(by: { ($0.recall, -$0.meanMs) < ($1.recall, -$1.meanMs) }) {
                return (best, true)
            }
            return (measurements.min { $0.p99Ms < $1.p99Ms }!, false)
        }
    }

    /// Presets for `goals` from a model's measurements: graph plans when one meets the goal;
    /// else any plan that does, the exact scan included (a promise kept slowly rather than
    /// broken: out-of-distribution queries may find no beam that reaches 0.99); else the
    /// closest graph plan.
    public static func chosen(for goals: [(name: String, goal: Goal)], from measurements: [PlanMeasurement]) -> [Preset] {
        let graphPlans = measurements.filter { !$0.plan.exact }
        return goals.compactMap { name, goal in
            guard let walked = choose(goal, among: graphPlans.isEmpty ? measurements : graphPlans) else { return nil }
            let kept = walked.met ? walked : choose(goal, among: measurements).flatMap { $0.met ? $0 : nil } ?? walked
            return Preset(name: name, goal: goal, measurement: kept.0)
        }
    }

    /// fast, balanced and accurate.
    public static var builtInGoals: [(name: String, goal: Goal)] { builtIn.map { ($0.name, .recall($0.recall)) } }
}

/// The machine a cost model was measured on: its latencies hold only there.
public struct MachineFingerprint: Equatable, Sendable, CustomStringConvertible {
    public var cpu: String
    public var cores: Int
    public var kernels: String

    public static let current = MachineFingerprint(
        cpu: (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
            .first { $0.hasPrefix("model name") }?.split(separator: ":", maxSplits: 1).last?
            .trimmingCharacters(in: .whitespaces) ?? "unknown",
        cores: ProcessInfo.processInfo.activeProcessorCount,
        kernels: ExactSearch.kernelISA)

    public var description: String { "\(cpu), \(cores) cores, \(kernels) kernels" }
}
