import CLMDB
import Foundation

/// Everything the store throws. Each message names the index or file and says what to do.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// No index lives at this path.
    case indexNotFound(path: String)
    /// `create` was asked for an index that already exists.
    case indexExists(path: String)
    /// The index was written by a newer mrl whose format this build cannot read.
    case newerFormat(path: String, found: Int, supported: Int)
    /// Another process holds the index's writer lock.
    case busyWriter(path: String, pid: Int32?)
    /// The map reached its configured cap; the batch in flight was not written.
    case mapCapReached(path: String, capBytes: Int)
    /// The disk (or quota) is full; the batch in flight was not written.
    case diskFull(path: String)
    /// A document id is empty or longer than `IndexStore.maxIDBytes`.
    case invalidID(id: String)
    /// A vector's length does not match the index.
    case wrongDimensions(id: String, expected: Int, found: Int)
    /// The index's Matryoshka head changed while a write prepared for the old one was in flight.
    case headChanged(path: String)
    /// A write was asked of an index opened for reading.
    case readOnly(path: String, operation: String)
    /// A backup of the index is being written; one runs at a time.
    case backupRunning(path: String)
    /// A stored record could not be decoded: the index is damaged.
    case corrupt(path: String, detail: String)
    /// Any other LMDB or system error, with the operation that failed.
    case lmdb(code: Int32, operation: String, path: String)

    public var description: String {
        switch self {
        case .indexNotFound(let path):
            return "no index at \(path): create it with `mrl index --index NAME FILE`, or check --data"
        case .indexExists(let path):
            return "an index already exists at \(path)"
        case .newerFormat(let path, let found, let supported):
            return "index at \(path) has format version \(found), but this mrl reads up to version \(supported): upgrade mrl"
        case .busyWriter(let path, let pid):
            let who = pid.map { "pid \($0)" } ?? "another process"
            return "index at \(path) is being written by \(who): wait for it to finish, or send writes through `mrl serve`"
        case .mapCapReached(let path, let cap):
            return "index at \(path) reached its size cap of \(cap / (1 << 20)) MiB; the last batch was not written (every earlier batch is). Raise it with --max-size or MRL_MAX_SIZE"
        case .diskFull(let path):
            return "no space left on the disk holding \(path); the last batch was not written (every earlier batch is). Free some space and re-run: unchanged documents are skipped"
        case .invalidID(let id):
            return "document id \"\(id.prefix(40))\(id.count > 40 ? "..." : "")\" is \(id.utf8.count) bytes: ids must be 1 to \(IndexStore.maxIDBytes) bytes of UTF-8"
        case .wrongDimensions(let id, let expected, let found):
            return "document \"\(id)\": vector has \(found) dimensions, the index has \(expected)"
        case .headChanged(let path):
            return "the Matryoshka head of the index at \(path) changed during this write (another `mrl head` or `mrl index` ran); nothing was written: run it again"
        case .readOnly(let path, let operation):
            return "cannot \(operation): the index at \(path) was opened for reading"
        case .backupRunning(let path):
            return "a backup of the index at \(path) is being written: wait for it to finish (one backup of an index runs at a time)"
        case .corrupt(let path, let detail):
            return "index at \(path) is damaged (\(detail)): restore it from a backup or re-index"
        case .lmdb(let code, let operation, let path):
            return "\(operation) failed for index at \(path): \(String(cString: mdb_strerror(code))) (code \(code))"
        }
    }
}

extension StoreError: LocalizedError {
    public var errorDescription: String? { description }
}
