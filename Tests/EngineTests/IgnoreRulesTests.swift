import Engine
import Foundation
import Search
import XCTest

/// `.mrlignore` read as git reads a `.gitignore`: hand-picked cases, a folder walk, and
/// thousands of generated cases compared with `git check-ignore` on a real repository.
final class IgnoreRulesTests: XCTestCase {
    func rules(_ text: String) -> IgnoreRules {
        var rules = IgnoreRules()
        rules.add(ignoreFile: text)
        return rules
    }

    func testPatternsFollowGitignore() {
        // (the .mrlignore, a path, whether it is a folder, whether git ignores it)
        let cases: [(String, String, Bool, Bool)] = [
            ("doc/*.md", "doc/a.md", false, true), ("doc/*.md", "doc/sub/a.md", false, false),
            ("*.md", "sub/a.md", false, true), ("/top", "top", false, true), ("/top", "sub/top", false, false),
            ("**/foo", "a/b/foo", false, true), ("**/foo", "barfoo", false, false),
            ("a/**/b", "a/b", false, true), ("a/**/b", "a/x/y/b", false, true), ("a/**/b", "a/xb", false, false),
            ("a/**", "a", true, false), ("a/**", "a/x/y", false, true),
            ("a?c", "abc", false, true), ("a?c", "a/c", false, false),
            ("[a-c]x", "bx", false, true), ("[a-c]x", "dx", false, false), ("[!a]x", "ax", false, false), ("[!a]x", "bx", false, true),
            ("\\#notes", "#notes", false, true), ("# notes", "# notes", false, false), ("\\!x", "!x", false, true),
            ("\\*", "*", false, true), ("\\*", "a", false, false), ("a\\ ", "a ", false, true), ("a  ", "a", false, true),
            ("build/", "build", true, true), ("build/", "build", false, false), ("build/", "x/build/f", false, true),
            ("*.log\n!keep.log", "keep.log", false, false), ("*.log\n!keep.log", "x.log", false, true),
            ("logs/\n!logs/keep.log", "logs/keep.log", false, true), ("logs/*\n!logs/keep.log", "logs/keep.log", false, false),
            ("a\n!a\na", "a", false, true), ("x\r\ny", "x", false, true), ("[ab", "[ab", false, false),
        ]
        for (text, path, isDirectory, ignored) in cases {
            XCTAssertEqual(rules(text).skips(path, isDirectory: isDirectory), ignored, "\(text.debugDescription) on \(path)")
        }
    }

    func testHiddenNamesAndIncludeAndExclude() {
        let rules = IgnoreRules(include: ["*.md", "notes/**/*.txt"], exclude: ["drafts/", "!drafts/keep.md"])
        XCTAssertTrue(rules.skips("a/.hidden/x.md", isDirectory: false))
        XCTAssertTrue(rules.skips("node_modules", isDirectory: true))
        XCTAssertFalse(rules.skips("a/b.md", isDirectory: false))
        XCTAssertTrue(rules.skips("a/b.txt", isDirectory: false), "not included")
        XCTAssertFalse(rules.skips("notes/x/y.txt", isDirectory: false))
        XCTAssertFalse(rules.skips("a", isDirectory: true), "folders are walked to find included files")
        XCTAssertTrue(rules.skips("drafts", isDirectory: true))
        XCTAssertTrue(rules.skips("drafts/keep.md", isDirectory: false), "inside an excluded folder")
    }

    /// The walk never enters a left-out folder, and reads what a `!` brings back elsewhere.
    func testAFolderScanSkipsWhatTheRootMrlignoreLists() throws {
        let root = temporaryData(self).path + "/docs"
        for file in ["a.md", "x.tmp", "important.tmp", "logs/keep.txt", "logs/x.txt", "out/keep.txt", "out/x.txt", "sub/build/f.md", "sub/build.md"] {
            try FileManager.default.createDirectory(atPath: ((root + "/" + file) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            XCTAssertTrue(FileManager.default.createFile(atPath: root + "/" + file, contents: Data("text".utf8)))
        }
        try "*.tmp\n!important.tmp\nlogs/\n!logs/keep.txt\nout/*\n!out/keep.txt\nbuild/\n".write(toFile: root + "/.mrlignore", atomically: true, encoding: .utf8)
        var scan = FolderScan(rules: IgnoreRules())
        let found = try scan.files(under: [root]).map { String($0.path.dropFirst(root.count + 1)) }
        XCTAssertEqual(found, ["a.md", "important.tmp", "out/keep.txt", "sub/build.md"])
    }

    /// Random pattern sets and paths, each answered by IgnoreRules and by `git check-ignore`.
    /// Each set is the .gitignore of its own folder of the repository (git reads it relative to
    /// that folder, as IgnoreRules reads a root's .mrlignore), so that one git run answers all
    /// (a run per set took half a minute). MRL_IGNORE_SEED=N repeats a run (the seed is printed
    /// on a mismatch).
    func testGeneratedCasesAgreeWithGitCheckIgnore() throws {
        guard let repo = try gitRepository() else { return }
        let seed = ProcessInfo.processInfo.environment["MRL_IGNORE_SEED"].flatMap { UInt64($0) } ?? 17
        var generator = IgnoreCaseGenerator(random: SplitMix64(seed: seed))
        let sets = (0..<300).map { _ in (lines: generator.patternSet(), paths: generator.paths()) }
        for (number, set) in sets.enumerated() {
            try write(repo + "/\(number)", gitignore: set.lines.joined(separator: "\n") + "\n", paths: set.paths)
        }
        var answers = try checkIgnore(repo, paths: sets.indices.flatMap { number in sets[number].paths.map { "\(number)/\($0.path)" } })[...]
        var cases = 0, ignored = 0, mismatches = 0
        for (number, set) in sets.enumerated() {
            let rules = rules(set.lines.joined(separator: "\n"))
            for ((path, isDirectory), git) in zip(set.paths, answers.prefix(set.paths.count)) {
                cases += 1
                if git.ignored { ignored += 1 }
                guard rules.skips(path, isDirectory: isDirectory) != git.ignored else { continue }
                mismatches += 1
                if mismatches <= 10 {
                    XCTFail("""
                        set \(number) of seed \(seed) (repeat with MRL_IGNORE_SEED=\(seed)):
                        \(set.lines.map(\.debugDescription).joined(separator: "\n"))
                        \(isDirectory ? "folder" : "file") \(path.debugDescription): mrl \(git.ignored ? "keeps" : "skips") it, \
                        git \(git.ignored ? "ignores" : "keeps") it (\(git.line.isEmpty ? "no line matches" : "by " + git.line.debugDescription))
                        """)
                }
            }
            answers = answers.dropFirst(set.paths.count)
        }
        print("IgnoreRules vs git check-ignore: \(cases) cases (\(ignored) ignored), \(cases - mismatches) agree, \(mismatches) differ, seed \(seed)")
        XCTAssertGreaterThanOrEqual(cases, 10_000)
    }

    /// A fresh repository, or a failure saying git is missing (CI has it: the test must not
    /// pass without comparing). In memory where the machine allows: removing its ~17,000
    /// files and folders from a busy disk takes longer than the whole comparison.
    func gitRepository() throws -> String? {
        let memory = "/dev/shm"
        let scratch = FileManager.default.isWritableFile(atPath: memory) ? memory : NSTemporaryDirectory()
        let repo = scratch + "/mrl-ignore-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: repo) }
        guard let run = try? git(["init", "-q", repo]), run.status == 0 else {
            XCTFail("git is needed to compare .mrlignore with `git check-ignore` but `git init` failed (is git installed? apt-get install git)")
            return nil
        }
        return repo
    }

    /// Creates `folder` with a .gitignore and `paths` in it (each folder comes before what it
    /// holds).
    func write(_ folder: String, gitignore: String, paths: [(path: String, isDirectory: Bool)]) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try gitignore.write(toFile: folder + "/.gitignore", atomically: false, encoding: .utf8)
        for (path, isDirectory) in paths {
            let full = folder + "/" + path
            let made = isDirectory ? mkdir(full, 0o755) == 0 : close(creat(full, 0o644)) == 0
            XCTAssertTrue(made, "\(full): \(String(cString: strerror(errno)))")
        }
    }

    /// git's answer for each path, in order: ignored or not, and the line that decided.
    func checkIgnore(_ repo: String, paths: [String]) throws -> [(ignored: Bool, line: String)] {
        let input = repo + "/.git/paths-to-check"
        try Data(paths.joined(separator: "\0").utf8).write(to: URL(fileURLWithPath: input))
        let run = try git(["-C", repo, "check-ignore", "--stdin", "-z", "-v", "-n", "--no-index"], stdin: input)
        XCTAssertTrue(run.status == 0 || run.status == 1, "git check-ignore: \(run.stderr)")
        // Four fields a path: source, line number, pattern, path.
        let fields = run.stdout.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
        let starts = Array(stride(from: 0, to: fields.count - 3, by: 4))
        XCTAssertEqual(starts.map { fields[$0 + 3] }, paths, "git answered for other paths")
        return starts.map { i -> (ignored: Bool, line: String) in
            (!fields[i].isEmpty && !fields[i + 2].hasPrefix("!"), fields[i + 2])
        }
    }

    /// Runs git with no user or system configuration (a global excludes file would change its
    /// answers).
    func git(_ arguments: [String], stdin: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        let home = temporaryData(self).path
        process.environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": home, "XDG_CONFIG_HOME": home,
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "LC_ALL": "C",
        ]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = try stdin.map { try FileHandle(forReadingFrom: URL(fileURLWithPath: $0)) } ?? FileHandle.nullDevice
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}

/// Pattern sets and paths over a few characters, so that patterns often match: names,
/// `*`, `?`, `**`, sets, escapes, anchors, folder-only and `!` lines, comments and blanks.
struct IgnoreCaseGenerator {
    var random: SplitMix64
    /// What names are made of: never a leading `.` (hidden, skipped before any pattern).
    static let characters: [Character] = ["a", "a", "b", "b", "c", "x", "#", "!", "*", " ", "[", "?"]
    static let sets = ["[a-c]", "[!x]", "[abc]", "[^a]", "[]a]", "[!a-b]", "[b-]", "[[:alpha:]]", "[\\!#]", "[*?]"]

    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &random) < p }

    mutating func name() -> String {
        String((0..<Int.random(in: 1...3, using: &random)).map { _ in Self.characters.randomElement(using: &random) ?? "a" })
    }

    /// One character of a name as a pattern: glob characters escaped, those special at the
    /// start or end of a line (`#`, `!`, a space) half the time, others now and then.
    mutating func literal(_ character: Character) -> String {
        let escaped = "*?[\\".contains(character) || chance("#! ".contains(character) ? 0.5 : 0.15)
        return escaped ? "\\\(character)" : String(character)
    }

    mutating func piece() -> String {
        switch Int.random(in: 0..<10, using: &random) {
        case 0..<5: literal(Self.characters.randomElement(using: &random) ?? "a")
        case 5, 6: "*"
        case 7: "?"
        default: Self.sets.randomElement(using: &random) ?? "?"
        }
    }

    /// A name's pattern, or `**`. A `**` inside a name is git's own quirk (after a literal it
    /// acts as `**/`, contrary to gitignore(5)), so two stars there become one.
    mutating func segment() -> String {
        if chance(0.15) { return "**" }
        var segment = (0..<Int.random(in: 1...3, using: &random)).map { _ in piece() }.joined()
        while segment.contains("**") { segment = segment.replacingOccurrences(of: "**", with: "*") }
        return segment
    }

    mutating func line() -> String {
        switch Int.random(in: 0..<20, using: &random) {
        case 0: return ""
        case 1: return "# " + name()
        default:
            var line = (0..<Int.random(in: 1...3, using: &random)).map { _ in segment() }.joined(separator: "/")
            if chance(0.25) { line = "/" + line }
            if chance(0.2) { line += "/" }
            if chance(0.25) { line = "!" + line }
            if chance(0.1) { line += String(repeating: " ", count: Int.random(in: 1...2, using: &random)) }
            return line
        }
    }

    mutating func patternSet() -> [String] { (0..<Int.random(in: 1...5, using: &random)).map { _ in line() } }

    /// Paths 1 to 4 names deep, files and folders (with every folder above them), that can all
    /// exist at once.
    mutating func paths() -> [(path: String, isDirectory: Bool)] {
        var kinds: [String: Bool] = [:], order: [String] = []
        for _ in 0..<24 {
            let names = (0..<Int.random(in: 1...4, using: &random)).map { _ in name() }
            let isDirectory = chance(0.4)
            let prefixes = names.indices.map { names[...$0].joined(separator: "/") }
            let folders = prefixes.dropLast(), leaf = names.joined(separator: "/")
            guard folders.allSatisfy({ kinds[$0] ?? true }), (kinds[leaf] ?? isDirectory) == isDirectory else { continue }
            for (depth, path) in prefixes.enumerated() where kinds[path] == nil {
                kinds[path] = depth < prefixes.count - 1 || isDirectory
                order.append(path)
            }
        }
        return order.map { ($0, kinds[$0] ?? false) }
    }
}
