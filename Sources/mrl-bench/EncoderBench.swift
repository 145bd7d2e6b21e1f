import ArgumentParser
import Engine
import Foundation
import Terminal

struct EncoderBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encoder",
        abstract: "Embedding throughput on real texts: documents and titles per second.",
        discussion: """
            Reads the first --count lines of a JSONL corpus ({id, title, text}; default: the Debian \
            corpus shipped in data/), embeds the texts and then the titles, and reports texts/s, \
            tokens/s and the achieved GFLOPS of the forward pass (2 flops per multiply-add of the \
            BERT layers, attention included).
            """)

    @Option(help: "JSONL corpus with text and title fields.")
    var corpus = "data/debian-packages.jsonl.gz"

    @Option(help: "How many texts and titles.")
    var count = 5000

    @Option(help: "Arithmetic of the linear layers: fp32 or int8. Other than fp32, the vectors are also compared with fp32's.")
    var precision: Precision = .fp32

    @Option(help: "Timed repetitions; the best is reported.")
    var repeats = 2

    @Flag(help: "Print results as JSON.")
    var json = false

    func run() throws {
        let encoder = try Model.encoder()
        var texts: [String] = [], titles: [String] = []
        let reader = try LineReader(path: corpus)
        while texts.count < count, case .text(let number, let bytes)? = try reader.next() {
            let line: JSON
            do {
                line = try JSON.parse(bytes)
            } catch {
                throw EngineError.badDocument(source: corpus, line: number, field: nil, message: "column \(error.column): \(error.message)")
            }
            guard let object = line.object else { continue }
            texts.append(object["text"]?.string ?? "")
            titles.append(object["title"]?.string ?? "")
        }
        var rows: [Row] = []
        for (name, inputs) in [("documents", texts), ("titles", titles)] {
            let tokens = inputs.reduce(0) { $0 + encoder.tokenize($1).count }
            var best = Double.infinity
            var vectors: [[Float]] = []
            for _ in 0..<repeats {
                let start = Date()
                vectors = encoder.embed(inputs, precision: precision)
                best = min(best, Date().timeIntervalSince(start))
            }
            let flops = inputs.reduce(0.0) { $0 + Self.forwardFlops(tokens: encoder.tokenize($1).count) }
            var row = Row(set: name, count: inputs.count, meanTokens: Double(tokens) / Double(inputs.count),
                          perSecond: Double(inputs.count) / best, tokensPerSecond: Double(tokens) / best, gflops: flops / best / 1e9)
            if precision != .fp32 {
                let cosines = zip(vectors, encoder.embed(inputs)).map { pair in zip(pair.0, pair.1).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
                row.cosine = (cosines.min() ?? 1, cosines.reduce(0, +) / Float(max(1, cosines.count)))
            }
            rows.append(row)
        }
        if json {
            printJSON(["model": .string(encoder.modelName), "threads": 2, "precision": .string(precision.rawValue),
                       "kernels": .string(precision.kernels), "results": .array(rows.map(\.json))])
            return
        }
        var table = Table(header: ["set", "count", "mean tokens", "per second", "tokens/s", "GFLOPS", "cosine with fp32: worst", "mean"],
                          rightAligned: [1, 2, 3, 4, 5, 6, 7])
        for r in rows {
            table.rows.append([r.set, "\(r.count)", String(format: "%.1f", r.meanTokens), String(format: "%.1f", r.perSecond),
                               String(format: "%.0f", r.tokensPerSecond), String(format: "%.1f", r.gflops),
                               r.cosine.map { String(format: "%.5f", $0.worst) } ?? "-", r.cosine.map { String(format: "%.6f", $0.mean) } ?? "-"])
        }
        print(table.render())
    }

    /// One set's throughput.
    private struct Row {
        var set: String, count: Int, meanTokens: Double, perSecond: Double, tokensPerSecond: Double, gflops: Double
        /// Cosine of each vector with fp32's for the same text (another precision only).
        var cosine: (worst: Float, mean: Float)? = nil
        var json: JSON {
            var fields: [String: JSON] = ["set": .string(set), "count": JSON(count), "mean_tokens": .number(meanTokens),
                                          "per_second": .number(perSecond), "tokens_per_second": .number(tokensPerSecond),
                                          "gflops": .number(gflops)]
            if let cosine { fields["cosine_with_fp32"] = ["worst": .number(Double(cosine.worst)), "mean": .number(Double(cosine.mean))] }
            return .object(fields)
        }
    }

    /// Multiply-adds × 2 of one forward pass of all-MiniLM-L6-v2 over `tokens` tokens:
    /// per layer 4 h² (Q, K, V, output) + 2 h·i (feed-forward) per token, plus 2 n² h for attention.
    static func forwardFlops(tokens n: Int, hidden h: Int = 384, intermediate i: Int = 1536, layers: Int = 6) -> Double {
        let perLayer = Double(n) * Double(4 * h * h + 2 * h * i) + 2 * Double(n * n * h)
        return 2 * Double(layers) * perLayer
    }
}
extension Precision: ExpressibleByArgument {}
