import Foundation
import Store

/// Where an ingest's batches go: an `Index` opened here, or a running daemon.
public protocol DocumentSink {
    var name: String { get }
    var dimensions: Int { get }
    /// Whether a document without a vector can be embedded by the built-in model.
    var acceptsText: Bool { get }
    /// Writes a batch durably and says what it did.
    func upsert(_ documents: [DocumentInput]) throws -> WriteReport
}

extension Index: DocumentSink {
    public var dimensions: Int { manifest.dimensions }
}

/// Reads a JSONL file (plain or .gz, or "-" for standard input) into an index in batches,
/// one durable transaction each. Progress is reported only after a batch commits, so what
/// it reports as done survives a crash; re-running skips what is already stored.
///
/// ```swift
/// let ingest = Ingest(path: "docs.jsonl.gz", options: .init())
/// let summary = try ingest.run(openIndex: { first in try Index.open(...) }, progress: { print($0.linesRead) })
/// ```
public struct Ingest {
    public struct Options: Sendable {
        /// Documents per write transaction.
        public var batchSize = 1000
        /// Go on past bad lines, reporting them, instead of stopping at the first.
        public var skipBad = false
        /// Longer lines are rejected without being held in memory.
        public var maxLineBytes = 16 << 20
        /// Stop after this many lines (a quick subset).
        public var lineLimit: Int?
        /// Cut texts longer than `tokens` (the model's window) into overlapping chunks ID#N.
        public var chunking: (tokens: Int, overlap: Int)?
        public init() {}
    }

    /// Sent after each committed batch.
    public struct Progress: Sendable {
        public var linesRead: Int
        public var bytesRead: Int
        public var totalBytes: Int?
        public var totals: WriteReport
        public var skipped: Int
        /// Lines of the batch just committed, and how many documents it held.
        public var batchLines: ClosedRange<Int>
        public var batchDocuments: Int
    }

    public struct Summary: Sendable {
        public var totals: WriteReport
        public var linesRead: Int
        public var skipped: Int
        /// The first bad lines, when `skipBad` let the ingest go on.
        public var skippedErrors: [EngineError]
        public var seconds: Double
    }

    public let path: String
    public let options: Options
    public var source: String { path == "-" ? "<stdin>" : path }

    public init(path: String, options: Options) {
        self.path = path
        self.options = options
    }

    /// Runs the ingest. `openIndex` is called once, with the first valid document, so a new
    /// index can take its dimensions from it. Throws the first bad line's `badDocument`
    /// (unless `skipBad`), `unreadable`, and the index's errors; batches committed before
    /// the error stay committed.
    public func run(openIndex: (DocumentInput) throws -> any DocumentSink, progress: (Progress) -> Void) throws -> Summary {
        let started = Date()
        let reader = try LineReader(path: path, maxLineBytes: options.maxLineBytes)
        let parser = DocumentParser(source: source)
        var index: (any DocumentSink)?
        var batch: [DocumentInput] = []
        var batchFirstLine = 0, lastLine = 0
        var totals = WriteReport()
        var skippedErrors: [EngineError] = []
        var skipped = 0

        func reject(_ error: EngineError) throws {
            guard options.skipBad else { throw error }
            skipped += 1
            if skippedErrors.count < 20 { skippedErrors.append(error) }
        }
        func commit() throws {
            guard let index, !batch.isEmpty else { return }
            totals += try index.upsert(batch)
            progress(Progress(linesRead: lastLine, bytesRead: reader.bytesRead, totalBytes: reader.totalBytes,
                              totals: totals, skipped: skipped, batchLines: batchFirstLine...lastLine,
                              batchDocuments: batch.count))
            batch.removeAll(keepingCapacity: true)
        }

        while lastLine < options.lineLimit ?? .max, let line = try reader.next() {
            switch line {
            case .tooLong(let number):
                lastLine = number
                try reject(.badDocument(source: source, line: number, field: nil,
                                        message: "is over the \(options.maxLineBytes >> 20) MiB line limit (is it JSONL?)"))
            case .text(let number, let bytes):
                lastLine = number
                do {
                    guard let doc = try parser.parse(bytes, line: number) else { continue }
                    let sink = try index ?? openIndex(doc)
                    index = sink
                    if let vector = doc.vector, vector.count != sink.dimensions {
                        throw EngineError.badDocument(source: source, line: number, field: "vector",
                            message: "has \(vector.count) dimensions, index \"\(sink.name)\" has \(sink.dimensions)")
                    }
                    if doc.vector == nil, !sink.acceptsText {
                        throw EngineError.badDocument(source: source, line: number, field: "vector",
                            message: "is missing: index \"\(sink.name)\" holds \(sink.dimensions)-d vectors of your own model, so each document needs one")
                    }
                    if batch.isEmpty { batchFirstLine = number }
                    if let chunking = options.chunking {
                        batch += doc.chunked(tokens: chunking.tokens, overlap: chunking.overlap, encoder: try Model.encoder())
                    } else {
                        batch.append(doc)
                    }
                } catch let error as EngineError {
                    guard case .badDocument = error else { throw error }
                    try reject(error)
                }
                if batch.count >= options.batchSize { try commit() }
            }
        }
        try commit()
        return Summary(totals: totals, linesRead: lastLine, skipped: skipped,
                       skippedErrors: skippedErrors, seconds: Date().timeIntervalSince(started))
    }
}
