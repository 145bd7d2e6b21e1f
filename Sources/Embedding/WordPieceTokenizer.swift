import Foundation
import JSONValue

/// BERT's uncased WordPiece tokenizer, as Hugging Face's fast BertTokenizer runs it:
/// special tokens written in the text ("[SEP]") are matched as they are; the rest is
/// normalized (drop control characters, map whitespace to spaces, space out CJK ideographs,
/// strip accents, lowercase), split on whitespace and punctuation, and each word split
/// greedily into the longest pieces in the vocabulary ("##" marks a continuation).
///
/// ```swift
/// let tokenizer = try WordPieceTokenizer(vocabularyPath: "models/all-MiniLM-L6-v2/vocab.txt")
/// tokenizer.encode("Hello, World!", maxTokens: 256)   // [101, 7592, 1010, 2088, 999, 102]
/// ```
struct WordPieceTokenizer {
    private let vocabulary: [String: Int32]
    /// Tokens matched verbatim in the raw text, before normalization.
    private let specialTokens: [(text: String, id: Int32)]
    let unknown: Int32, classify: Int32, separator: Int32
    static let maxWordScalars = 100

    /// Reads vocab.txt, and the special tokens from tokenizer.json's `added_tokens` when that
    /// file is there (else BERT's five). Every id must be below `size`, the model's vocab_size
    /// (its embedding rows). Throws `missingFile`, or `badConfig` if the vocabulary lacks
    /// [UNK], [CLS] or [SEP] or holds an id past `size`.
    init(vocabularyPath: String, tokenizerPath: String? = nil, size: Int) throws {
        guard let text = try? String(contentsOfFile: vocabularyPath, encoding: .utf8) else {
            throw EncoderError.missingFile(path: vocabularyPath)
        }
        var vocabulary: [String: Int32] = [:]
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            guard i < size else { throw EncoderError.badConfig(path: vocabularyPath, detail: "line \(i + 1) is past vocab_size \(size) of config.json") }
            vocabulary[String(line).trimmingCharacters(in: .init(charactersIn: "\r"))] = Int32(i)
        }
        guard let unk = vocabulary["[UNK]"], let cls = vocabulary["[CLS]"], let sep = vocabulary["[SEP]"] else {
            throw EncoderError.badConfig(path: vocabularyPath, detail: "no [UNK], [CLS] or [SEP] token")
        }
        self.vocabulary = vocabulary
        (unknown, classify, separator) = (unk, cls, sep)
        specialTokens = try WordPieceTokenizer.addedTokens(tokenizerPath, size: size)
            ?? ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { t in vocabulary[t].map { (t, $0) } }
    }

    private static func addedTokens(_ path: String?, size: Int) throws -> [(text: String, id: Int32)]? {
        guard let path, let data = FileManager.default.contents(atPath: path),
              let added = (try? JSON.parse(data))?["added_tokens"]?.array else { return nil }
        return try added.compactMap { token in
            guard let text = token["content"]?.string, let id = token["id"]?.int,
                  token["normalized"]?.bool != true else { return nil }
            guard (0..<size).contains(id) else {
                throw EncoderError.badConfig(path: path, detail: "added token \(text) has id \(id), past vocab_size \(size) of config.json")
            }
            return (text, Int32(id))
        }
    }

    /// Token ids with [CLS] first and [SEP] last, at most `maxTokens` in all. The work is
    /// bounded by the part of the text those tokens come from (plus one chunk), however long
    /// the text: it is normalised and split a chunk at a time, and each special token is
    /// searched for again only once the text before its last match is used up.
    func encode(_ text: String, maxTokens: Int) -> [Int32] {
        var ids: [Int32] = [classify]
        let budget = maxTokens - 1
        var specials = SpecialTokenFinder(tokens: specialTokens)
        var position = text.startIndex
        while position < text.endIndex, ids.count < budget {
            let next = specials.first(in: text, from: position)
            appendWords(of: text[position..<(next?.range.lowerBound ?? text.endIndex)], to: &ids, budget: budget)
            guard let next, ids.count < budget else { break }
            ids.append(next.id)
            position = next.range.upperBound
        }
        if ids.count > budget { ids.removeLast(ids.count - budget) }
        ids.append(separator)
        return ids
    }

    /// Scalars normalised and split at a time: the text up to the first whitespace past this
    /// many (a cut there splits no word and no combining sequence).
    static let chunkScalars = 2_048

    /// Appends the pieces of the words of `segment` until `ids` holds `budget` tokens.
    private func appendWords(of segment: Substring, to ids: inout [Int32], budget: Int) {
        var rest = segment.unicodeScalars[...]
        while !rest.isEmpty, ids.count < budget {
            let end = WordPieceTokenizer.chunkEnd(rest)
            for word in WordPieceTokenizer.words(of: String(String.UnicodeScalarView(rest[..<end]))) {
                appendPieces(of: word, to: &ids)
                if ids.count >= budget { return }
            }
            rest = rest[end...]
        }
    }

    /// Where the chunk starting `scalars` ends: before the first whitespace after
    /// `chunkScalars` scalars; in a text without any for 4 times that, before the next
    /// scalar that starts a character (a word that long is [UNK] whole or cut in two).
    static func chunkEnd(_ scalars: Substring.UnicodeScalarView.SubSequence) -> Substring.UnicodeScalarView.Index {
        guard let start = scalars.index(scalars.startIndex, offsetBy: chunkScalars, limitedBy: scalars.endIndex) else {
            return scalars.endIndex
        }
        var index = start, looked = 0
        while index < scalars.endIndex {
            let scalar = scalars[index]
            if isWhitespace(scalar) || (looked >= 3 * chunkScalars && scalar.properties.canonicalCombiningClass == .notReordered) {
                return index
            }
            looked += 1
            index = scalars.index(after: index)
        }
        return index
    }

    /// Greedy longest-match-first: a word with a part no piece matches becomes [UNK] whole.
    private func appendPieces(of word: [Unicode.Scalar], to ids: inout [Int32]) {
        guard word.count <= WordPieceTokenizer.maxWordScalars else {
            ids.append(unknown)
            return
        }
        let mark = ids.count
        var start = 0
        while start < word.count {
            var end = word.count
            var piece: Int32?
            while start < end {
                var candidate = start > 0 ? "##" : ""
                candidate.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = vocabulary[candidate] {
                    piece = id
                    break
                }
                end -= 1
            }
            guard let piece else {
                ids.removeLast(ids.count - mark)
                ids.append(unknown)
                return
            }
            ids.append(piece)
            start = end
        }
    }

    /// The normalized text cut into words: runs of non-space, non-punctuation characters,
    /// and each punctuation character on its own.
    static func words(of text: String) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        func flush() {
            if !current.isEmpty { words.append(current) }
            current.removeAll(keepingCapacity: true)
        }
        for scalar in normalize(text) {
            if isWhitespace(scalar) {
                flush()
            } else if isPunctuation(scalar) {
                flush()
                words.append([scalar])
            } else {
                current.append(scalar)
            }
        }
        flush()
        return words
    }

    /// Clean text, space out CJK ideographs, strip accents (NFD, drop nonspacing marks),
    /// then lowercase character by character, in that order, as the reference does.
    static func normalize(_ text: String) -> [Unicode.Scalar] {
        var cleaned = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.value == 0 || scalar.value == 0xFFFD || isControl(scalar) { continue }
            if isWhitespace(scalar) {
                cleaned.append(" ")
            } else if isChineseIdeograph(scalar) {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(cleaned.count)
        for scalar in String(cleaned).decomposedStringWithCanonicalMapping.unicodeScalars
        where scalar.properties.generalCategory != .nonspacingMark {
            if scalar.properties.changesWhenLowercased {
                result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else {
                result.append(scalar)
            }
        }
        return result
    }

    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s == "\t" || s == "\n" || s == "\r" || s.properties.isWhitespace
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII, let byte = UInt8(exactly: s.value) {
            if (33...47).contains(byte) || (58...64).contains(byte) || (91...96).contains(byte) || (123...126).contains(byte) { return true }
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .closePunctuation, .finalPunctuation,
             .initialPunctuation, .otherPunctuation, .openPunctuation: return true
        default: return false
        }
    }

    static func isChineseIdeograph(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }
}

/// The next special token written in a text, each searched for from the current position
/// only when its previous match lies behind it: so each token's searches cover the text once.
private struct SpecialTokenFinder {
    let tokens: [(text: String, id: Int32)]
    /// Per token: its next match at or after the last position asked about; nil: none left.
    private var matches: [Range<String.Index>?]
    private var searched: [Bool]

    init(tokens: [(text: String, id: Int32)]) {
        self.tokens = tokens
        matches = Array(repeating: nil, count: tokens.count)
        searched = Array(repeating: false, count: tokens.count)
    }

    mutating func first(in text: String, from position: String.Index) -> (range: Range<String.Index>, id: Int32)? {
        var best: (range: Range<String.Index>, id: Int32)?
        for i in tokens.indices {
            if !searched[i] || (matches[i].map { $0.lowerBound < position } ?? false) {
                matches[i] = text[position...].range(of: tokens[i].text)
                searched[i] = true
            }
            if let match = matches[i], best.map({ match.lowerBound < $0.range.lowerBound }) ?? true {
                best = (match, tokens[i].id)
            }
        }
        return best
    }
}
