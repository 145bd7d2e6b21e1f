import ArgumentParser
import Engine
import Foundation
import Terminal

extension HeadKind: ExpressibleByArgument {}

struct HeadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "head",
        abstract: "Fit or change the Matryoshka head: how vectors are transformed so that short prefixes work.",
        discussion: """
            The head maps the model's raw vectors to the space the index searches. With "none", a \
            64-d search reads the first 64 raw coordinates (plain truncation). With "pca", vectors are \
            rotated onto the principal axes of this index's documents, largest variance first, so a \
            prefix keeps as much of each vector as a prefix can; full-dimension scores are unchanged. \
            With "adaptor", a learned map (PCA to begin with) is trained on the index's documents, no \
            labels needed, so that each prefix ranks documents the way the full vectors do: better short \
            prefixes than PCA, for a minute or two of training. Full-dimension scores still come from the \
            raw vectors. Below 4,096 documents a PCA head is fitted instead. Queries like those users \
            send (the query log's once it holds 1,000, or --train-queries FILE) teach each prefix to rank \
            documents for them as the full vectors do, no labels needed. With --pairs (queries and \
            the documents they should find, e.g. titles of packages), training is supervised. \
            `mrl index` fits a PCA head by itself from 2,000 documents on and refits it at 4x growth; \
            once the query log holds 1,000 queries (and the index 4,096 documents) it chooses among \
            none, pca and a distilled adaptor by how each ranks documents for held-out logged queries \
            (`mrl info` says which) — unless a head was chosen here. The new head's copy of the vectors is written in batches; \
            searches use the old head until it is complete. An ANN graph is rebuilt over the new head \
            and becomes current in the same transaction. Raw vectors are always kept.
            --save writes the current head to a file and --from installs one (kept as it is, never \
            refitted): how the shards of a sharded index share one head, fitted on a sample of all of \
            them, so that their scores compare. Both work through a running daemon too.
            Examples:  mrl head --index debian --kind pca
                       mrl head --index debian --kind adaptor --epochs 10
                       mrl head --index sample --save head.json && mrl head --index shard-0 --from head.json
            """)

    @OptionGroup var target: IndexOptions

    @Option(help: "The head to fit: none (plain truncation), pca or adaptor.")
    var kind: HeadKind?

    @Option(help: ArgumentHelp("Install the head in this file (written by --save) instead of fitting one.", valueName: "file"))
    var from: String?

    @Option(help: ArgumentHelp("Write the index's current head to this file (- for standard output) and change nothing.", valueName: "file"))
    var save: String?

    @OptionGroup var training: AdaptorOptions

    @Option(help: "Fit on at most this many documents, spread evenly over the index.")
    var sample = Index.headSampleLimit

    @Flag(help: "Let `mrl index` refit this head as the index grows (default: keep it as chosen).")
    var automatic = false

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        guard sample > 0 else { throw ValidationError("--sample must be positive") }
        guard [kind != nil, from != nil, save != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("give one of --kind (fit a head), --from FILE (install one) or --save FILE (write the current one)")
        }
    }

    func run() throws {
        if let save { return try saveHead(to: save) }
        if let from { return try installHead(from: from) }
        guard let kind else { return }  // validate() asked for one of the three
        let index = try target.open(.write)
        let trainingProgress = ProgressDisplay(), progress = ProgressDisplay()
        let change = try index.changeHead(to: kind, automatic: automatic, sampleLimit: sample, adaptor: training.options,
                                          pairs: try training.trainingPairs(), queries: try training.queryGuidance(for: index),
                                          training: trainingProgress.trainingStep) { done, total in
            trainingProgress.finish()
            progress.update(fraction: Double(done) / Double(max(total, 1)), count: done, unit: "blocks",
                            plainLine: "wrote \(done) of \(total) vector blocks in the new head's space")
        }
        progress.finish()
        // A graph was rebuilt over the new head with it: time its plans for the planner.
        _ = try calibrateWithProgress(index, onlyIfDue: true)
        try report(change, index: target.index, json: json)
    }
}

extension HeadCommand {
    /// Writes the current head as JSON (`HeadFile`), through the daemon when one holds the index.
    func saveHead(to path: String) throws {
        let text = try target.service().headFile().json.serialized + "\n"
        guard path != "-" else { return print(text, terminator: "") }
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationError("cannot write \(path): \((error as NSError).localizedDescription)")
        }
        if !json { print("\(target.index): wrote its head to \(path)") }
    }

    /// Installs the head of the file at `path`, then (here, not through a daemon, which does it
    /// by itself) times the plans of the graph rebuilt over it.
    func installHead(from path: String) throws {
        let file = try HeadFile.read(path: path)
        let index = try target.service(writing: true)
        let progress = ProgressDisplay()
        let change = try index.installHead(file) { done, total in
            progress.update(fraction: Double(done) / Double(max(total, 1)), count: done, unit: "blocks",
                            plainLine: "wrote \(done) of \(total) vector blocks in the new head's space")
        }
        progress.finish()
        if let local = index as? Index { _ = try calibrateWithProgress(local, onlyIfDue: true) }
        guard !json else { return try report(change, index: target.index, json: true) }
        print("\(target.index): installed the \(change.kind.rawValue) head of \(path) (v\(change.version), fitted on \(change.samples.formatted()) documents); it is kept as it is, never refitted")
    }
}

/// Prints what a change of head did (for `mrl head` and the automatic fit of `mrl index`).
func report(_ change: HeadChange, index: String, json: Bool) throws {
    if json {
        printJSON(.object(["index": .string(index)].merging(change.json.object ?? [:]) { a, _ in a }))
        return
    }
    if let fallback = change.fallback { note("note: \(fallback)") }
    if let choice = change.choice {
        print("\(index): chose the head on \(choice.heldOut.formatted()) held-out logged queries: candidates a \(choice.prefix)-d search keeps for 95% of the full top 10: "
            + choice.shortlists.map { "\($0.kind.rawValue) \($0.shortlist.formatted())" }.joined(separator: ", "))
    }
    var line = "\(index): head is now \(change.kind.rawValue) (v\(change.version))"
    if change.kind != .none {
        line += ", fitted on \(change.samples.formatted()) of \(change.documents.formatted()) documents"
    }
    print(line + String(format: " in %.1f s", change.seconds))
    if let training = change.training {
        print(String(format: "trained %d steps in %.1f s: loss on the first batch %.4f before, %.4f after", training.steps,
                     training.seconds, training.initialLoss, training.finalLoss))
        if change.distilledFrom > 0 {
            print("distilled from the full-dimension rankings of \(change.distilledFrom.formatted()) queries (\(change.queriesSource == "log" ? "the query log's" : "given"))")
        }
    }
    if !change.varianceInPrefix.isEmpty {
        print("variance in the first " + change.varianceInPrefix.map { String(format: "%d dims: %.0f%%", $0.dims, $0.share * 100) }
            .joined(separator: ", "))
    }
}

/// How an adaptor head is trained (`mrl head --kind adaptor`, `mrl index --head adaptor`).
struct AdaptorOptions: ParsableArguments {
    @Option(help: "Adaptor training: passes over the documents.")
    var epochs = 10

    @Option(help: "Adaptor training: Adam's step size.")
    var learningRate: Float = 1e-3

    @Option(help: "Adaptor training: seed of the batch order (the same seed, documents and cores give the same head).")
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("Adaptor training, supervised: JSONL of {\"query\" (or \"vector\"), \"relevant_id\"} pairs to learn from instead of the documents alone.",
                               discussion: "Keep queries you evaluate with out of it."))
    var pairs: String?

    @Option(help: ArgumentHelp("Adaptor training: JSONL queries like those users send (\"query\" text or \"vector\"; no relevant id needed) whose full-dimension rankings each prefix learns (default: the query log, once it holds 1,000).",
                               discussion: "Keep queries you evaluate with out of it."))
    var trainQueries: String?

    @Flag(help: "Adaptor training: learn from the documents alone, not from any queries.")
    var noTrainQueries = false

    /// The pairs file's queries, when one is given.
    func trainingPairs() throws -> [KnownItemQuery]? { try pairs.map { try KnownItemQuery.read(path: $0) } }

    /// The --train-queries file's queries, when one is given.
    func trainingQueries() throws -> [KnownItemQuery]? { try trainQueries.map(queriesFile) }

    /// The queries an adaptor trained for `index` learns from, as `--train-queries` and
    /// `--no-train-queries` say.
    func queryGuidance(for index: Index) throws -> Index.QueryGuidance {
        if noTrainQueries { return .none }
        return try trainingQueries().map { .queries(try index.queryVectors($0)) } ?? .log
    }

    func validate() throws {
        if trainQueries != nil && noTrainQueries { throw ValidationError("give --train-queries or --no-train-queries, not both") }
        try check("--epochs", epochs, in: 1...10_000)  // steps are epochs × batches
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be a positive number") }
    }

    var options: AdaptorTrainer.Options {
        var options = AdaptorTrainer.Options()
        options.epochs = epochs
        options.learningRate = learningRate
        options.seed = seed
        return options
    }
}

extension ProgressDisplay {
    /// Shows one step of adaptor training (a plain line every 50 steps when not a terminal).
    func trainingStep(_ step: Int, _ steps: Int, _ loss: Double) {
        guard isTerminal || step % 50 == 0 || step == steps else { return }
        update(fraction: Double(step) / Double(max(steps, 1)), count: step, unit: "steps",
               plainLine: String(format: "training the adaptor: step %d of %d, loss %.4f", step, steps, loss))
    }
}
