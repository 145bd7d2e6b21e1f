import Engine
import Foundation
import XCTest

/// A fresh data directory under the system temp folder, removed when the test ends.
func temporaryData(_ test: XCTestCase) -> DataDirectory {
    let path = NSTemporaryDirectory() + "mrl-engine-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return DataDirectory(path: path)
}

/// Writes `contents` to a file in `data`'s folder and returns its path.
func inputFile(_ data: DataDirectory, _ name: String, _ contents: [UInt8]) -> String {
    let path = data.path + "/" + name
    FileManager.default.createFile(atPath: path, contents: Data(contents))
    return path
}

func inputFile(_ data: DataDirectory, _ name: String, lines: [String]) -> String {
    inputFile(data, name, Array((lines.joined(separator: "\n") + "\n").utf8))
}

/// A JSONL line for a document with a 4-d vector.
func line(_ id: String, _ vector: [Float] = [1, 0, 0, 0], text: String = "t") -> String {
    #"{"id": "\#(id)", "text": "\#(text)", "vector": [\#(vector.map { "\($0)" }.joined(separator: ", "))]}"#
}
