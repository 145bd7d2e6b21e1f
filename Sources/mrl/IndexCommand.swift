import ArgumentParser
import Engine
import Foundation
import Server
import Terminal

struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Add or update documents: a JSONL file, or your own files and folders.",
        discussion: """
            Files and folders (anything but one .jsonl/.jsonl.gz file or -): folders are walked (hidden \
            files, .git and the like, and what a .mrlignore at the root lists, in gitignore syntax, are \
            skipped; --include takes file globs, --exclude more .mrlignore lines), binary files are skipped, and text, Markdown, reStructuredText, HTML, \
            .gz and PDF (with pdftotext) are read. Long texts are cut into chunks of 256 tokens that \
            overlap by 32, at paragraph and sentence boundaries; each is a document PATH#N with meta \
            {path, chunk, bytes, lines, mtime}. Re-runs read only files whose size or mtime changed, \
            re-embed only changed text, and delete the chunks of files that are gone; --watch keeps \
            going, re-indexing as files change.

            A JSONL file: each line is a JSON object: {"id": "...", "text": "...", "meta": {...}, "vector": [...]}. \
            "id" is required, and "text" or "vector" (or both). Documents without a vector are embedded \
            by the built-in model; a "vector" is taken as is, in the model's raw space. \
            FILE may be gzip-compressed (.jsonl.gz) or "-" for standard input.

            Every write is an upsert by id, committed in batches (one durable transaction each): \
            re-running the same file skips unchanged documents, so an interrupted run resumes cheaply. \
            The index is created on first use, with the dimensions of the first vector (or the model's). \
            From 2,000 documents on, a PCA head is fitted after the run (and refitted at 4x growth) so \
            that short prefixes search well (`--head adaptor` trains a learned head instead, see `mrl head`); from 5,000 on, an ANN graph is built and its \
            search plans timed (see `mrl graph`). Later writes keep the graph current.
            Examples:
              mrl index --index notes ~/notes ~/papers
              mrl index --index debian debian-packages.jsonl.gz
              mrl index --index debian --chunk debian-packages.jsonl.gz
            """)

    @OptionGroup var target: IndexOptions

    @Argument(help: "A JSONL file (.jsonl, .jsonl.gz, or - for standard input), or files and folders to index.")
    var paths: [String]

    @Flag(help: "JSONL: cut documents longer than the model's window into chunks ID#N (meta parent = ID).")
    var chunk = false

    @Option(help: "Tokens per chunk, [CLS] and [SEP] included.")
    var chunkTokens = 256

    @Option(help: "Tokens a chunk repeats from the end of the one before.")
    var overlap = 32

    @Option(help: "Folders: read only files matching this glob (repeat for more).")
    var include: [String] = []

    @Option(help: "Folders: skip files and folders matching this pattern, read like one more .mrlignore line (repeat for more).")
    var exclude: [String] = []

    @Flag(help: "Folders: keep running, re-indexing files as they change (inotify), until interrupted.")
    var watch = false

    @Option(help: "Documents (or chunks) per write transaction (default: 1000 from JSONL, 256 chunks from files).")
    var batchSize: Int?

    @Flag(help: "Skip bad lines (reporting how many and where) instead of stopping at the first.")
    var skipBad = false

    @Option(help: "Largest the index may grow, e.g. 512M, 64G, at most 1P (default: $MRL_MAX_SIZE, or 256G).")
    var maxSize: ByteSize?

    @Option(help: "Stop after this many lines (for a quick subset).")
    var limit: Int?

    @Option(help: "A new index's text embedding: fp32 (default; reproduces sentence-transformers) or int8 (faster, cosine ≥ 0.995 to fp32; see README). Queries are embedded the same way.")
    var precision: Precision?

    @Option(help: "The head to search with once the index has 2,000 documents: pca (default) or adaptor; kept up to date as the index grows.")
    var head: HeadKind?

    @Option(name: .customLong("head-from"), help: ArgumentHelp("Search with the head in this file (from `mrl head --save`), installed before the first write and never refitted: how the shards of a sharded index share one head.", valueName: "file"))
    var headFrom: String?

    @OptionGroup var training: AdaptorOptions

    @Flag(help: "Print the summary as JSON.")
    var json = false

    /// One JSONL file (or standard input), as opposed to files and folders.
    var isJSONL: Bool {
        guard paths.count == 1, let path = paths.first else { return false }
        return path == "-" || [".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz"].contains { path.hasSuffix($0) }
    }

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("give a JSONL file, or files and folders to index") }
        guard (16...512).contains(chunkTokens), (0..<chunkTokens / 2).contains(overlap) else {
            throw ValidationError("--chunk-tokens must be 16-512 and --overlap less than half of it")
        }
        if watch, isJSONL { throw ValidationError("--watch is for files and folders, not a JSONL file") }
        if let batchSize, batchSize <= 0 { throw ValidationError("--batch-size must be positive") }
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
        if head != nil, headFrom != nil { throw ValidationError("give --head (fit a head) or --head-from (install one), not both") }
        do { _ = try DataDirectory.environmentSizeCap() } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        guard isJSONL else { return try indexFolders() }
        var options = Ingest.Options()
        options.batchSize = batchSize ?? options.batchSize
        options.skipBad = skipBad
        options.lineLimit = limit
        if chunk { options.chunking = (chunkTokens, overlap) }
        let catalog = try target.catalog(maxIndexBytes: maxSize?.bytes)
        if catalog is DaemonCatalog, head != nil {
            throw ValidationError("--head changes the index's head here, but \(catalog.place) holds the index: stop it, or run `mrl head` when it is stopped")
        }
        let headFile = try headFrom.map(HeadFile.read)
        let progress = ProgressDisplay()
        let summary: Ingest.Summary
        var opened: IndexService?
        do {
            summary = try Ingest(path: paths[0], options: options).run(openIndex: { first in
                let index = try catalog.indexCreatingIfMissing(target.index, dimensions: first.vector?.count, precision: precision ?? .fp32)
                try prepare(index, head: headFile)
                opened = index
                return index
            }) { p in
                progress.update(
                    fraction: p.totalBytes.map { Double(p.bytesRead) / Double(max($0, 1)) },
                    count: p.linesRead, unit: "lines",
                    plainLine: "committed lines \(p.batchLines.lowerBound)-\(p.batchLines.upperBound): \(p.batchDocuments) docs; total \(p.totals.added) added, \(p.totals.changed) changed, \(p.totals.unchanged) unchanged")
            }
        } catch {
            progress.finish()
            throw error
        }
        progress.finish()
        let upkeep = try opened.flatMap(upkeep)
        if json {
            let report: [String: JSON] = [
                "index": .string(target.index), "lines": JSON(summary.linesRead), "added": JSON(summary.totals.added),
                "changed": JSON(summary.totals.changed), "unchanged": JSON(summary.totals.unchanged),
                "skipped": JSON(summary.skipped), "skipped_errors": .array(summary.skippedErrors.map { .string($0.description) }),
                "seconds": JSON(summary.seconds),
            ]
            print(JSON.object(report.merging((upkeep ?? Upkeep()).json) { a, _ in a }).serialized)
        } else {
            let rate = Double(summary.linesRead) / max(summary.seconds, 1e-9)
            print("\(target.index): \(summary.totals.added) added, \(summary.totals.changed) changed, \(summary.totals.unchanged) unchanged from \(summary.linesRead) lines in \(String(format: "%.1f", summary.seconds)) s (\(Int(rate)) lines/s)")
            if summary.skipped > 0 {
                print("skipped \(summary.skipped) bad lines:")
                summary.skippedErrors.forEach { print("  \($0)") }
                if summary.skipped > summary.skippedErrors.count { print("  ... and \(summary.skipped - summary.skippedErrors.count) more") }
            }
            try upkeep.map { try printUpkeep($0) }
        }
    }

    /// The upkeep due after a run (`Index.upkeep`), with progress; nil through a daemon, which
    /// does it by itself.
    func upkeep(_ index: IndexService) throws -> Upkeep? {
        let trainingProgress = ProgressDisplay(), headProgress = ProgressDisplay(), plansProgress = ProgressDisplay()
        defer { [trainingProgress, headProgress, plansProgress].forEach { $0.finish() } }
        var progress = Upkeep.Progress()
        progress.training = trainingProgress.trainingStep
        progress.blocks = { done, total in
            trainingProgress.finish()
            headProgress.update(fraction: Double(done) / Double(max(total, 1)), count: done, unit: "blocks",
                                plainLine: "fitting the head: wrote \(done) of \(total) vector blocks")
        }
        progress.plans = { done, total in
            headProgress.finish()
            plansProgress.update(fraction: Double(done) / Double(max(total, 1)), count: done, unit: "plans",
                                 plainLine: "timed \(done) of \(total) search plans")
        }
        let request = try head.map { Upkeep.HeadRequest(kind: $0, adaptor: training.options, pairs: try training.trainingPairs(),
                                                                   queries: training.noTrainQueries ? [] : try training.trainingQueries()) }
        return try index.upkeepAfterWrites(head: request, progress: progress)
    }

    func printUpkeep(_ upkeep: Upkeep) throws {
        if let change = upkeep.head { try report(change, index: target.index, json: false) }
        if let graph = upkeep.graph { try report(graph, upkeep.costModel, index: target.index, json: false) }
    }
}

extension IndexCommand {
    /// Checks the index before the first write: its precision, and with --head-from its head,
    /// installed unless it is that head already (a re-run changes nothing).
    func prepare(_ index: IndexService, head file: HeadFile?) throws {
        try checkPrecision(of: index)
        guard let file, let path = headFrom, try index.headFile() != file else { return }
        let change = try index.installHead(file) { _, _ in }
        note("\(target.index): installed the \(change.kind.rawValue) head of \(path) (v\(change.version)); it is kept as it is, never refitted")
    }

    /// --precision names how a new index embeds; an index that exists keeps its own, so a
    /// different one asked for is refused rather than silently ignored.
    func checkPrecision(of index: IndexService) throws {
        guard let precision else { return }
        let own = try index.infoDocument()["model"]?["precision"]?.string ?? Precision.fp32.rawValue
        guard own == precision.rawValue else {
            throw ValidationError("index \"\(target.index)\" embeds its texts at \(own), not \(precision.rawValue): an index keeps the precision it was created with. Leave out --precision, or index into a new index")
        }
    }
}

extension Precision: ExpressibleByArgument {}
