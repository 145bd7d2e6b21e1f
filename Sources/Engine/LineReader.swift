import CZlib
import Foundation

/// Reads a file line by line without loading it whole; gzip-compressed files are
/// decompressed on the fly (zlib's gzread passes plain files through unchanged).
/// Standard input is read with read(2) instead, which returns what has arrived: gzread
/// waits for a full buffer, so a slow producer's lines would sit unseen.
/// A line longer than `maxLineBytes` is reported and skipped over in bounded memory.
public final class LineReader {
    public enum Line {
        case text(number: Int, bytes: ArraySlice<UInt8>)
        /// Over `maxLineBytes`: reported once it passes the limit, without its bytes.
        case tooLong(number: Int)
    }

    public let path: String
    /// Size of the file on disk (compressed size for .gz); nil for standard input.
    public let totalBytes: Int?
    private let file: gzFile?
    private var standardInputBytes = 0
    private let maxLineBytes: Int
    private var buffer = [UInt8]()
    private var start = 0
    /// Where the search for the next newline goes on: the bytes before it have none.
    private var searched = 0
    private var lineNumber = 0
    private var atEnd = false
    /// Skipping the rest of a line reported too long.
    private var discarding = false

    /// Opens `path`, or standard input for "-". Throws `unreadable`.
    public init(path: String, maxLineBytes: Int = 16 << 20) throws {
        self.path = path
        self.maxLineBytes = maxLineBytes
        if path == "-" {
            file = nil
            totalBytes = nil
            return
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw EngineError.unreadable(path: path, reason: "is a directory")
        }
        guard let handle = gzopen(path, "rb") else {
            throw EngineError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        file = handle
        gzbuffer(handle, 1 << 20)
        totalBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
    }

    deinit { if let file { gzclose(file) } }

    /// Bytes of the file consumed so far (compressed bytes for .gz), for progress.
    public var bytesRead: Int { file.map { Int(gzoffset($0)) } ?? standardInputBytes }

    /// The next line without its newline, or nil at the end. A line longer than
    /// `maxLineBytes` is reported as soon as it passes the limit (an endless one, from
    /// /dev/zero say, stops a run at once) and the rest of it is skipped by the next call.
    /// Throws `unreadable` on an I/O or decompression error (e.g. a truncated .gz).
    public func next() throws -> Line? {
        while true {
            if let newline = buffer[max(start, searched)...].firstIndex(of: UInt8(ascii: "\n")) {
                defer { start = newline + 1 }
                if discarding {
                    discarding = false
                    continue
                }
                lineNumber += 1
                var end = newline
                if end > start, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                return .text(number: lineNumber, bytes: buffer[start..<end])
            }
            // No newline in the buffer: the next search starts with the bytes read next.
            searched = buffer.count
            if discarding { start = buffer.count }
            if atEnd {
                discarding = false
                guard start < buffer.count else { return nil }
                lineNumber += 1
                defer { start = buffer.count }
                return .text(number: lineNumber, bytes: buffer[start...])
            }
            // Keep the unfinished line, drop what was consumed, read more.
            buffer.removeSubrange(0..<start)
            searched -= start
            start = 0
            if buffer.count > maxLineBytes {
                lineNumber += 1
                discarding = true
                buffer.removeAll(keepingCapacity: true)
                searched = 0
                return .tooLong(number: lineNumber)
            }
            try fill()
        }
    }

    private func fill() throws {
        let chunk = 1 << 20
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        guard let file else {
            let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress! + old, chunk) }
            guard n >= 0 else { throw EngineError.unreadable(path: "<stdin>", reason: String(cString: strerror(errno))) }
            buffer.removeSubrange((old + n)...)
            standardInputBytes += n
            atEnd = n == 0
            return
        }
        let n = buffer.withUnsafeMutableBytes { gzread(file, $0.baseAddress! + old, UInt32(chunk)) }
        if n < 0 {
            var code: Int32 = 0
            let message = String(cString: gzerror(file, &code))
            throw EngineError.unreadable(path: path, reason: message)
        }
        buffer.removeSubrange((old + Int(n))...)
        if n == 0 {
            // End of input, or of a truncated .gz: zlib says which only here.
            var code: Int32 = 0
            let message = String(cString: gzerror(file, &code))
            guard code == Z_OK || code == Z_STREAM_END else {
                throw EngineError.unreadable(path: path, reason: "compressed data is truncated or corrupt (\(message))")
            }
            atEnd = true
        }
    }
}
