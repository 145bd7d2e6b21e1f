import Foundation

/// A place in the sources that can stop the process: what `TrapSitesTests` compares with
/// Tests/trap-sites.tsv. Sites are keyed by file and the trimmed text of their line, not by line
/// number, so an edit elsewhere in the file does not change them.
struct TrapSite: Hashable, Comparable {
    var path: String
    var kind: String
    var text: String

    static func < (a: TrapSite, b: TrapSite) -> Bool { (a.path, a.text, a.kind) < (b.path, b.text, b.kind) }
}

/// Finds trap sites in Swift source text. Comments and the contents of string literals are
/// blanked first (interpolations stay code), then each line is matched against:
/// - `precondition(`, `preconditionFailure(`, `fatalError(`, `try!`, `as!`;
/// - force unwraps: a `!` right after an identifier, `)` or `]` and not before `=`;
/// - integer conversions that can trap: an `Int`/`UInt`(8/16/32/64) call without a label
///   (`exactly:`, `clamping:`, ... do not trap) whose argument visibly is floating (a float
///   literal `0.5` or `1e9`, `Double(`, `Float(`, `TimeInterval(`, `.rounded`, `.squareRoot(`,
///   `ceil(`, `floor(`, `round(`, `sqrt(`, `log(`, `log2(`, `exp(`, `pow(`) or is arithmetic
///   with `*` or `/` (`Int32(quiet * 1000)`, `Int32(3 * h)`: a scaled value may not fit). A
///   conversion of a plain variable (`Int(seconds)`) is not seen: the audit reads those by hand.
/// A line with several sites of one kind is one site of that kind.
enum TrapSiteScanner {
    static func sites(in source: String, path: String) -> [TrapSite] {
        let original = source.split(separator: "\n", omittingEmptySubsequences: false)
        let code = String(decoding: codeOnly(Array(source.utf8)), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false)
        var found: [TrapSite] = []
        for (number, line) in code.enumerated() {
            let text = original[number].trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\t", with: " ")
            for kind in kinds(in: String(line)) {
                found.append(TrapSite(path: path, kind: kind, text: text))
            }
        }
        return found
    }

    private static let calls: [(kind: String, pattern: NSRegularExpression)] = [
        ("precondition", regex(#"\bprecondition\("#)),
        ("preconditionFailure", regex(#"\bpreconditionFailure\("#)),
        ("fatalError", regex(#"\bfatalError\("#)),
        ("try!", regex(#"\btry!"#)),
        ("as!", regex(#"\bas!"#)),
        ("force-unwrap", regex(#"(?<!\btry)(?<!\bas)(?<=[A-Za-z0-9_)\]])!(?!=)"#)),
    ]
    private static let integerCall = regex(#"\bU?Int(8|16|32|64)?\("#)
    private static let label = regex(#"^\s*[A-Za-z]+\s*:"#)
    private static let floating = regex(
        #"\d\.\d|\d[eE][+-]?\d|\b(Double|Float|TimeInterval)\(|\.rounded\b|\.squareRoot\(|\b(ceil|floor|round|sqrt|log|log2|log10|exp|pow)\(|[*/]"#)

    private static func regex(_ pattern: String) -> NSRegularExpression {
        try! NSRegularExpression(pattern: pattern)
    }

    private static func kinds(in line: String) -> [String] {
        let all = NSRange(line.startIndex..., in: line)
        var kinds = calls.filter { $0.pattern.firstMatch(in: line, range: all) != nil }.map(\.kind)
        let utf16 = Array(line.utf16)
        for match in integerCall.matches(in: line, range: all) {
            let argument = balancedArgument(utf16, from: match.range.upperBound)
            let range = NSRange(argument.startIndex..., in: argument)
            if label.firstMatch(in: argument, range: range) == nil, floating.firstMatch(in: argument, range: range) != nil {
                kinds.append("int-conversion")
                break
            }
        }
        return kinds
    }

    /// The text from `start` to the parenthesis that closes the one before it (or the line's end).
    private static func balancedArgument(_ utf16: [UInt16], from start: Int) -> String {
        var depth = 0, end = start
        while end < utf16.count {
            if utf16[end] == 0x28 { depth += 1 }
            if utf16[end] == 0x29 { if depth == 0 { break }; depth -= 1 }
            end += 1
        }
        return String(decoding: utf16[start..<end], as: UTF16.self)
    }

    // MARK: Blanking comments and string contents

    /// `source` with comments and string literal contents turned to spaces (newlines kept, so
    /// line numbers and columns stay); code inside `\( )` interpolations is kept.
    static func codeOnly(_ source: [UInt8]) -> [UInt8] {
        var lexer = Lexer(bytes: source)
        _ = lexer.code(from: 0, inInterpolation: false)
        return lexer.bytes
    }

    private struct Lexer {
        var bytes: [UInt8]
        private static let (slash, star, quote, hash, backslash, open, close, newline, space): (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)
            = (47, 42, 34, 35, 92, 40, 41, 10, 32)

        init(bytes: [UInt8]) { self.bytes = bytes }

        private func at(_ i: Int) -> UInt8 { i < bytes.count ? bytes[i] : 0 }
        private mutating func blank(_ i: Int) { if bytes[i] != Self.newline { bytes[i] = Self.space } }

        /// Code from `i`; inside an interpolation, returns the index of its closing `)`.
        mutating func code(from start: Int, inInterpolation: Bool) -> Int {
            var i = start, depth = 0
            while i < bytes.count {
                let c = bytes[i]
                if c == Self.slash, at(i + 1) == Self.slash {
                    while i < bytes.count, bytes[i] != Self.newline { blank(i); i += 1 }
                } else if c == Self.slash, at(i + 1) == Self.star {
                    i = blockComment(from: i)
                } else if c == Self.quote || c == Self.hash {
                    var hashes = 0
                    while at(i + hashes) == Self.hash { hashes += 1 }
                    guard at(i + hashes) == Self.quote else { i += max(hashes, 1); continue }
                    let quoteStart = i + hashes
                    let multiline = at(quoteStart + 1) == Self.quote && at(quoteStart + 2) == Self.quote
                    i = string(from: quoteStart + (multiline ? 3 : 1), hashes: hashes, multiline: multiline)
                } else {
                    if c == Self.open { depth += 1 }
                    if c == Self.close {
                        if inInterpolation && depth == 0 { return i }
                        depth -= 1
                    }
                    i += 1
                }
            }
            return i
        }

        private mutating func blockComment(from start: Int) -> Int {
            var i = start, depth = 0
            while i < bytes.count {
                if bytes[i] == Self.slash, at(i + 1) == Self.star {
                    depth += 1; blank(i); blank(i + 1); i += 2
                } else if bytes[i] == Self.star, at(i + 1) == Self.slash {
                    depth -= 1; blank(i); blank(i + 1); i += 2
                    if depth == 0 { return i }
                } else {
                    blank(i); i += 1
                }
            }
            return i
        }

        /// A string's contents from `start` (after its opening quotes); returns the index after it.
        private mutating func string(from start: Int, hashes: Int, multiline: Bool) -> Int {
            var i = start
            while i < bytes.count {
                let c = bytes[i]
                if c == Self.backslash, (0..<hashes).allSatisfy({ at(i + 1 + $0) == Self.hash }) {
                    let after = i + 1 + hashes
                    if at(after) == Self.open {
                        i = code(from: after + 1, inInterpolation: true) + 1
                    } else {
                        for j in i...min(after, bytes.count - 1) { blank(j) }
                        i = after + 1
                    }
                } else if c == Self.quote, !multiline || (at(i + 1) == Self.quote && at(i + 2) == Self.quote) {
                    let end = i + (multiline ? 3 : 1)
                    if (0..<hashes).allSatisfy({ at(end + $0) == Self.hash }) { return end + hashes }
                    blank(i); i += 1
                } else {
                    blank(i); i += 1
                }
            }
            return i
        }
    }
}
