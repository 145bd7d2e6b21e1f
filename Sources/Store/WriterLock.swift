import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive, non-blocking lock on `writer.lock` in the index directory, held by the
/// one process allowed to write. LMDB alone would make a second writer wait; we want it
/// to fail at once with the holder's pid. The kernel drops the lock when the holder
/// dies, kill -9 included, so a crashed writer never leaves the index locked.
final class WriterLock: Sendable {
    private let fd: Int32

    /// Takes the lock or throws `StoreError.busyWriter` naming the pid that holds it.
    init(directory: String) throws {
        let path = directory + "/writer.lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError.lmdb(code: errno, operation: "open \(path)", path: directory) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let pid = WriterLock.readPID(fd)
            close(fd)
            throw StoreError.busyWriter(path: directory, pid: pid)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
