import Foundation

/// The part of a hit's text around the first word of the query it contains, on one line,
/// with the query's words in bold on a terminal.
struct Snippet {
    let text: String
    let query: String

    /// Words of the query worth marking: three letters or more.
    private var words: [String] {
        query.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init).filter { $0.count >= 3 }
    }

    func render(width: Int, highlight: Bool) -> String {
        let flat = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let lower = flat.lowercased()
        let first = words.compactMap { lower.range(of: $0)?.lowerBound }.min()
        var start = flat.startIndex
        if let first, flat.distance(from: flat.startIndex, to: first) > width / 3 {
            start = flat.index(first, offsetBy: -(width / 3))
        }
        let end = flat.index(start, offsetBy: width, limitedBy: flat.endIndex) ?? flat.endIndex
        var window = String(flat[start..<end])
        if start > flat.startIndex { window = "…" + window }
        if end < flat.endIndex { window += "…" }
        guard highlight else { return window }
        for word in words {
            window = window.replacingOccurrences(of: word, with: "\u{1B}[1m\(word)\u{1B}[0m", options: .caseInsensitive)
        }
        return window
    }
}
