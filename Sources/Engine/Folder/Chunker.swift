import Foundation

/// A piece of a long text that the model reads whole.
public struct Chunk: Sendable, Equatable {
    public var text: String
    /// Where it is in the text as read: bytes [start, end) and lines first...last (from 1).
    public var bytes: Range<Int>
    public var lines: ClosedRange<Int>
    public var tokens: Int
}

/// Cuts a text, fed line by line (so a 2 GB log needs no more memory than a chunk), into
/// chunks of at most `maxTokens` tokens, at paragraph boundaries where it can, else at
/// line, then sentence boundaries (words only inside an over-long sentence). Each chunk
/// after the first starts with the last sentences of the one before, up to `overlap` tokens,
/// so a passage cut in two is still found whole in one of them.
///
/// ```swift
/// var chunker = Chunker(maxTokens: 254, overlap: 32, count: encoder.tokenCount)
/// for (n, line) in lines.enumerated() { chunker.add(line: line, number: n + 1, offset: offsets[n]) }
/// let chunks = chunker.finish()
/// ```
public struct Chunker {
    /// A sentence (or part of one) and what separates it from the one before.
    struct Unit {
        enum Break { case none, line, paragraph }
        var text: String
        var tokens: Int
        var bytes: Range<Int>
        var line: Int
        var before: Break
    }

    public let maxTokens: Int
    public let overlap: Int
    private let count: (String) -> Int
    private var pending: [Unit] = []
    private var pendingTokens = 0
    private var ready: [Chunk] = []
    private var nextBreak = Unit.Break.none

    public init(maxTokens: Int, overlap: Int, count: @escaping (String) -> Int) {
        precondition(maxTokens > 0 && overlap >= 0 && overlap < maxTokens)
        self.maxTokens = maxTokens
        self.overlap = overlap
        self.count = count
    }

    /// Adds line `number`, which starts at byte `offset` of the text.
    public mutating func add(line: String, number: Int, offset: Int) {
        if line.allSatisfy(\.isWhitespace) {
            if !pending.isEmpty || !ready.isEmpty { nextBreak = .paragraph }
            return
        }
        for (i, sentence) in Chunker.sentences(of: line).enumerated() {
            let start = offset + line.utf8.distance(from: line.utf8.startIndex, to: sentence.startIndex.samePosition(in: line.utf8)!)
            let text = String(sentence)
            let before = i == 0 ? (pending.isEmpty ? .none : (nextBreak == .paragraph ? .paragraph : .line)) : Unit.Break.none
            for (j, piece) in pieces(of: text).enumerated() {
                push(Unit(text: piece.text, tokens: piece.tokens, bytes: (start + piece.offset)..<(start + piece.offset + piece.text.utf8.count),
                          line: number, before: j == 0 ? before : .none))
            }
        }
        nextBreak = .line
    }

    /// Chunks completed so far (taking them frees their memory).
    public mutating func take() -> [Chunk] {
        defer { ready.removeAll() }
        return ready
    }

    /// Ends the text: the last chunk, with any not yet taken.
    public mutating func finish() -> [Chunk] {
        if !pending.isEmpty { emit(pending.count, before: 0) }
        return take()
    }

    private mutating func push(_ unit: Unit) {
        while !pending.isEmpty, pendingTokens + unit.tokens > maxTokens {
            emit(breakPoint(), before: unit.tokens)
        }
        pending.append(unit)
        pendingTokens += unit.tokens
    }

    /// How many pending units the next chunk takes: up to the last paragraph break that
    /// leaves it at least half full, else the last line break that does, else all.
    private func breakPoint() -> Int {
        var tokens = 0, paragraph: Int?, line: Int?
        for (i, unit) in pending.enumerated() {
            if i > 0, tokens >= maxTokens / 2 {
                if unit.before == .paragraph { paragraph = i }
                if unit.before != .none { line = i }
            }
            tokens += unit.tokens
        }
        return paragraph ?? line ?? pending.count
    }

    /// Makes a chunk of the first `n` pending units; the rest wait, after an overlap of the
    /// chunk's last sentences if it leaves room for the rest and the `incoming` tokens (else
    /// the same overlap would be emitted again and again).
    private mutating func emit(_ n: Int, before incoming: Int) {
        let taken = pending[..<n]
        var text = ""
        for unit in taken {
            if !text.isEmpty { text += unit.before == .paragraph ? "\n\n" : unit.before == .line ? "\n" : "" }
            text += unit.text
        }
        ready.append(Chunk(text: text, bytes: taken.first!.bytes.lowerBound..<taken.last!.bytes.upperBound,
                           lines: taken.first!.line...taken.last!.line, tokens: taken.reduce(0) { $0 + $1.tokens }))
        var carried: [Unit] = [], carriedTokens = 0
        let rest = pending[n...]
        let restTokens = rest.reduce(0) { $0 + $1.tokens }
        for unit in taken.reversed() {
            guard carriedTokens + unit.tokens <= overlap, carriedTokens + unit.tokens + restTokens + incoming <= maxTokens else { break }
            carried.insert(unit, at: 0)
            carriedTokens += unit.tokens
        }
        if !carried.isEmpty { carried[0].before = .none }
        pending = carried + rest
        pendingTokens = carriedTokens + restTokens
    }

    /// A sentence cut into pieces of at most `maxTokens` tokens at word boundaries (one piece
    /// when it fits), each with its byte offset in the sentence.
    private func pieces(of sentence: String) -> [(text: String, tokens: Int, offset: Int)] {
        let tokens = count(sentence)
        guard tokens > maxTokens else { return [(sentence, tokens, 0)] }
        var result: [(String, Int, Int)] = []
        var current = "", currentTokens = 0, currentOffset = 0, offset = 0
        for word in sentence.split(separator: " ", omittingEmptySubsequences: false) {
            let piece = String(word) + " "
            var t = count(piece)
            if t > maxTokens { t = maxTokens }  // one unbreakable word: the model truncates it
            if currentTokens + t > maxTokens, !current.isEmpty {
                result.append((String(current.dropLast()), currentTokens, currentOffset))
                current = ""
                currentTokens = 0
                currentOffset = offset
            }
            current += piece
            currentTokens += t
            offset += piece.utf8.count
        }
        if !current.isEmpty { result.append((String(current.dropLast()), currentTokens, currentOffset)) }
        return result
    }

    /// A line cut after each '.', '!' or '?' followed by a space (the space stays with the
    /// sentence before it).
    static func sentences(of line: String) -> [Substring] {
        var result: [Substring] = []
        var start = line.startIndex
        var i = line.startIndex
        while i < line.endIndex {
            let next = line.index(after: i)
            if ".!?".contains(line[i]), next < line.endIndex, line[next] == " " {
                result.append(line[start...next])
                start = line.index(after: next)
                i = start
                continue
            }
            i = next
        }
        if start < line.endIndex { result.append(line[start...]) }
        return result
    }
}
