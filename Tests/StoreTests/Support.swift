import Foundation
import Store
import XCTest

/// A fresh directory under the system temp folder, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) -> String {
    let path = NSTemporaryDirectory() + "mrl-store-\(UUID().uuidString)"
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// A document whose vector is a deterministic function of `n`.
func write(_ n: Int, dims: Int, text: String? = nil) -> DocumentWrite {
    let vector = (0..<dims).map { Float(sin(Double(n * 31 + $0))) }
    var hash = ContentHash()
    hash.add(text ?? "text \(n)")
    hash.add(vector)
    return DocumentWrite(id: "doc-\(n)", text: text ?? "text \(n)", meta: n % 2 == 0 ? #"{"n":\#(n)}"# : nil,
                         vector: vector, contentHash: hash.value)
}

func manifest(dims: Int, blockRows: Int = 1024) -> Manifest {
    var boundaries = [0]
    var cut = 32
    while cut < dims { boundaries.append(cut); cut *= 2 }
    boundaries.append(dims)
    return Manifest(dimensions: dims, segmentBoundaries: boundaries, model: nil, blockRows: blockRows)
}
