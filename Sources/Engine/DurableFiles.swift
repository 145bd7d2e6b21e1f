import Foundation
import Store

/// Copies and renames that survive a power cut: a file's data is fsynced before it is
/// renamed into place, and the folder after, so that its new names are on disk too.
enum DurableFiles {
    /// Copies `source` into the new file `target` and fsyncs it.
    static func copy(_ source: String, to target: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw failure("open", source) }
        defer { close(input) }
        let output = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw failure("create", target) }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw failure("read", source) }
            if n == 0 { break }
            var written = 0
            while written < n {
                let m = buffer.withUnsafeBytes { write(output, UnsafeRawBufferPointer(rebasing: $0[written..<n]).baseAddress, n - written) }
                if m < 0, errno == EINTR { continue }
                guard m > 0 else { throw failure("write", target) }
                written += m
            }
        }
        guard fsync(output) == 0 else { throw failure("fsync", target) }
    }

    /// Fsyncs folder `path`, so the names created, renamed or removed in it are on disk.
    static func syncFolder(_ path: String) throws {
        let folder = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard folder >= 0 else { throw failure("open", path) }
        defer { close(folder) }
        guard fsync(folder) == 0 else { throw failure("fsync", path) }
    }

    private static func failure(_ operation: String, _ path: String) -> StoreError {
        errno == ENOSPC || errno == EDQUOT ? .diskFull(path: path) : .lmdb(code: errno, operation: operation, path: path)
    }
}
