import ArgumentParser
import Embedding
import Engine
import Foundation

extension MatryoshkaHead.Kind: ExpressibleByArgument {}

struct HeadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "head",
        abstract: "Fit or change the Matryoshka head: how vectors are transformed so that short prefixes work.",
        discussion: """
            The head maps the model's raw vectors to the space the index searches. With "none", a
            64-d search reads the first 64 raw coordinates (plain truncation). With "pca", vectors are
            rotated onto the principal axes of this index's documents, largest variance first, so a
            prefix keeps as much of each vector as a prefix can; full-dimension scores are unchanged.
            `mrl index` fits a PCA head by itself from 2,000 documents on and refits it at 4x growth,
            unless a head was chosen here. The new head's copy of the vectors is written in batches;
            searches use the old head until it is complete. An ANN graph is rebuilt over the new head
            and becomes current in the same transaction. Raw vectors are always kept.
            Example:  mrl head --index debian --kind pca
            """)

    @OptionGroup var target: IndexOptions

    @Option(help: "The head: none (plain truncation) or pca.")
    var kind: MatryoshkaHead.Kind

    @Option(help: "Fit on at most this many documents, spread evenly over the index.")
    var sample = 50_000

    @Flag(help: "Let `mrl index` refit this head as the index grows (default: keep it as chosen).")
    var automatic = false

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        guard sample > 0 else { throw ValidationError("--sample must be positive") }
    }

    func run() throws {
        let index = try target.open(.write)
        let progress = ProgressDisplay()
        let change = try index.changeHead(to: kind, automatic: automatic, sampleLimit: sample) { done, total in
            progress.update(fraction: Double(done) / Double(max(total, 1)), count: done, unit: "blocks",
                            plainLine: "wrote \(done) of \(total) vector blocks in the new head's space")
        }
        progress.finish()
        // A graph was rebuilt over the new head with it: time its plans for the planner.
        _ = try calibrateWithProgress(index, onlyIfDue: true)
        try report(change, index: target.index, json: json)
    }
}

/// Prints what a change of head did (for `mrl head` and the automatic fit of `mrl index`).
func report(_ change: HeadChange, index: String, json: Bool) throws {
    if json {
        printJSON([
            "index": index, "kind": change.kind.rawValue, "version": change.version, "samples": change.samples,
            "documents": change.documents, "seconds": change.seconds,
            "variance_in_prefix": Dictionary(uniqueKeysWithValues: change.varianceInPrefix.map { ("\($0.dims)", $0.share) }),
        ])
        return
    }
    var line = "\(index): head is now \(change.kind.rawValue) (v\(change.version))"
    if change.kind != .none {
        line += ", fitted on \(change.samples.formatted()) of \(change.documents.formatted()) documents"
    }
    print(line + String(format: " in %.1f s", change.seconds))
    if !change.varianceInPrefix.isEmpty {
        print("variance in the first " + change.varianceInPrefix.map { String(format: "%d dims: %.0f%%", $0.dims, $0.share * 100) }
            .joined(separator: ", "))
    }
}
