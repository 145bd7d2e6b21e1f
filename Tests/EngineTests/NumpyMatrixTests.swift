import Engine
import Foundation
import XCTest

/// A .npy file's header is the file's word (issue 16): a shape that overflows, is negative or
/// is written backwards is an error naming the file, never a trap.
final class NumpyMatrixTests: XCTestCase {
    private func npy(header: String, body: Data = Data(count: 8)) -> String {
        let path = NSTemporaryDirectory() + "mrl-npy-\(UUID().uuidString).npy"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        let text = Data(header.utf8)
        FileManager.default.createFile(atPath: path, contents: Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0, UInt8(text.count), 0]) + text + body)
        return path
    }

    func testDamagedShapesAreRefused() throws {
        XCTAssertEqual(try NumpyMatrix(contentsOf: npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }")).values, [0, 0])
        for shape in ["(4294967296, 4294967296)", "(-1, -2)", ")2, 1("] {
            let path = npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }")
            XCTAssertThrowsError(try NumpyMatrix(contentsOf: path), shape) { error in
                guard case EngineError.unreadable(let named, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(named, path)
            }
        }
        let short = NSTemporaryDirectory() + "mrl-npy-\(UUID().uuidString).npy"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: short) }
        FileManager.default.createFile(atPath: short, contents: Data([0x93]) + Data("NUMPY".utf8) + Data([2, 0, 0, 0]))
        XCTAssertThrowsError(try NumpyMatrix(contentsOf: short))
    }
}
