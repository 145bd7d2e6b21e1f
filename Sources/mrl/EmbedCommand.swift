import ArgumentParser
import Engine
import Foundation
import Terminal

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed the texts of a JSONL file and write the vectors (.npy or JSONL).",
        discussion: """
            Reads lines like those of `mrl index` ({"id": ..., "text": ...}; .gz or - for standard input) \
            and writes one unit-length vector per document, in input order: a float32 NumPy array \
            (rows × 384) when the output ends in .npy, else JSONL lines {"id": ..., "vector": [...]}.
            Example: mrl embed docs.jsonl.gz -o docs.npy
            """)

    @Argument(help: "JSONL file to read (.jsonl, .jsonl.gz, or - for standard input).")
    var file: String

    @Option(name: .shortAndLong, help: "Where to write: a .npy file, or .jsonl (- for standard output).")
    var output: String

    @Option(help: "Texts per forward pass batch.")
    var batchSize = EmbedCommand.defaultBatchSize

    @Option(help: "Arithmetic of the model's linear layers: fp32 (reproduces sentence-transformers) or int8 (faster; see README).")
    var precision: Precision = .fp32

    static let defaultBatchSize = Model.batchSize

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() throws {
        let encoder = try Model.encoder()
        let reader = try LineReader(path: file)
        let parser = DocumentParser(source: file == "-" ? "<stdin>" : file)
        let sink = try VectorSink(output: output, columns: encoder.dimensions)
        let progress = ProgressDisplay()
        var batch: [DocumentInput] = []
        var count = 0
        func flush() throws {
            guard !batch.isEmpty else { return }
            try sink.write(ids: batch.map(\.id), vectors: encoder.embed(batch.map(\.text), lane: .bulk, precision: precision))
            count += batch.count
            batch.removeAll(keepingCapacity: true)
            progress.update(fraction: reader.totalBytes.map { Double(reader.bytesRead) / Double(max($0, 1)) },
                            count: count, unit: "texts", plainLine: "embedded \(count) texts")
        }
        while let line = try reader.next() {
            switch line {
            case .tooLong(let number):
                throw EngineError.badDocument(source: parser.source, line: number, field: nil, message: "is over the line limit (is it JSONL?)")
            case .text(let number, let bytes):
                guard let doc = try parser.parse(bytes, line: number) else { continue }
                batch.append(doc)
                if batch.count >= batchSize { try flush() }
            }
        }
        try flush()
        try sink.finish()
        progress.finish()
        note("embedded \(count) texts into \(output)")
    }
}

/// Where `mrl embed` puts vectors: a .npy array, or JSONL lines with the ids.
private enum VectorSink {
    case numpy(NumpyWriter)
    case jsonLines(FileHandle)

    init(output: String, columns: Int) throws {
        if output.hasSuffix(".npy") {
            self = .numpy(try NumpyWriter(path: output, columns: columns))
        } else if output == "-" {
            self = .jsonLines(.standardOutput)
        } else {
            guard FileManager.default.createFile(atPath: output, contents: nil), let handle = FileHandle(forWritingAtPath: output) else {
                throw EngineError.unreadable(path: output, reason: "cannot create the file")
            }
            self = .jsonLines(handle)
        }
    }

    func write(ids: [String], vectors: [[Float]]) throws {
        switch self {
        case .numpy(let writer):
            try writer.append(vectors)
        case .jsonLines(let handle):
            var text = ""
            for (id, vector) in zip(ids, vectors) {
                // Each number as the shortest text that reads back as the same Float.
                text += JSON.object(["id": .string(id), "vector": .array(vector.map(JSON.float))]).serialized + "\n"
            }
            try handle.write(contentsOf: Data(text.utf8))
        }
    }

    func finish() throws {
        switch self {
        case .numpy(let writer): try writer.finish()
        case .jsonLines(let handle): if handle !== FileHandle.standardOutput { try handle.close() }
        }
    }
}
