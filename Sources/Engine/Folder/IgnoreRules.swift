import Foundation

/// Which paths a folder walk leaves out: hidden names, version-control and build folders,
/// the patterns of a `.mrlignore` at a root (gitignore syntax: globs, `dir/` for folders
/// only, a leading `/` anchors at the root, `!` re-includes), and `--include`/`--exclude`.
public struct IgnoreRules: Sendable {
    struct Pattern: Sendable {
        var glob: String
        var negated: Bool
        var directoryOnly: Bool
        /// Matched against the whole path from the root, not just the name.
        var anchored: Bool
    }

    static let alwaysSkipped: Set<String> = [".git", ".hg", ".svn", "node_modules", "__pycache__", ".build", ".venv"]

    var patterns: [Pattern] = []
    /// File globs: when any are given, only matching files are read.
    public var include: [String] = []
    public var exclude: [String] = []

    public init(include: [String] = [], exclude: [String] = []) {
        self.include = include
        self.exclude = exclude
    }

    /// Adds the patterns of a `.mrlignore` file's text.
    public mutating func add(ignoreFile text: String) {
        for raw in text.split(whereSeparator: \.isNewline) {
            var line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let negated = line.hasPrefix("!")
            if negated { line.removeFirst() }
            let directoryOnly = line.hasSuffix("/")
            if directoryOnly { line.removeLast() }
            let anchored = line.hasPrefix("/") || line.dropLast().contains("/")
            if line.hasPrefix("/") { line.removeFirst() }
            patterns.append(Pattern(glob: line, negated: negated, directoryOnly: directoryOnly, anchored: anchored))
        }
    }

    /// Whether `relative` (path from the root, "/"-separated) is left out.
    public func skips(_ relative: String, isDirectory: Bool) -> Bool {
        let name = (relative as NSString).lastPathComponent
        if name.hasPrefix(".") || IgnoreRules.alwaysSkipped.contains(name) { return true }
        var skipped = false
        for pattern in patterns where !pattern.directoryOnly || isDirectory {
            if IgnoreRules.matches(pattern.glob, pattern.anchored ? relative : name) { skipped = !pattern.negated }
        }
        if skipped || isDirectory { return skipped }
        if exclude.contains(where: { IgnoreRules.matches($0, name) || IgnoreRules.matches($0, relative) }) { return true }
        if !include.isEmpty, !include.contains(where: { IgnoreRules.matches($0, name) || IgnoreRules.matches($0, relative) }) { return true }
        return false
    }

    /// Shell glob match (`*`, `?`, `[...]`; `**` crosses folders).
    static func matches(_ glob: String, _ path: String) -> Bool {
        let pattern = glob.replacingOccurrences(of: "**/", with: "*").replacingOccurrences(of: "**", with: "*")
        return fnmatch(pattern, path, 0) == 0
    }
}
