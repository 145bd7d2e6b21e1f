import Foundation

/// Which paths a folder walk leaves out: hidden names, version-control and build folders, the
/// patterns of the `.mrlignore` at a root, and `--include`/`--exclude`.
///
/// A `.mrlignore` follows gitignore(5), and agrees with `git check-ignore` (a test compares
/// them on thousands of generated cases):
/// - one pattern a line; blank lines and lines starting with `#` are skipped; trailing spaces
///   are trimmed unless escaped (`\ `); a `\` takes the next character literally (`\#`, `\!`);
/// - `*` matches any bytes, `?` one byte, `[a-c]`, `[!x]` (or `[^x]`) and `[[:alpha:]]` one
///   byte of a set, none of them a `/`; `**` as a whole name matches any number of folders
///   (`**/x`, `a/**/b`), and at the end everything inside (`a/**`); elsewhere it is a `*`;
/// - a `/` at the start or in the middle anchors the pattern at the root (only the root's
///   `.mrlignore` is read); without one, it matches a name at any depth;
/// - a trailing `/` matches folders only;
/// - the last pattern that matches decides; `!` re-includes what an earlier one left out, but
///   nothing inside a folder that is left out (the walk never enters it);
/// - a pattern with an unclosed `[` or a trailing `\` matches nothing.
/// An `--exclude` is a line read after the file's; an `--include` glob keeps only the files it
/// matches.
public struct IgnoreRules: Sendable {
    struct Pattern: Sendable {
        var glob: Glob
        var negated: Bool
        var directoryOnly: Bool

        /// One line, its comment and line end already dealt with.
        init(_ line: ArraySlice<UInt8>) {
            var line = Pattern.trimmingTrailingSpaces(line)
            negated = line.first == UInt8(ascii: "!")
            if negated { line.removeFirst() }
            directoryOnly = line.last == UInt8(ascii: "/")
            if directoryOnly { line.removeLast() }
            glob = Glob(line)
        }

        func matches(_ path: ArraySlice<[UInt8]>, isDirectory: Bool) -> Bool {
            (isDirectory || !directoryOnly) && glob.matches(path)
        }

        /// Drops the spaces at the end, but one escaped by a `\` (as git does).
        private static func trimmingTrailingSpaces(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
            var end = line.endIndex
            while end > line.startIndex, line[end - 1] == UInt8(ascii: " ") { end -= 1 }
            guard end < line.endIndex else { return line }
            let backslashes = line[..<end].reversed().prefix { $0 == UInt8(ascii: "\\") }.count
            return line[..<(backslashes % 2 == 1 ? end + 1 : end)]
        }
    }

    static let alwaysSkipped: Set<String> = [".git", ".hg", ".svn", "node_modules", "__pycache__", ".build", ".venv"]

    /// The `.mrlignore` lines, then the `--exclude` ones (which so come last and win).
    private var patterns: [Pattern] = []
    private let exclude: [Pattern]
    /// File globs: when any are given, only matching files are read.
    private let include: [Glob]

    public init(include: [String] = [], exclude: [String] = []) {
        self.include = include.map(Glob.init)
        self.exclude = exclude.map { Pattern(Array($0.utf8)[...]) }
    }

    /// Adds the patterns of a `.mrlignore` file's text.
    public mutating func add(ignoreFile text: String) {
        let bytes = Array(text.utf8)
        let body = bytes.starts(with: byteOrderMark) ? bytes.dropFirst(byteOrderMark.count) : bytes[...]
        for var line in body.split(separator: UInt8(ascii: "\n")) where line.first != UInt8(ascii: "#") {
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            patterns.append(Pattern(line))
        }
    }

    /// These rules with the `.mrlignore` of `root`, when it has one (bytes that are not UTF-8
    /// match nothing, but do not lose the other lines).
    public func adding(ignoreFileOf root: String) -> IgnoreRules {
        var rules = self
        if let data = FileManager.default.contents(atPath: root + "/.mrlignore") { rules.add(ignoreFile: String(decoding: data, as: UTF8.self)) }
        return rules
    }

    /// Whether `relative` (path from the root, "/"-separated) is left out: it or a folder it
    /// is in.
    public func skips(_ relative: String, isDirectory: Bool) -> Bool {
        let names = relative.split(separator: "/").map { Array($0.utf8) }
        if names.contains(where: { $0.first == UInt8(ascii: ".") || IgnoreRules.alwaysSkipped.contains(String(decoding: $0, as: UTF8.self)) }) {
            return true
        }
        for depth in names.indices {
            let path = names[...depth], isFolder = isDirectory || depth < names.count - 1
            let last = exclude.last { $0.matches(path, isDirectory: isFolder) } ?? patterns.last { $0.matches(path, isDirectory: isFolder) }
            if let last, !last.negated { return true }
        }
        return !isDirectory && !include.isEmpty && !include.contains { $0.matches(names[...]) }
    }
}

private let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
