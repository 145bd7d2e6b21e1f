import Embedding
import Foundation
import Synchronization
import XCTest

/// The model installed by `make setup`, loaded once for all tests.
private let modelDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("models/all-MiniLM-L6-v2")

private let sharedEncoder: Result<TextEncoder, Error> = Result { try TextEncoder(modelDirectory: modelDirectory) }

private struct Reference: Decodable {
    let text: String
    let input_ids: [Int32]
    let embedding: [Float]
}

final class TextEncoderTests: XCTestCase {
    private func encoder() throws -> TextEncoder {
        do {
            return try sharedEncoder.get()
        } catch {
            XCTFail("model not found or unusable at \(modelDirectory.path): run `make setup` (\(error))")
            throw error
        }
    }

    private func references() throws -> [Reference] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "minilm-reference", withExtension: "jsonl", subdirectory: "Fixtures"))
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(Reference.self, from: Data($0.utf8))
        }
    }

    /// The tokenizer matches Hugging Face's BertTokenizer on all 234 reference texts
    /// (accents, CJK, emoji, control characters, zero-width and full-width characters, long words, 1 MB texts).
    func testTokenIdsEqualTheReference() throws {
        let encoder = try encoder()
        let refs = try references()
        XCTAssertEqual(refs.count, 234)
        for ref in refs {
            let ids = encoder.tokenize(ref.text)
            guard ids == ref.input_ids else {
                let at = zip(ids, ref.input_ids).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(ids.count, ref.input_ids.count)
                XCTFail("ids differ at token \(at) for \(ref.text.prefix(80).debugDescription): got \(ids.dropFirst(max(0, at - 2)).prefix(6)), want \(ref.input_ids.dropFirst(max(0, at - 2)).prefix(6))")
                continue
            }
        }
    }

    /// fp32 embeddings reproduce sentence-transformers' to cosine ≥ 0.9999 on every text.
    func testEmbeddingsMatchTheReference() throws {
        let encoder = try encoder()
        let refs = try references()
        let vectors = encoder.embed(refs.map(\.text))
        var worst: (cosine: Float, text: String) = (1, "")
        for (ref, vector) in zip(refs, vectors) {
            XCTAssertEqual(vector.count, 384)
            let cosine = zip(ref.embedding, vector).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            if cosine < worst.cosine { worst = (cosine, ref.text) }
            XCTAssertGreaterThanOrEqual(cosine, 0.9999, "cosine \(cosine) for \(ref.text.prefix(80).debugDescription)")
        }
        print("worst cosine against the reference: \(worst.cosine) (\(worst.text.prefix(60).debugDescription))")
    }

    /// A query's pass (at most `fewRows` tokens, on the packed weights) reproduces the reference
    /// as the batch path does: each short reference text embedded alone, as a search embeds it.
    func testShortTextsAloneMatchTheReference() throws {
        let encoder = try encoder()
        let short = try references().filter { $0.input_ids.count <= 32 }
        XCTAssertGreaterThan(short.count, 50, "the fixture's short texts")
        for ref in short {
            let cosine = zip(ref.embedding, encoder.embed([ref.text])[0]).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            XCTAssertGreaterThanOrEqual(cosine, 0.99999, "cosine \(cosine) for \(ref.text.prefix(80).debugDescription)")
        }
    }

    /// int8 embeddings stay within the fidelity the int8 precision promises (README): worst
    /// cosine ≥ 0.995 and mean ≥ 0.999 against sentence-transformers on all 234 texts.
    func testInt8EmbeddingsStayCloseToTheReference() throws {
        let encoder = try encoder()
        let refs = try references()
        let cosines = zip(refs, encoder.embed(refs.map(\.text), precision: .int8)).map { ref, vector in
            zip(ref.embedding, vector).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        }
        let mean = cosines.reduce(0, +) / Float(cosines.count)
        print("int8 (\(Precision.int8.kernels)) against the reference: worst \(cosines.min() ?? 0), mean \(mean)")
        XCTAssertGreaterThanOrEqual(cosines.min() ?? 0, 0.995)
        XCTAssertGreaterThanOrEqual(mean, 0.999)
    }

    /// An int8 vector does not depend on its batch (activations are quantized per token), so a
    /// document and the same text as a query get the same vector.
    func testInt8VectorsDoNotDependOnTheBatch() throws {
        let encoder = try encoder()
        let texts = ["short", String(repeating: "a longer text about window managers ", count: 40), "", "mid length text here"]
        let together = encoder.embed(texts, precision: .int8)
        for (text, vector) in zip(texts, together) {
            XCTAssertEqual(encoder.embed([text], precision: .int8)[0], vector, text)
        }
    }

    /// Batching does not change a text's vector: alone or among others, short or long.
    func testBatchingDoesNotChangeVectors() throws {
        let encoder = try encoder()
        let texts = ["short", String(repeating: "a longer text about window managers ", count: 40), "", "mid length text here"]
        let together = encoder.embed(texts)
        for (text, vector) in zip(texts, together) {
            let alone = encoder.embed([text])[0]
            XCTAssertGreaterThan(zip(alone, vector).reduce(Float(0)) { $0 + $1.0 * $1.1 }, 0.99999)
        }
    }

    func testOddTextsGetUnitVectors() throws {
        let encoder = try encoder()
        let huge = String(repeating: "word ", count: 200_000)  // 1 MB
        XCTAssertEqual(encoder.tokenize(huge).count, 256)
        for vector in encoder.embed(["", "   \t\n", huge]) {
            let norm = vector.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            XCTAssertEqual(norm, 1, accuracy: 1e-4)
        }
    }

    /// Long texts cost what their first 256 tokens cost (issue 16, case 7): these took
    /// minutes when the whole text was normalised first and special tokens were searched for
    /// in all the rest at every step.
    func testLongTextsAreCutBeforeTheyAreNormalised() throws {
        let encoder = try encoder()
        let separators = String(repeating: "[SEP]", count: 400_000)  // 2 MB of special tokens
        XCTAssertEqual(encoder.tokenize(separators), [101] + [Int32](repeating: 102, count: 255))
        let words = "a b " + String(repeating: "é word, ", count: 1_000_000)  // 9 MB, to be lowercased and decomposed
        let ids = encoder.tokenize(words)
        XCTAssertEqual(ids.count, 256)
        XCTAssertEqual(Array(ids.prefix(7)), encoder.tokenize("a b é word, é")[0..<7].map { $0 })
        // A word of a million letters with no space: [UNK] pieces, then the rest of the text.
        let unbroken = String(repeating: "x", count: 1_000_000) + " tail"
        XCTAssertEqual(encoder.tokenize(unbroken).suffix(2), [encoder.tokenize("tail")[1], 102])
        // Chunk edges never change the tokens of ordinary text.
        let prose = String(repeating: "The daemon answers queries over a Unix socket. ", count: 200)
        XCTAssertEqual(encoder.tokenize(prose), encoder.tokenize(String(prose.prefix(3_000))))
    }

    /// A query is embedded while a large write's texts are (issue 16, case 7): the lanes
    /// have their own workspaces, so the query waits for none of the write's passes; and though
    /// it then runs on one core, its vector is the one it gets alone on every core.
    func testAQueryIsEmbeddedWhileABulkEmbeddingRuns() throws {
        let encoder = try encoder()
        let alone = encoder.embed(["tiling window manager"])
        let bulk = Array(repeating: String(repeating: "a longer text about window managers ", count: 40), count: 24)  // 2 passes
        let bulkDone = Atomic(false)
        let writer = Thread { bulkDone.store(encoder.embed(bulk, lane: .bulk).count == bulk.count, ordering: .releasing) }
        writer.start()
        Thread.sleep(forTimeInterval: 0.3)  // the write's first pass is under way
        let query = encoder.embed(["tiling window manager"])
        XCTAssertFalse(bulkDone.load(ordering: .acquiring), "the query did not wait for the write's embedding to end")
        XCTAssertEqual(query, alone, "a query gets the same floats beside a write as alone")
        XCTAssertGreaterThan(zip(query[0], encoder.embed(["tiling window manager"], lane: .bulk)[0]).reduce(Float(0)) { $0 + $1.0 * $1.1 }, 0.99999,
                             "both lanes embed alike")
        while !bulkDone.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.05) }
    }

    func testMissingOrDamagedModelIsAClearError() throws {
        let fm = FileManager.default
        let broken = fm.temporaryDirectory.appendingPathComponent("mrl-model-\(UUID().uuidString)")
        try fm.createDirectory(at: broken, withIntermediateDirectories: true)
        addTeardownBlock { try? fm.removeItem(at: broken) }
        XCTAssertThrowsError(try TextEncoder(modelDirectory: broken)) {
            XCTAssertEqual($0 as? EncoderError, .missingFile(path: broken.appendingPathComponent("config.json").path))
            XCTAssertTrue("\($0)".contains("run `make setup`"))
        }
        for file in ["config.json", "vocab.txt"] {
            try fm.copyItem(at: modelDirectory.appendingPathComponent(file), to: broken.appendingPathComponent(file))
        }
        let weights = try Data(contentsOf: modelDirectory.appendingPathComponent("model.safetensors"))
        try weights.prefix(1 << 20).write(to: broken.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try TextEncoder(modelDirectory: broken)) { error in
            guard case .badWeights(_, let detail)? = error as? EncoderError else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.hasPrefix("truncated"), detail)
            XCTAssertTrue("\(error)".contains("run `make setup`"))
        }
        // Numbers of the header that once trapped: a length past Int, offsets the wrong way round.
        let header = Data(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#.utf8)
        for (length, detail) in [(UInt64.max, "header says"), (UInt64(header.count), "data_offsets [8, 4]")] {
            var file = withUnsafeBytes(of: length.littleEndian) { Data($0) }
            file += header + Data(count: 8)
            try file.write(to: broken.appendingPathComponent("model.safetensors"))
            XCTAssertThrowsError(try TextEncoder(modelDirectory: broken)) { error in
                guard case .badWeights(_, let said)? = error as? EncoderError else { return XCTFail("\(error)") }
                XCTAssertTrue(said.contains(detail), said)
            }
        }
        // Token ids past the embedding rows would be read past them.
        let config = try String(contentsOf: modelDirectory.appendingPathComponent("config.json"), encoding: .utf8)
        let small = config.replacingOccurrences(of: #""vocab_size": 30522"#, with: #""vocab_size": 1000"#)
        XCTAssertNotEqual(small, config, "the fixture names vocab_size 30522")
        try small.write(to: broken.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TextEncoder(modelDirectory: broken)) { error in
            guard case .badConfig(let path, let said)? = error as? EncoderError else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("vocab.txt") && said.contains("line 1001 is past vocab_size 1000"), "\(path): \(said)")
        }
        let huge = config.replacingOccurrences(of: #""hidden_size": 384"#, with: #""hidden_size": 4611686018427387904"#)
        XCTAssertNotEqual(huge, config, "the fixture names hidden_size 384")
        try huge.write(to: broken.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TextEncoder(modelDirectory: broken)) { error in
            guard case .badConfig(_, let said)? = error as? EncoderError else { return XCTFail("\(error)") }
            XCTAssertTrue(said.contains("hidden_size"), said)
        }
    }
}
