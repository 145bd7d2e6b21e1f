import Foundation
import JSONValue

/// The shape of a BERT-family checkpoint, read from its config.json, so another model of
/// the same layout (more layers, wider) loads without code changes.
struct BertConfig {
    let hidden: Int
    let layers: Int
    let heads: Int
    let intermediate: Int
    let vocabulary: Int
    let maxPositions: Int
    let typeVocabulary: Int
    let layerNormEps: Float

    var headDim: Int { hidden / heads }

    /// Throws `missingFile` or `badConfig` naming the field.
    init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw EncoderError.missingFile(path: path) }
        let json: JSON
        do {
            json = try JSON.parse(data)
        } catch {
            throw EncoderError.badConfig(path: path, detail: "not JSON: \(error)")
        }
        guard json.object != nil else { throw EncoderError.badConfig(path: path, detail: "not a JSON object") }
        func int(_ key: String) throws -> Int {
            // Bounded so that products of sizes (tensor shapes, buffers) cannot overflow.
            guard let value = json[key]?.int, (1...1 << 24).contains(value) else {
                throw EncoderError.badConfig(path: path, detail: "\"\(key)\" is missing or not an integer from 1 to \(1 << 24)")
            }
            return value
        }
        hidden = try int("hidden_size")
        layers = try int("num_hidden_layers")
        heads = try int("num_attention_heads")
        intermediate = try int("intermediate_size")
        vocabulary = try int("vocab_size")
        maxPositions = try int("max_position_embeddings")
        typeVocabulary = try int("type_vocab_size")
        layerNormEps = json["layer_norm_eps"]?.float ?? 1e-12
        guard hidden % heads == 0 else { throw EncoderError.badConfig(path: path, detail: "hidden_size is not a multiple of num_attention_heads") }
        if let activation = json["hidden_act"]?.string, activation != "gelu" {
            throw EncoderError.badConfig(path: path, detail: "hidden_act \"\(activation)\" is not supported (only gelu)")
        }
    }
}
