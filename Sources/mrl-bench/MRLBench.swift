import ArgumentParser
import Engine

/// The benchmarks and the load generator: an executable of their own, so that `mrl` and
/// its --help carry only what users of the index need.
@main
struct MRLBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mrl-bench",
        abstract: "Measure mrl's speed on real data (see BENCHMARKS.md).",
        discussion: """
            scan: ingest rate, memory bandwidth and exact-scan latency on reference vectors.
            encoder: embedding throughput of the built-in model on real texts.
            ann: recall against exact search versus latency, per plan and per budget, in process.
            serve: load on a running `mrl serve` over its socket (QPS, latency, CPU, memory).
            Each takes --json for machine-readable results; `mrl-bench help SUBCOMMAND` explains its options.
            """,
        subcommands: [ScanBench.self, EncoderBench.self, FewRowsBench.self, AnnBench.self, ServeBench.self])

    /// `$MRL_ISA` and `$MRL_ENCODER_THREADS` are checked before any benchmark runs, as by `mrl`.
    static func main() {
        if let problem = Kernels.environmentProblem { exit(withError: ValidationError(problem)) }
        main(nil)
    }
}

/// Parses "32,64,128" into [32, 64, 128].
struct IntList: ExpressibleByArgument {
    let values: [Int]
    init?(argument: String) {
        let parsed = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parsed.isEmpty, parsed.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        values = parsed.compactMap { $0 }
    }
    var defaultValueDescription: String { values.map(String.init).joined(separator: ",") }
}
