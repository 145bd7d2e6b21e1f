import ArgumentParser
import Engine

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure mrl's speed on real data (see BENCHMARKS.md).",
        subcommands: [ScanBench.self, EncoderBench.self, AnnBench.self, ServeBench.self])
}

/// Parses "32,64,128" into [32, 64, 128].
struct IntList: ExpressibleByArgument {
    let values: [Int]
    init?(argument: String) {
        let parsed = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parsed.isEmpty, parsed.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        values = parsed.map { $0! }
    }
    var defaultValueDescription: String { values.map(String.init).joined(separator: ",") }
}

/// The value at quantile `q` (0.5 for the median) of values sorted in increasing order.
func quantile(_ sorted: [Double], _ q: Double) -> Double {
    sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
}

extension Collection<KnownItemQuery> {
    /// Each query's vector: given, or embedded here (all texts in one encoder call).
    func vectors() throws -> [[Float]] {
        let texts = filter { $0.vector == nil }.map { $0.query! }
        var embedded = try texts.isEmpty ? [] : Model.encoder().embed(texts)[...]
        return map { $0.vector ?? embedded.removeFirst() }
    }
}
