import Foundation

/// Streams float32 rows into a NumPy `.npy` file (format 1.0, little-endian '<f4', C order).
/// The row count is not known until the end, so the header is written with room to spare
/// and rewritten in place by `finish`.
///
/// ```swift
/// let writer = try NumpyWriter(path: "vectors.npy", columns: 384)
/// try writer.append(rows)     // any number of times
/// try writer.finish()         // writes the final shape
/// ```
public final class NumpyWriter {
    public let path: String
    public let columns: Int
    public private(set) var rows = 0
    private let handle: FileHandle
    /// Header size including magic and padding: 128 bytes holds any shape we write.
    private static let headerBytes = 128

    /// Creates (or truncates) `path`. Throws `unreadable` when it cannot be written.
    public init(path: String, columns: Int) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw EngineError.unreadable(path: path, reason: "cannot create the file")
        }
        self.path = path
        self.columns = columns
        self.handle = handle
        try handle.write(contentsOf: NumpyWriter.header(rows: 0, columns: columns))
    }

    public func append(_ vectors: [[Float]]) throws {
        var bytes = Data(capacity: vectors.count * columns * 4)
        for vector in vectors {
            precondition(vector.count == columns, "every row has `columns` values")
            vector.withUnsafeBytes { bytes.append(contentsOf: $0) }
        }
        try handle.write(contentsOf: bytes)
        rows += vectors.count
    }

    /// Writes the final shape into the header and closes the file.
    public func finish() throws {
        try handle.seek(toOffset: 0)
        try handle.write(contentsOf: NumpyWriter.header(rows: rows, columns: columns))
        try handle.close()
    }

    static func header(rows: Int, columns: Int) -> Data {
        var text = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows), \(columns)), }"
        let prefix = 10  // magic (6) + version (2) + header length (2)
        text += String(repeating: " ", count: headerBytes - prefix - text.utf8.count - 1) + "\n"
        var data = Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0])
        let length = UInt16(text.utf8.count)
        data += Data([UInt8(length & 0xFF), UInt8(length >> 8)])
        return data + Data(text.utf8)
    }
}
