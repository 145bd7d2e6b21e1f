import Foundation

/// A file a folder walk found.
public struct FoundFile: Sendable {
    /// Absolute path (what chunk ids and the file table are keyed by).
    public var path: String
    public var size: Int
    public var modified: Double
}

/// Walks files and folders: folders recursively, skipping what `IgnoreRules` says (with a
/// root's `.mrlignore`), following symbolic links but never into a folder twice (no loops).
/// Unreadable folders are reported, not fatal.
public struct FolderScan {
    public var rules: IgnoreRules
    /// A root that does not exist is a problem reported (its files count as gone), not an
    /// error: for `--watch`, where a folder may vanish between two runs.
    public var rootsMayVanish = false
    /// Problems met on the way (unreadable folders, broken links), for the summary.
    public private(set) var problems: [String] = []

    public init(rules: IgnoreRules) { self.rules = rules }

    /// Every file under `roots`, sorted by path. A root that is a file is taken as is; one
    /// that is neither a regular file nor a folder is refused (`unreadable`).
    public mutating func files(under roots: [String]) throws -> [FoundFile] {
        var found: [FoundFile] = []
        var visited = Set<[UInt64]>()
        for root in roots {
            let absolute = URL(fileURLWithPath: root).standardizedFileURL.path
            var info = stat()
            guard stat(absolute, &info) == 0 else {
                if rootsMayVanish, errno == ENOENT {
                    problems.append("\(root): is gone; its files are removed from the index")
                    continue
                }
                throw EngineError.unreadable(path: root, reason: String(cString: strerror(errno)))
            }
            if info.st_mode & S_IFMT != S_IFDIR {
                // A device, FIFO or socket never ends (or blocks): /dev/zero would be read for ever.
                guard info.st_mode & S_IFMT == S_IFREG else {
                    throw EngineError.unreadable(path: root, reason: "is not a file or folder (a device, FIFO or socket): give files and folders, or - to read JSONL from standard input")
                }
                found.append(FoundFile(path: absolute, size: Int(info.st_size), modified: FolderScan.seconds(info.st_mtim)))
                continue
            }
            walk(absolute, relative: "", rules: rules.adding(ignoreFileOf: absolute), visited: &visited, into: &found)
        }
        return found.sorted { $0.path < $1.path }
    }

    private mutating func walk(_ directory: String, relative: String, rules: IgnoreRules, visited: inout Set<[UInt64]>,
                               into found: inout [FoundFile]) {
        var info = stat()
        guard stat(directory, &info) == 0, visited.insert([UInt64(info.st_dev), UInt64(info.st_ino)]).inserted else { return }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            problems.append("\(directory): cannot list the folder (\(error.localizedDescription))")
            return
        }
        for name in names {
            let path = directory + "/" + name
            let rel = relative.isEmpty ? name : relative + "/" + name
            var entry = stat()
            guard stat(path, &entry) == 0 else {
                problems.append("\(path): \(String(cString: strerror(errno))) (a broken link?)")
                continue
            }
            let isDirectory = entry.st_mode & S_IFMT == S_IFDIR
            if rules.skips(rel, isDirectory: isDirectory) { continue }
            if isDirectory {
                walk(path, relative: rel, rules: rules, visited: &visited, into: &found)
            } else if entry.st_mode & S_IFMT == S_IFREG {
                found.append(FoundFile(path: path, size: Int(entry.st_size), modified: FolderScan.seconds(entry.st_mtim)))
            }
        }
    }

    static func seconds(_ t: timespec) -> Double { Double(t.tv_sec) + Double(t.tv_nsec) / 1e9 }
}
