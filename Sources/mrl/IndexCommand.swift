import ArgumentParser
import Engine
import Foundation
import Store

struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Add or update documents from a JSONL file.",
        discussion: """
            Each line is a JSON object: {"id": "...", "text": "...", "meta": {...}, "vector": [...]}.
            "id" is required, and "text" or "vector" (or both). Documents without a vector are embedded
            by the built-in model; a "vector" is taken as is, in the model's raw space.
            FILE may be gzip-compressed (.jsonl.gz) or "-" for standard input.

            Every write is an upsert by id, committed in batches (one durable transaction each):
            re-running the same file skips unchanged documents, so an interrupted run resumes cheaply.
            The index is created on first use, with the dimensions of the first vector (or the model's).
            From 2,000 documents on, a PCA head is fitted after the run (and refitted at 4x growth) so
            that short prefixes search well (see `mrl head`); from 5,000 on, an ANN graph is built and its
            search plans timed (see `mrl graph`). Later writes keep the graph current.
            """)

    @OptionGroup var target: IndexOptions

    @Argument(help: "JSONL file to read (.jsonl, .jsonl.gz, or - for standard input).")
    var file: String

    @Option(help: "Documents per write transaction.")
    var batchSize = 1000

    @Flag(help: "Skip bad lines (reporting how many and where) instead of stopping at the first.")
    var skipBad = false

    @Option(help: "Largest the index may grow, e.g. 512M, 64G (default: $MRL_MAX_SIZE, or 256G).")
    var maxSize: ByteSize?

    @Option(help: "Stop after this many lines (for a quick subset).")
    var limit: Int?

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
    }

    func run() throws {
        var options = Ingest.Options()
        options.batchSize = batchSize
        options.skipBad = skipBad
        options.lineLimit = limit
        let storeOptions = IndexStore.Options(mapSizeCap: maxSize?.bytes ?? environmentMaxSize() ?? (256 << 30))
        let ingest = Ingest(path: file, options: options)
        let progress = ProgressDisplay(), headProgress = ProgressDisplay()
        let summary: Ingest.Summary
        var opened: Index?
        // With a daemon running, batches go to it; it fits the head and builds the graph itself.
        let daemon = try target.daemon()
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
        let headChange = try opened?.refitHeadIfDue { done, total in
            headProgress.update(fraction: Double(done) / Double(max(total, 1)), count: done, unit: "blocks",
                                plainLine: "fitting the PCA head: wrote \(done) of \(total) vector blocks")
        }
        headProgress.finish()
        let graphBuild = try opened?.buildGraphIfDue()
        let costModel = try opened.flatMap { try calibrateWithProgress($0, onlyIfDue: true) }
        if json {
            printJSON([
                "index": target.index, "lines": summary.linesRead, "added": summary.totals.added,
                "changed": summary.totals.changed, "unchanged": summary.totals.unchanged,
                "skipped": summary.skipped, "skipped_errors": summary.skippedErrors.map(\.description),
                "seconds": summary.seconds,
                "graph_built": graphBuild.map { ["nodes": $0.record.nodes, "dims": $0.record.dims, "seconds": $0.record.buildSeconds] as [String: Any] } as Any? ?? NSNull(),
                "head_fitted": headChange.map { ["kind": $0.kind.rawValue, "version": $0.version, "seconds": $0.seconds] as [String: Any] } as Any? ?? NSNull(),
            ])
        } else {
            let rate = Double(summary.linesRead) / max(summary.seconds, 1e-9)
            print("\(target.index): \(summary.totals.added) added, \(summary.totals.changed) changed, \(summary.totals.unchanged) unchanged from \(summary.linesRead) lines in \(String(format: "%.1f", summary.seconds)) s (\(Int(rate)) lines/s)")
            if summary.skipped > 0 {
                print("skipped \(summary.skipped) bad lines:")
                summary.skippedErrors.forEach { print("  \($0)") }
                if summary.skipped > summary.skippedErrors.count { print("  ... and \(summary.skipped - summary.skippedErrors.count) more") }
            }
            if let headChange { try report(headChange, index: target.index, json: false) }
            if let graphBuild { try report(graphBuild, costModel, index: target.index, json: false) }
        }
    }

    private func openOrCreate(first: DocumentInput, options: IndexStore.Options) throws -> Index {
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

    private func environmentMaxSize() -> Int? {
        ProcessInfo.processInfo.environment["MRL_MAX_SIZE"].flatMap { ByteSize(argument: $0)?.bytes }
    }
}
