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

