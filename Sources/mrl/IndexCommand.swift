import ArgumentParser
import Embedding
import Engine
import Foundation
import Search
import Store

struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Add or update documents: a JSONL file, or your own files and folders.",
        discussion: """
            Files and folders (anything but one .jsonl/.jsonl.gz file or -): folders are walked (hidden
            files, .git and the like, and what a .mrlignore at the root lists are skipped; --include and
            --exclude take globs), binary files are skipped, and text, Markdown, reStructuredText, HTML,
            .gz and PDF (with pdftotext) are read. Long texts are cut into chunks of 256 tokens that
            overlap by 32, at paragraph and sentence boundaries; each is a document PATH#N with meta
            {path, chunk, bytes, lines, mtime}. Re-runs read only files whose size or mtime changed,
            re-embed only changed text, and delete the chunks of files that are gone; --watch keeps
            going, re-indexing as files change.

            A JSONL file: each line is a JSON object: {"id": "...", "text": "...", "meta": {...}, "vector": [...]}.
            "id" is required, and "text" or "vector" (or both). Documents without a vector are embedded
            by the built-in model; a "vector" is taken as is, in the model's raw space.
            FILE may be gzip-compressed (.jsonl.gz) or "-" for standard input.

            Every write is an upsert by id, committed in batches (one durable transaction each):
            re-running the same file skips unchanged documents, so an interrupted run resumes cheaply.
            The index is created on first use, with the dimensions of the first vector (or the model's).
            From 2,000 documents on, a PCA head is fitted after the run (and refitted at 4x growth) so
            that short prefixes search well (`--head adaptor` trains a learned head instead, see `mrl head`); from 5,000 on, an ANN graph is built and its
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

    @Option(help: "Folders: skip files matching this glob (repeat for more).")
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

    @Option(help: "The head to search with once the index has 2,000 documents: pca (default) or adaptor; kept up to date as the index grows.")
    var head: MatryoshkaHead.Kind?

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
        _ = try environmentMaxSize()
    }

    func run() throws {
        guard isJSONL else { return try indexFolders() }
        let file = paths[0]
        var options = Ingest.Options()
        options.batchSize = batchSize ?? options.batchSize
        options.skipBad = skipBad
        options.lineLimit = limit
        if chunk { options.chunking = (chunkTokens, overlap) }
        let storeOptions = IndexStore.Options(mapSizeCap: try maxSize?.bytes ?? environmentMaxSize() ?? (256 << 30))
        let ingest = Ingest(path: file, options: options)
        let progress = ProgressDisplay()
        let summary: Ingest.Summary
        var opened: Index?
        // With a daemon running, batches go to it; it fits the head and builds the graph itself.
        let daemon = try target.daemon()
        if daemon != nil, head != nil {
            throw ValidationError("--head changes the index's head here, but `mrl serve` holds the index: stop it, or run `mrl head` when it is stopped")
        }
        do {
            summary = try ingest.run(openIndex: { first in
                if let daemon { return try DaemonSink(daemon: daemon, name: target.index, first: first) }
                opened = try openOrCreate(first: first, options: storeOptions)
                return opened!
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
        let upkeep = try opened.map(upkeep)
        if json {
            printJSON([
                "index": target.index, "lines": summary.linesRead, "added": summary.totals.added,
                "changed": summary.totals.changed, "unchanged": summary.totals.unchanged,
                "skipped": summary.skipped, "skipped_errors": summary.skippedErrors.map(\.description),
                "seconds": summary.seconds,
            ].merging(upkeep?.json ?? [:]) { a, _ in a })
        } else {
            let rate = Double(summary.linesRead) / max(summary.seconds, 1e-9)
            print("\(target.index): \(summary.totals.added) added, \(summary.totals.changed) changed, \(summary.totals.unchanged) unchanged from \(summary.linesRead) lines in \(String(format: "%.1f", summary.seconds)) s (\(Int(rate)) lines/s)")
            if summary.skipped > 0 {
                print("skipped \(summary.skipped) bad lines:")
                summary.skippedErrors.forEach { print("  \($0)") }
                if summary.skipped > summary.skippedErrors.count { print("  ... and \(summary.skipped - summary.skippedErrors.count) more") }
            }
            try upkeep?.print(index: target.index)
        }
    }

    /// What follows a run: fit or refit the head, build the graph, time its plans, each when due.
    struct Upkeep {
        var head: HeadChange?
        var graph: GraphBuild?
        var costModel: CostModel?

        var json: [String: Any] {
            ["graph_built": graph.map { ["nodes": $0.record.nodes, "dims": $0.record.dims, "seconds": $0.record.buildSeconds] as [String: Any] } as Any? ?? NSNull(),
             "head_fitted": head.map { ["kind": $0.kind.rawValue, "version": $0.version, "seconds": $0.seconds] as [String: Any] } as Any? ?? NSNull()]
        }

        func print(index: String) throws {
            if let head { try report(head, index: index, json: false) }
            if let graph { try report(graph, costModel, index: index, json: false) }
        }
    }

    func upkeep(_ index: Index) throws -> Upkeep {
        let trainingProgress = ProgressDisplay(), headProgress = ProgressDisplay()
        let blocks = { (done: Int, total: Int) in
            trainingProgress.finish()
            headProgress.update(fraction: Double(done) / Double(max(total, 1)), count: done, unit: "blocks",
                                plainLine: "fitting the head: wrote \(done) of \(total) vector blocks")
        }
        let change: HeadChange?
        if let head, try index.currentHead().record?.kind ?? MatryoshkaHead.Kind.none.rawValue != head.rawValue,
           try index.info().documents >= Index.automaticHeadMinimum {
            change = try index.changeHead(to: head, automatic: head != .none, adaptor: training.options,
                                          pairs: try training.trainingPairs(), training: trainingProgress.trainingStep, progress: blocks)
        } else {
            change = try index.refitHeadIfDue(training: trainingProgress.trainingStep, progress: blocks)
        }
        headProgress.finish()
        let head = change
        let graph = try index.buildGraphIfDue()
        return Upkeep(head: head, graph: graph, costModel: try calibrateWithProgress(index, onlyIfDue: true))
    }

    func openOrCreate(first: DocumentInput, options: IndexStore.Options) throws -> Index {
        do {
            return try target.open(.write, options: options)
        } catch StoreError.indexNotFound {
            let dimensions = first.vector?.count ?? Model.defaultDimensions
            // Vectors of the model's size are taken to be in its raw space, so text queries work.
            let model = dimensions == Model.defaultDimensions ? Model.identity() : nil
            return try Index.create(name: target.index, in: target.dataDirectory, dimensions: dimensions,
                                    model: model, options: options)
        }
    }

    func environmentMaxSize() throws -> Int? {
        try ByteSize.environment("MRL_MAX_SIZE")?.bytes
    }
}
