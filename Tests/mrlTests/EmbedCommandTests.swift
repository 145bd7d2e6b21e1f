import Engine
import Foundation
import TestSupport
import XCTest

final class EmbedCommandTests: XCTestCase {
    func testEmbedWritesNumpyAndJSONLInInputOrder() throws {
        let dir = scratchFolder(self)
        let texts = ["tiling window manager", "", "a PDF viewer with annotations", "compress files quickly"]
        let input = dir + "/in.jsonl"
        try texts.enumerated().map { #"{"id": "t\#($0)", "text": "\#($1)"}"# }.joined(separator: "\n")
            .write(toFile: input, atomically: true, encoding: .utf8)
        let expected = try Model.encoder().embed(texts)

        let npy = try mrl(["embed", input, "-o", dir + "/out.npy", "--batch-size", "3"])
        XCTAssertEqual(npy.status, 0, npy.stderr)
        let matrix = try NumpyMatrix(contentsOf: dir + "/out.npy")
        XCTAssertEqual(matrix.rows, texts.count)
        XCTAssertEqual(matrix.columns, 384)
        for (i, want) in expected.enumerated() {
            XCTAssertGreaterThan(zip(matrix.row(i), want).reduce(Float(0)) { $0 + $1.0 * $1.1 }, 0.99999, "row \(i)")
        }

        let jsonl = try mrl(["embed", input, "-o", "-"])
        XCTAssertEqual(jsonl.status, 0, jsonl.stderr)
        let lines = jsonl.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(lines.map { $0?["id"] as? String }, ["t0", "t1", "t2", "t3"])
        XCTAssertEqual((lines[2]?["vector"] as? [Double])?.count, 384)
    }

    /// One encoder thread (how each Ray actor of one CPU runs it) gives the very same floats as
    /// two: each output is computed the same way whichever core computes it.
    func testEncoderThreadsChangeNoFloat() throws {
        let dir = scratchFolder(self)
        let input = dir + "/in.jsonl"
        let texts = ["tiling window manager", String(repeating: "a longer text about compressing files ", count: 12), "pdf"]
        try texts.enumerated().map { #"{"id": "t\#($0)", "text": "\#($1)"}"# }.joined(separator: "\n")
            .write(toFile: input, atomically: true, encoding: .utf8)
        let two = try mrl(["embed", input, "-o", "-"])
        let one = try mrl(["embed", input, "-o", "-"], environment: ["MRL_ENCODER_THREADS": "1"])
        XCTAssertEqual(two.status, 0, two.stderr)
        XCTAssertEqual(one.stdout, two.stdout)
        for bad in ["0", "65", "two"] {
            let refused = try mrl(["embed", input, "-o", "-"], environment: ["MRL_ENCODER_THREADS": bad])
            XCTAssertNotEqual(refused.status, 0)
            XCTAssertTrue(refused.stderr.contains("MRL_ENCODER_THREADS=\(bad) is not a number of threads from 1 to 64"), refused.stderr)
        }
    }

    func testJSONLWritesEachFloatAsItsShortestText() throws {
        let dir = scratchFolder(self)
        let input = dir + "/in.jsonl"
        try #"{"id": "a", "text": "tiling window manager"}"#.write(toFile: input, atomically: true, encoding: .utf8)
        let expected = try XCTUnwrap(try Model.encoder().embed(["tiling window manager"]).first)
        let output = dir + "/out.jsonl"
        let run = try mrl(["embed", input, "--output", output])
        XCTAssertEqual(run.status, 0, run.stderr)
        let line = try String(contentsOfFile: output, encoding: .utf8)
        let numbers = try XCTUnwrap(line.split(separator: "[").last?.split(separator: "]").first).split(separator: ",").map(String.init)
        XCTAssertEqual(numbers.count, 384)
        // The text of each number is Swift's shortest for the Float (0.8123, not 0.81229996681213379)
        // and reads back as exactly the Float the encoder gave.
        XCTAssertEqual(numbers, expected.map { $0 == $0.rounded() ? String(Int64($0)) : "\($0)" })
        XCTAssertEqual(numbers.map { Float($0) }, expected)
        XCTAssertLessThan(numbers.map(\.count).max() ?? 99, 16, "Float-shortest texts are at most 9 significant digits: \(numbers.prefix(3))")
        let parsed = try JSON.parse(line.trimmingCharacters(in: .newlines))
        XCTAssertEqual(parsed["vector"]?.array?.map(\.float), expected)
    }

    func testBadLineNamesFileAndLine() throws {
        let dir = scratchFolder(self)
        let input = dir + "/in.jsonl"
        try #"{"id": "a", "text": "fine"}\#n{"text": "no id"}\#n"#.write(toFile: input, atomically: true, encoding: .utf8)
        let run = try mrl(["embed", input, "-o", dir + "/out.npy"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains(#"\#(input):2: field "id" is missing"#), run.stderr)
    }
}
