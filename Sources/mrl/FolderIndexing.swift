import ArgumentParser
import Engine
import Foundation
import Terminal

extension IndexCommand {
    /// `mrl index --index NAME PATH...` for files and folders: incremental, chunked, and
    /// with --watch kept current until interrupted.
    func indexFolders() throws {
        var options = FolderIngest.Options()
        options.chunkTokens = chunkTokens
        options.overlap = overlap
        options.batchSize = batchSize ?? options.batchSize
        options.rules = IgnoreRules(include: include, exclude: exclude)
        let headFile = try headFrom.map(HeadFile.read)
        let index = try target.catalog(maxIndexBytes: maxSize?.bytes).indexCreatingIfMissing(target.index, dimensions: nil, precision: precision ?? .fp32)
        try prepare(index, head: headFile)
        let ingest = FolderIngest(roots: paths, options: options)
        try runOnce(ingest, index: index, quietWhenNothing: false)
        guard watch else { return }
        let watcher = try FolderWatcher(roots: paths, rules: options.rules)
        note("watching \(paths.joined(separator: ", ")) for changes (Ctrl-C to stop)")
        // Folders come and go while watched: a vanished one is reported, the rest kept.
        options.rootsMayVanish = true
        let rerun = FolderIngest(roots: paths, options: options)
        while true {
            watcher.waitForChanges()
            for folder in try watcher.watchFolders() { note("\(folder): gone before it could be watched; watching the rest") }
            try runOnce(rerun, index: index, quietWhenNothing: true)
        }
    }

    private func runOnce(_ ingest: FolderIngest, index: IndexService, quietWhenNothing: Bool) throws {
        let progress = ProgressDisplay()
        let summary: FolderIngest.Summary
        do {
            summary = try ingest.run(index: index) { p in
                progress.update(fraction: Double(p.bytesDone) / Double(max(p.bytesTotal, 1)), count: p.filesDone, unit: "files",
                                plainLine: "read \(p.filesDone) of \(p.filesTotal) files, \(p.chunks) chunks")
            }
        } catch {
            progress.finish()
            throw error
        }
        progress.finish()
        let upkeep = try upkeep(index) ?? Upkeep()
        // With --watch the process ends by a signal: each run's summary must not wait in a buffer.
        defer { fflush(nil) }
        let nothing = summary.added + summary.changed + summary.removed == 0
        if quietWhenNothing, nothing { return }
        if json {
            let report: [String: JSON] = [
                "index": .string(target.index), "files_added": JSON(summary.added), "files_changed": JSON(summary.changed),
                "files_removed": JSON(summary.removed), "files_unchanged": JSON(summary.unchanged), "files_skipped": JSON(summary.skipped),
                "chunks_written": JSON(summary.chunksWritten), "chunks_deleted": JSON(summary.chunksDeleted),
                "bytes_read": JSON(summary.bytesRead), "seconds": JSON(summary.seconds), "notes": .array(summary.notes.map(JSON.string)),
            ]
            print(JSON.object(report.merging(upkeep.json) { a, _ in a }).serialized)
            return
        }
        let mb = Double(summary.bytesRead) / 1e6
        print(String(format: "%@: files %d added, %d changed, %d removed, %d unchanged, %d skipped; %d chunks written, %d deleted; %.1f MB read in %.1f s",
                     target.index, summary.added, summary.changed, summary.removed, summary.unchanged, summary.skipped,
                     summary.chunksWritten, summary.chunksDeleted, mb, summary.seconds))
        for line in summary.notes.prefix(20) { print("  note: \(line)") }
        if summary.notes.count > 20 { print("  ... and \(summary.notes.count - 20) more notes") }
        try printUpkeep(upkeep)
    }
}
