import Foundation
import Store

/// The folder that holds indexes, one subfolder each (default `indexes/`, or `$MRL_DATA`).
///
/// ```swift
/// let data = DataDirectory(path: nil)          // $MRL_DATA or indexes/
/// let index = try Index.open(name: "debian", in: data, mode: .read)
/// ```
public struct DataDirectory: Sendable {
    public let path: String

    /// `path` if given, else `$MRL_DATA`, else `indexes`.
    public init(path: String?) {
        self.path = path ?? ProcessInfo.processInfo.environment["MRL_DATA"] ?? "indexes"
    }

    /// The folder of index `name`; throws `invalidIndexName` for a name that is not
    /// 1–64 of `[A-Za-z0-9_-]`, so no name can reach outside the data directory.
    public func directory(of name: String) throws -> String {
        try IndexName.validate(name)
        return (path as NSString).appendingPathComponent(name)
    }

    /// Names of the indexes present, sorted.
    public func indexNames() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return entries.filter { name in
            (try? IndexName.validate(name)) != nil && IndexStore.exists(directory: (path as NSString).appendingPathComponent(name))
        }.sorted()
    }

    /// Removes index `name` and all its files. Throws `indexNotFound`, or `busyWriter`
    /// if a process is writing it.
    public func drop(_ name: String) throws {
        let directory = try directory(of: name)
        // Holding the writer lock while removing keeps a running writer from losing data silently.
        let store = try IndexStore.open(directory: directory, mode: .write)
        try FileManager.default.removeItem(atPath: directory)
        _ = store
    }
}

enum IndexName {
    static func validate(_ name: String) throws {
        let allowed = name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
        }
        guard allowed, (1...64).contains(name.utf8.count) else { throw EngineError.invalidIndexName(name) }
    }
}
