import CBLAS
import Foundation
import Synchronization

/// Turns text into unit-length embeddings with a BERT-family sentence model (by default
/// all-MiniLM-L6-v2), natively: WordPiece tokenizer, memory-mapped safetensors weights,
/// OpenBLAS for the matrix products (or int8 kernels for the linear layers, `Precision.int8`),
/// mean pooling. No Python, nothing fetched.
///
/// ```swift
/// let encoder = try TextEncoder(modelDirectory: URL(fileURLWithPath: "models/all-MiniLM-L6-v2"))
/// let vectors = encoder.embed(["tiling window manager", "pdf viewer"])   // 2 × 384, unit length
/// ```
public final class TextEncoder: @unchecked Sendable {  // each workspace is guarded by its lock
    public let dimensions: Int
    public let modelName: String
    /// Cheap and stable: a hash of the weights file's header and size.
    public let weightsFingerprint: String
    public let maxTokens: Int
    private let tokenizer: WordPieceTokenizer
    private let model: BertModel
    /// Which work an `embed` call is: queries, which a person waits for, or bulk writes.
    /// Each lane has its own workspace, so a query never waits for a write's pass (the two
    /// share the cores meanwhile, the gate pacing queries so the write keeps most of them);
    /// within a lane, passes take turns.
    public enum Lane: Sendable {
        case query, bulk
    }
    private let queryWorkspace = Mutex(BertModel.Workspace())
    private let bulkWorkspace = Mutex(BertModel.Workspace())
    private let gate = LaneGate()
    /// Built from the fp32 weights on the first int8 encoding (about 30 MB).
    private let int8Layers = Mutex<Int8Layers?>(nil)
    /// Built from the fp32 weights on the first fp32 pass of a few tokens, in either lane, so that
    /// a pass's arithmetic depends on its batch alone: a write and `/embed` of the same texts in
    /// the same batch give the same floats (about 42 MB).
    private let fewRowLayers = Mutex<FewRowLayers?>(nil)

    /// Tokens per forward pass: large enough for efficient matrix products, small enough
    /// that the activations stay in a few megabytes.
    static let batchTokens = 4096

    /// Loads the model in `modelDirectory` (config.json, vocab.txt, model.safetensors).
    /// Throws `EncoderError` naming the missing or damaged file.
    public init(modelDirectory: URL, maxTokens: Int = 256) throws {
        let config = try BertConfig(path: modelDirectory.appendingPathComponent("config.json").path)
        tokenizer = try WordPieceTokenizer(vocabularyPath: modelDirectory.appendingPathComponent("vocab.txt").path,
                                           tokenizerPath: modelDirectory.appendingPathComponent("tokenizer.json").path,
                                           size: config.vocabulary)
        let weights = try SafeTensors(path: modelDirectory.appendingPathComponent("model.safetensors").path)
        model = try BertModel(config: config, weights: weights)
        dimensions = config.hidden
        modelName = modelDirectory.lastPathComponent
        weightsFingerprint = weights.fingerprint
        self.maxTokens = min(maxTokens, config.maxPositions)
        BLASThreads.single  // BertModel splits the work across cores itself
    }

    /// Token ids of `text` as the model reads them: [CLS] ... [SEP], at most `maxTokens`.
    public func tokenize(_ text: String) -> [Int32] { tokenizer.encode(text, maxTokens: maxTokens) }

    /// How many tokens the model would read of `text`, without [CLS] and [SEP] and without
    /// the window's limit (for cutting long texts into chunks that fit).
    public func tokenCount(_ text: String) -> Int { tokenizer.encode(text, maxTokens: .max).count - 2 }

    /// One unit-length vector of `dimensions` floats per text, in input order. Long texts
    /// are truncated to `maxTokens` tokens; an empty text still gets a vector ([CLS] [SEP]).
    /// The lane's workspace is taken per forward pass, so callers in one lane (two indexes'
    /// writes) take turns by pass, not by call.
    public func embed(_ texts: [String], lane: Lane = .query, precision: Precision = .fp32) -> [[Float]] {
        lane == .bulk ? gate.write { passes(texts, lane: lane, precision: precision) } : passes(texts, lane: lane, precision: precision)
    }

    private func passes(_ texts: [String], lane: Lane, precision: Precision) -> [[Float]] {
        let sequences = texts.map(tokenize)
        var result = [[Float]](repeating: [], count: texts.count)
        var start = 0
        while start < sequences.count {
            var end = start, tokens = 0
            while end < sequences.count, end == start || tokens + sequences[end].count <= TextEncoder.batchTokens {
                tokens += sequences[end].count
                end += 1
            }
            let batch = Array(sequences[start..<end])
            let weights: BertModel.Weights = precision == .int8 ? .int8(built(int8Layers, Int8Layers.init))
                : tokens <= BertModel.fewRows ? .fewRows(built(fewRowLayers, FewRowLayers.init)) : .fp32
            let vectors = lane == .query ? gate.query { cores in queryWorkspace.withLock { model.embed(batch, workspace: $0, weights: weights, cores: cores) } }
                                         : bulkWorkspace.withLock { model.embed(batch, workspace: $0, weights: weights) }
            for (offset, vector) in vectors.enumerated() { result[start + offset] = vector }
            start = end
        }
        return result
    }

    /// Layers derived from the model's weights, built on first use.
    private func built<Layers: Sendable>(_ cache: borrowing Mutex<Layers?>, _ build: (BertModel) -> Layers) -> Layers {
        cache.withLock { layers in
            if let layers { return layers }
            let made = build(model)
            layers = made
            return made
        }
    }
}
