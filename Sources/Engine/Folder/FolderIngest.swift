import Embedding
import Foundation
import Store

/// Indexes files and folders: each file read as text (`TextFile`), cut into chunks that fit
/// the model's window (`Chunker`), each chunk a document `PATH#N` (`ChunkID`) with meta {path, chunk,
/// bytes, lines, mtime}. A table in the index's meta remembers each file's size, mtime,
/// content hash and chunk count, so a re-run reads only files whose size or mtime changed,
/// re-embeds only those whose text changed, and deletes the chunks of files gone from the
/// folders given. A killed run resumes: a file's record is written only after its chunks
/// are committed, and unchanged chunks are skipped by content hash.
///
/// ```swift
/// let ingest = FolderIngest(roots: ["notes"], options: .init())
/// let summary = try ingest.run(index: index) { print($0.filesDone, "of", $0.filesTotal) }
/// ```
public struct FolderIngest {
    public struct Options: Sendable {
        /// Tokens per chunk, [CLS] and [SEP] included (the model reads 256).
        public var chunkTokens = 256
        public var overlap = 32
        /// Chunks per write transaction (and encoder call).
        public var batchSize = 256
        public var rules = IgnoreRules()
        /// See `FolderScan.rootsMayVanish`.
        public var rootsMayVanish = false
        public init() {}
    }

    public struct Progress: Sendable {
        public var filesDone: Int
        public var filesTotal: Int
        public var bytesDone: Int
        public var bytesTotal: Int
        public var chunks: Int
    }

    public struct Summary: Sendable {
        public var added = 0, changed = 0, removed = 0, unchanged = 0
        /// Files not read: binary, unreadable, PDFs without pdftotext.
        public var skipped = 0
        public var chunksWritten = 0, chunksDeleted = 0
        public var bytesRead = 0
        public var seconds = 0.0
        /// Warnings for people: files read as Latin-1, unreadable files and folders.
        public var notes: [String] = []
    }

    /// What the index remembers of a file (meta key `file/` + a hash of the path).
    /// What the index remembers of a file it read (see `IndexService.fileRecords`).
    public struct FileRecord: JSONRepresentable, Sendable, Equatable {
        public var path: String
        public var size: Int
        public var modified: Double
        public var hash: UInt64
        public var chunks: Int

        public init(path: String, size: Int, modified: Double, hash: UInt64, chunks: Int) {
            (self.path, self.size, self.modified, self.hash, self.chunks) = (path, size, modified, hash, chunks)
        }

        public init(json: JSON) throws(JSONDecodingError) {
            let fields = try JSONFields(json, of: FileRecord.self)
            path = try fields["path"]
            size = try fields["size"]
            modified = try fields["modified"]
            chunks = try fields["chunks"]
            // Hex text; records written before hold a number, exact below 2^63 (a larger one
            // reads as a near Double, so a touched file is read again once).
            let stored: JSON = try fields["hash"]
            guard let hash = stored.string.flatMap({ UInt64($0, radix: 16) }) ?? stored.int64.flatMap({ UInt64(exactly: $0) })
                ?? stored.number.flatMap({ UInt64(exactly: $0) }) else {
                throw JSONDecodingError(record: "FileRecord", field: "hash", problem: "expected 16 hex digits, got \(stored.serialized.prefix(40))")
            }
            self.hash = hash
            // Records also come over the socket (`POST /indexes/{name}/files`): sane values only.
            guard !path.isEmpty, path.utf8.count <= 4_096 else {
                throw JSONDecodingError(record: "FileRecord", field: "path", problem: "must be a path of 1 to 4096 bytes")
            }
            guard size >= 0, modified.isFinite, (0...Self.maxChunks).contains(chunks) else {
                throw JSONDecodingError(record: "FileRecord", field: size < 0 ? "size" : modified.isFinite ? "chunks" : "modified",
                                        problem: "must be a size ≥ 0, a finite time and 0 to \(Self.maxChunks) chunks")
            }
        }

        /// More chunks than any file of the 16 MiB a folder walk reads could give.
        public static let maxChunks = 1 << 20

        public var json: JSON {
            ["path": .string(path), "size": JSON(size), "modified": .number(modified),
             "hash": .string(String(hash, radix: 16)), "chunks": JSON(chunks)]
        }
    }

    public let roots: [String]
    public let options: Options

    public init(roots: [String], options: Options) {
        self.roots = roots
        self.options = options
    }

    static let recordPrefix = "file/"

    static func recordKey(_ path: String) -> String {
        var hash = ContentHash()
        hash.add(path)
        return recordPrefix + String(hash.value, radix: 16)
    }

    /// Reads the files into `index`, here or through a daemon: the same rule either way.
    public func run(index: IndexService, progress: (Progress) -> Void) throws -> Summary {
        let started = Date()
        var summary = Summary()
        var scan = FolderScan(rules: options.rules)
        scan.rootsMayVanish = options.rootsMayVanish
        let files = try scan.files(under: roots)
        summary.notes += scan.problems
        let records = Dictionary(try index.fileRecords().map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        // The model loads only when some file needs chunking: a run with nothing new is quick.
        var loaded: TextEncoder?
        func encoder() throws -> TextEncoder {
            if let loaded { return loaded }
            loaded = try Model.encoder()
            return loaded!
        }
        var batch: [DocumentInput] = [], finished: [FileRecord] = []
        func commit() throws {
            if !batch.isEmpty {
                let written = try index.upsert(batch)
                summary.chunksWritten += written.added + written.changed
            }
            batch.removeAll()
            if !finished.isEmpty {
                try index.updateFileRecords(put: finished, forget: [])
                finished.removeAll()
            }
        }
        var report = Progress(filesDone: 0, filesTotal: files.count, bytesDone: 0, bytesTotal: files.reduce(0) { $0 + $1.size }, chunks: 0)
        var pdfSkipped = 0, latin1 = 0
        for file in files {
            defer {
                report.filesDone += 1
                report.bytesDone += file.size
                progress(report)
            }
            let old = records[file.path]
            if let old, old.size == file.size, old.modified == file.modified {
                summary.unchanged += 1
                continue
            }
            // A touched file whose text is the same only needs its record updated.
            if let old, let same = try? TextFile.read(file.path, line: { _, _, _ in }), same.hash == old.hash {
                finished.append(FileRecord(path: file.path, size: file.size, modified: file.modified, hash: old.hash, chunks: old.chunks))
                summary.unchanged += 1
                continue
            }
            var chunker = Chunker(maxTokens: options.chunkTokens - 2, overlap: options.overlap, count: try encoder().tokenCount)
            var count = 0
            func add(_ chunks: [Chunk]) throws {
                for chunk in chunks {
                    let meta: JSON = ["path": .string(file.path), "chunk": JSON(count), "bytes": [JSON(chunk.bytes.lowerBound), JSON(chunk.bytes.upperBound)],
                                      "lines": [JSON(chunk.lines.lowerBound), JSON(chunk.lines.upperBound)], "mtime": .number(file.modified)]
                    batch.append(DocumentInput(id: ChunkID.make(file.path, count), text: chunk.text, meta: meta.serialized))
                    count += 1
                    report.chunks += 1
                    if batch.count >= options.batchSize { try commit() }
                }
            }
            let outcome: TextFile.Outcome
            do {
                outcome = try TextFile.read(file.path) { line, number, offset in
                    chunker.add(line: line, number: number, offset: offset)
                    try add(chunker.take())
                }
                try add(chunker.finish())
            } catch let refusal as TextFile.Refusal {
                if case .needsPdftotext = refusal { pdfSkipped += 1 } else if case .unreadable(let reason) = refusal {
                    summary.notes.append("\(file.path): skipped, \(reason)")
                }
                summary.skipped += 1
                continue
            }
            if outcome.latin1 { latin1 += 1 }
            summary.bytesRead += file.size
            // Chunks past the new end belong to an older, longer version of the file.
            if let old, old.chunks > count {
                try commit()
                summary.chunksDeleted += try index.delete(ids: (count..<old.chunks).map { ChunkID.make(file.path, $0) })
            }
            if old == nil { summary.added += 1 } else { summary.changed += 1 }
            finished.append(FileRecord(path: file.path, size: file.size, modified: file.modified, hash: outcome.hash, chunks: count))
        }
        try commit()
        // Files under these roots that the index has but the folders no longer do.
        let present = Set(files.map(\.path))
        let absoluteRoots = roots.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        for record in records.values where !present.contains(record.path)
            && absoluteRoots.contains(where: { record.path == $0 || record.path.hasPrefix($0 + "/") }) {
            summary.chunksDeleted += try index.delete(ids: (0..<record.chunks).map { ChunkID.make(record.path, $0) })
            try index.updateFileRecords(put: [], forget: [record.path])
            summary.removed += 1
        }
        if pdfSkipped > 0 { summary.notes.append("\(pdfSkipped) PDF files skipped: install poppler-utils (pdftotext) to read them") }
        if latin1 > 0 { summary.notes.append("\(latin1) files had bytes that are not UTF-8: read as Latin-1") }
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }
}
