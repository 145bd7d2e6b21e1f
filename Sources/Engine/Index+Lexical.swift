import Foundation
import Search
import Store

/// What a lexical search read: the query's distinct terms and the postings of them.
public struct LexicalCost: Sendable, Equatable {
    public var terms: Int
    public var postings: Int

    public var json: JSON { ["terms": JSON(terms), "postings": JSON(postings)] }
}

extension Index {
    /// BM25's term-frequency saturation and length normalisation (the usual values).
    static let bm25K1 = 1.2, bm25B = 0.75
    /// The most distinct terms a query looks up (a pasted page must not read every posting list).
    static let maxQueryTerms = 256

    /// The `k` rows of the best BM25 score for `text`'s terms (each distinct term once; idf as
    /// Lucene's, `ln(1 + (N - df + 0.5) / (df + 0.5))`), only among `rows` when given; the
    /// corpus figures are the whole index's either way. Past `deadline` (checked before each
    /// term after the first) it ranks by the terms read so far, `partial`. Throws
    /// `invalidRequest` naming `mode` when the index has no lexical index yet.
    func lexicalRanking(_ text: String, k: Int, rows: RowSet? = nil, snapshot: Snapshot,
                        deadline: DispatchTime? = nil) throws -> (hits: [Hit], cost: LexicalCost, partial: Bool) {
        guard let lexical = try snapshot.lexical() else {
            throw EngineError.invalidRequest(field: "mode", message: "index \"\(name)\" has no lexical index yet: it is built when the index is next written (`mrl index`, or any write through the daemon)")
        }
        let terms = Array(Set(LexicalTokenizer.terms(text))).sorted().prefix(Index.maxQueryTerms)
        let documents = Double(lexical.statistics.documents), averageLength = lexical.statistics.averageLength
        let (k1, b) = (Index.bm25K1, Index.bm25B)
        var scores: [UInt32: Double] = [:], postings = 0, read = 0
        for term in terms {
            if read > 0, let deadline, DispatchTime.now() >= deadline { break }
            read += 1
            var matches: [(row: UInt32, count: UInt32)] = []
            try lexical.forEachPosting(of: term) { matches.append(($0, $1)) }
            postings += matches.count
            let frequency = Double(matches.count)
            let idf = log(1 + (documents - frequency + 0.5) / (frequency + 0.5))
            for (row, count) in matches where rows?.contains(row) ?? true {
                let tf = Double(count), length = Double(lexical.length(of: row))
                scores[row, default: 0] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / averageLength))
            }
        }
        var top = TopK(k: k)
        for (row, score) in scores { top.offer(Hit(id: row, score: Float(score))) }
        return (top.sorted(), LexicalCost(terms: read, postings: postings), read < terms.count)
    }
}
