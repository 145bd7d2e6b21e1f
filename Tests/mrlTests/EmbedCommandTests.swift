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

    func testBadLineNamesFileAndLine() throws {
        let dir = scratchFolder(self)
        let input = dir + "/in.jsonl"
        try #"{"id": "a", "text": "fine"}\#n{"text": "no id"}\#n"#.write(toFile: input, atomically: true, encoding: .utf8)
        let run = try mrl(["embed", input, "-o", dir + "/out.npy"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains(#"\#(input):2: field "id" is missing"#), run.stderr)
    }
}
