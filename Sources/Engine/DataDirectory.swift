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
    /// The size each index in this folder may grow to, whoever opens it (`mrl index
    /// --max-size`, `mrl serve --max-size`, else `$MRL_MAX_SIZE`, else 256 GiB).
    public let maxIndexBytes: Int

    public static let defaultMaxIndexBytes = 256 << 30

    /// `path` if given, else `$MRL_DATA` (when not empty), else `indexes`. A `$MRL_MAX_SIZE`
    /// that is not a size is ignored here: commands refuse it first (`environmentSizeCap`).
    public init(path: String?, maxIndexBytes: Int? = nil) {
        let environment = ProcessInfo.processInfo.environment["MRL_DATA"].flatMap { $0.isEmpty ? nil : $0 }
        self.path = path ?? environment ?? "indexes"
        self.maxIndexBytes = maxIndexBytes ?? (try? DataDirectory.environmentSizeCap()) ?? DataDirectory.defaultMaxIndexBytes
    }

    /// `$MRL_MAX_SIZE` in bytes; nil when unset or empty. Throws when it is not a size.
    public static func environmentSizeCap() throws -> Int? {
        guard let text = ProcessInfo.processInfo.environment["MRL_MAX_SIZE"], !text.isEmpty else { return nil }
        guard let bytes = ByteCount.parse(text) else {
            throw EngineError.badEnvironment(variable: "MRL_MAX_SIZE", message: "must be a size like 512M or 64G (at most 1P), got \"\(text)\"")
        }
        return bytes
    }

    /// Throws `invalidIndexName` unless `name` is 1–64 of `[A-Za-z0-9_-]` and not a folder
    /// the data directory keeps for itself: the rule a daemon's client checks too.
    public static func checkIndexName(_ name: String) throws { try IndexName.validate(name) }

    var storeOptions: IndexStore.Options { IndexStore.Options(mapSizeCap: maxIndexBytes) }

    /// The folder of index `name`; throws `invalidIndexName` for a name that is not
    /// 1–64 of `[A-Za-z0-9_-]`, so no name can reach outside the data directory.
    public func directory(of name: String) throws -> String {
        try DataDirectory.checkIndexName(name)
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

extension DataDirectory {
    static let backupsFolder = "backups"

    /// Where backups go: `backups/` inside the data directory, never a path a client chooses.
    public var backupsPath: String { (path as NSString).appendingPathComponent(DataDirectory.backupsFolder) }

    /// Copies `index` (open in this process) into `backups/NAME-YYYYMMDDTHHMMSSZ`, compacted,
    /// while it serves. Returns the backup's name (what `restore` takes) and size.
    public func backup(_ index: Index) throws -> (name: String, bytes: Int) {
        let stamp = ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withYear, .withMonth, .withDay, .withTime, .withTimeZone])
        var name = "\(index.name)-\(stamp)"
        var suffix = 1
        while FileManager.default.fileExists(atPath: (backupsPath as NSString).appendingPathComponent(name)) {
            suffix += 1
            name = "\(index.name)-\(stamp)-\(suffix)"
        }
        try FileManager.default.createDirectory(atPath: backupsPath, withIntermediateDirectories: true)
        let bytes = try index.store.copy(to: (backupsPath as NSString).appendingPathComponent(name))
        return (name, bytes)
    }

    /// Names of the backups present, oldest first.
    public func backupNames() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: backupsPath)) ?? []).filter {
            IndexStore.exists(directory: (backupsPath as NSString).appendingPathComponent($0))
        }.sorted()
    }

    /// Makes index `name` a copy of backup `backup` (a name in `backups/` or a folder path),
    /// replacing the index if it exists. Takes the index's writer lock first, so it refuses
    /// while a daemon or another writer has the index open: `StoreError.busyWriter`.
    /// Durable at each step: the copy is fsynced under a temporary name, its folder fsynced,
    /// then two renames swap it in and the data folder is fsynced; the old index is removed
    /// only after that, so a crash leaves the old index or the new one, never neither.
    /// The backup itself stays.
    public func restore(_ name: String, from backup: String) throws {
        let target = try directory(of: name)
        let inBackups = (backupsPath as NSString).appendingPathComponent(backup)
        let source = IndexStore.exists(directory: inBackups) ? inBackups : backup
        guard IndexStore.exists(directory: source) else { throw StoreError.indexNotFound(path: source) }
        let fm = FileManager.default
        let staging = target + ".restoring-\(getpid())"
        try? fm.removeItem(atPath: staging)
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: staging) }
        try DurableFiles.copy(source + "/data.mdb", to: staging + "/data.mdb")
        try DurableFiles.syncFolder(staging)
        // Opening the copy checks it is an index this mrl reads before anything is replaced.
        _ = try IndexStore.open(directory: staging, mode: .read)
        let existing = IndexStore.exists(directory: target) ? try IndexStore.open(directory: target, mode: .write) : nil
        let aside = target + ".replaced-\(getpid())"
        if existing != nil, rename(target, aside) != 0 {
            throw StoreError.lmdb(code: errno, operation: "move the old index aside", path: target)
        }
        guard rename(staging, target) == 0 else {
            let code = errno
            if existing != nil { rename(aside, target) }
            throw StoreError.lmdb(code: code, operation: "rename the restored index into place", path: target)
        }
        try DurableFiles.syncFolder(path)
        withExtendedLifetime(existing) { try? fm.removeItem(atPath: aside) }
    }
}

/// Sizes written like 512M, 64G, 1T or a plain byte count (binary units; a trailing B or iB
/// is allowed), up to `largest`.
public enum ByteCount {
    /// 1 PiB: past any disk, and far from where a byte count overflows.
    public static let largest = 1 << 50

    public static func parse(_ text: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50]
        var text = text.uppercased()
        if text.hasSuffix("B") || text.hasSuffix("I") { text.removeLast() }
        if text.hasSuffix("I") { text.removeLast() }
        var scale = 1
        if let unit = text.last, let factor = units[unit] {
            scale = factor
            text.removeLast()
        }
        guard let value = Double(text), value > 0, value * Double(scale) <= Double(largest) else { return nil }
        return Int(value * Double(scale))
    }
}

enum IndexName {
    /// Folders of the data directory that are not indexes.
    static let reserved: Set<String> = [DataDirectory.backupsFolder]

    static func validate(_ name: String) throws {
        let allowed = name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
        }
        guard allowed, (1...64).contains(name.utf8.count), !reserved.contains(name) else { throw EngineError.invalidIndexName(name) }
    }
}
