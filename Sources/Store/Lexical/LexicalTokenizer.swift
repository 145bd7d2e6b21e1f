/// Cuts text into the terms the lexical index stores and a lexical query looks up.
///
/// A word is a run of letters, digits and combining marks (by Unicode properties); a CJK
/// ideograph is a term on its own. Words joined by `-`, `_`, `.`, `:` or `/` form an
/// identifier, kept whole (`python3-lzss`, `eventloopfuture.flatmap`) and also as its words;
/// a word with camelCase humps is kept whole and also cut at them (`EventLoopFuture` gives
/// `eventloopfuture`, `event`, `loop`, `future`; `HTTPServer` gives `http`, `server`).
/// Terms are lowercased. Work is linear in the text, and a document yields at most `limit`
/// terms, so a huge file costs what its first `limit` terms cost.
public enum LexicalTokenizer {
    /// Terms longer than this many UTF-8 bytes (hashes, base64) are not indexed: nobody
    /// types them, and they would bloat the postings.
    public static let maxTermBytes = 64
    /// The most terms taken from one document (the rest of a huge text is not indexed).
    public static let maxTermsPerDocument = 100_000

    /// The text's terms in order, repeats included (a term's count is its frequency).
    public static func terms(_ text: String, limit: Int = maxTermsPerDocument) -> [String] {
        var terms: [String] = []
        var identifier = Identifier()
        for scalar in text.unicodeScalars {
            guard terms.count < limit else { break }
            switch kind(of: scalar) {
            case .word:
                identifier.add(word: scalar)
            case .joiner where identifier.isOpen:
                identifier.add(joiner: scalar)
            case .ideograph:
                identifier.close(into: &terms)
                terms.append(String(scalar).lowercased())
            default:
                identifier.close(into: &terms)
            }
        }
        identifier.close(into: &terms)
        return Array(terms.prefix(limit))
    }

    private enum Kind { case word, joiner, ideograph, other }

    private static func kind(of scalar: Unicode.Scalar) -> Kind {
        if scalar.isASCII {
            let byte = UInt8(scalar.value)
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .word
            case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "/"): return .joiner
            default: return .other
            }
        }
        let properties = scalar.properties
        if properties.isIdeographic { return .ideograph }
        if properties.isAlphabetic { return .word }
        switch properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber, .nonspacingMark, .spacingMark, .enclosingMark: return .word
        default: return .other
        }
    }

    /// The identifier being read: its words, and the text from its first word to its last.
    private struct Identifier {
        var whole: [Unicode.Scalar] = []
        var words: [Range<Int>] = []
        var wordStart: Int?
        var wholeEnd = 0

        var isOpen: Bool { wordStart != nil || !words.isEmpty }

        mutating func add(word scalar: Unicode.Scalar) {
            if wordStart == nil { wordStart = whole.count }
            whole.append(scalar)
            wholeEnd = whole.count
        }

        mutating func add(joiner scalar: Unicode.Scalar) {
            if let start = wordStart { words.append(start..<whole.count) }
            wordStart = nil
            whole.append(scalar)
        }

        mutating func close(into terms: inout [String]) {
            if let start = wordStart { words.append(start..<whole.count) }
            defer { self = Identifier() }
            guard !words.isEmpty else { return }
            if words.count > 1 { LexicalTokenizer.append(whole[..<wholeEnd], to: &terms) }
            for word in words {
                let humps = LexicalTokenizer.humps(whole[word])
                if humps.count > 1 { LexicalTokenizer.append(whole[word], to: &terms) }
                for hump in humps { LexicalTokenizer.append(whole[hump], to: &terms) }
            }
        }
    }

    /// A word's camelCase parts: cut before an upper-case letter that follows a lower-case
    /// letter or a digit (`flatMap`, `base64Encode`), and before the last capital of a run
    /// that a lower-case letter follows (`HTTPServer`).
    static func humps(_ word: ArraySlice<Unicode.Scalar>) -> [Range<Int>] {
        var parts: [Range<Int>] = [], start = word.startIndex
        var i = word.startIndex + 1
        while i < word.endIndex {
            let previous = letterCase(word[i - 1])
            let cut = letterCase(word[i]) == .upper
                && (previous == .lower || previous == .digit
                    || (previous == .upper && i + 1 < word.endIndex && letterCase(word[i + 1]) == .lower))
            if cut {
                parts.append(start..<i)
                start = i
            }
            i += 1
        }
        parts.append(start..<word.endIndex)
        return parts
    }

    private enum LetterCase { case upper, lower, digit, other }

    /// Most text is ASCII: its case is a range test, not a Unicode property lookup.
    private static func letterCase(_ scalar: Unicode.Scalar) -> LetterCase {
        switch scalar.value {
        case 0x41...0x5A: return .upper
        case 0x61...0x7A: return .lower
        case 0x30...0x39: return .digit
        case 0..<0x80: return .other
        default:
            let properties = scalar.properties
            return properties.isUppercase ? .upper : properties.isLowercase ? .lower : properties.numericType != nil ? .digit : .other
        }
    }

    /// Adds the lowercased term unless it is too long to index.
    private static func append(_ scalars: ArraySlice<Unicode.Scalar>, to terms: inout [String]) {
        if scalars.allSatisfy(\.isASCII) {
            guard scalars.count <= maxTermBytes else { return }
            terms.append(String(decoding: scalars.map { UInt8($0.value) | (letterCase($0) == .upper ? 0x20 : 0) }, as: UTF8.self))
            return
        }
        var term = ""
        term.unicodeScalars.append(contentsOf: scalars)
        term = term.lowercased()
        if term.utf8.count <= maxTermBytes { terms.append(term) }
    }
}
