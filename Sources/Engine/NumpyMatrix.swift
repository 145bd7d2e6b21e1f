import Foundation

/// A 2-D float matrix read from a NumPy `.npy` file (format 1.x/2.x, little-endian
/// float16 or float32, C order), as float32 rows.
public struct NumpyMatrix: Sendable {
    public let rows: Int
    public let columns: Int
    /// Row-major values.
    public let values: [Float]

    public func row(_ i: Int) -> [Float] { Array(values[i * columns..<(i + 1) * columns]) }

    /// Throws `unreadable` naming what is wrong with the file.
    public init(contentsOf path: String) throws {
        func fail(_ reason: String) -> EngineError { .unreadable(path: path, reason: reason) }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("no such file or not readable") }
        guard data.count >= 12, data.prefix(6) == Data([0x93]) + Data("NUMPY".utf8) else { throw fail("not a .npy file") }
        let major = data[data.startIndex + 6]
        let headerLength = major == 1
            ? Int(data[data.startIndex + 8]) | Int(data[data.startIndex + 9]) << 8
            : data[(data.startIndex + 8)..<(data.startIndex + 12)].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let headerStart = major == 1 ? 10 : 12
        guard data.count >= headerStart + headerLength else { throw fail("truncated header") }
        let header = String(decoding: data[(data.startIndex + headerStart)..<(data.startIndex + headerStart + headerLength)], as: UTF8.self)
        guard !header.contains("'fortran_order': True") else { throw fail("Fortran order is not supported: save with C order") }
        let isHalf = header.contains("'<f2'")
        guard isHalf || header.contains("'<f4'") else { throw fail("dtype must be little-endian float16 or float32 ('<f2' or '<f4')") }
        guard let open = header.firstIndex(of: "("), let close = header[open...].firstIndex(of: ")") else { throw fail("no shape in header") }
        let shape = header[header.index(after: open)..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard shape.count == 2, shape.allSatisfy({ $0 >= 0 }) else { throw fail("expected a 2-D array, got shape \(shape)") }
        (rows, columns) = (shape[0], shape[1])
        let body = data.dropFirst(headerStart + headerLength)
        // The shape is the file's word: its product is checked against the bytes there are, not trusted.
        let width = isHalf ? 2 : 4
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, count <= body.count / width, body.count == count * width else {
            throw fail("holds \(body.count) data bytes, which shape \(shape) of \(width)-byte values does not fill")
        }
        values = body.withUnsafeBytes { raw in
            isHalf
                ? (0..<count).map { Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
                : (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        }
    }
}
