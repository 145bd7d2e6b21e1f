import Engine
import Foundation
import Search
import Store
import XCTest

/// BM25 over the lexical index against a brute-force BM25 over the documents' own texts.
final class LexicalSearchTests: XCTestCase {
    private static let vocabulary = ["zlib", "lzss", "python3-lzss", "EventLoopFuture.flatMap", "compression", "library",
                                     "the", "a", "of", "game", "strategy", "ERR_SSL_PROTOCOL", "font", "HTTPServer",
                                     "kernel", "driver", "Ärger", "全文", "tiling", "window", "manager", "viewer", "pdf"]

    /// The texts the index should hold: id → text (no meta, so what is indexed is id and text).
    private var texts: [String: String] = [:]
    private var random = SplitMix64(seed: 20)

    private func randomText() -> String {
        let length = Int(random.next() % 30)
        return (0..<length).map { _ in Self.vocabulary[Int(random.next() % UInt64(Self.vocabulary.count))] }.joined(separator: " ")
    }

    private func upsert(_ ids: [String], into index: Index) throws {
        var batch: [DocumentInput] = []
        for id in ids {
            texts[id] = randomText()
            batch.append(DocumentInput(id: id, text: texts[id] ?? "", vector: [1, Float(batch.count % 7), 0, 1]))
        }
        _ = try index.upsert(batch)
    }

    /// BM25 as `Index.lexicalRanking` documents it, over `documents` (id → terms).
    private func bruteForce(_ query: String, _ documents: [String: [String]]) -> [String: Double] {
        let terms = Set(LexicalTokenizer.terms(query)).sorted()
        let n = Double(documents.count)
        let average = max(Double(documents.values.reduce(0) { $0 + $1.count }) / max(n, 1), 1)
        var scores: [String: Double] = [:]
        for term in terms {
            let holding = documents.filter { $0.value.contains(term) }
            let df = Double(holding.count)
            let idf = log(1 + (n - df + 0.5) / (df + 0.5))
            for (id, words) in holding {
                let tf = Double(words.filter { $0 == term }.count), length = Double(words.count)
                scores[id, default: 0] += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / average))
            }
        }
        return scores
    }

    private func checkAgainstBruteForce(_ index: Index, queries: Int = 25, file: StaticString = #filePath, line: UInt = #line) throws {
        let documents = Dictionary(uniqueKeysWithValues: texts.map { id, text in (id, LexicalTokenizer.terms(id + "\n" + text)) })
        for _ in 0..<queries {
            let query = (0..<(1 + Int(random.next() % 3))).map { _ in Self.vocabulary[Int(random.next() % UInt64(Self.vocabulary.count))] }.joined(separator: " ")
            var request = SearchRequest(query: query, k: 10)
            request.mode = .lexical
            let result = try index.search(request)
            let expected = bruteForce(query, documents)
            let ranked = expected.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
            XCTAssertEqual(result.hits.count, min(10, expected.count), "query \(query)", file: file, line: line)
            for (rank, hit) in result.hits.enumerated() {
                // Same score at each rank; and each hit scores what brute force gives it (ties may order differently).
                XCTAssertEqual(Double(hit.score), ranked[rank].value, accuracy: 1e-4 * max(1, ranked[rank].value), "query \(query) rank \(rank)", file: file, line: line)
                XCTAssertEqual(Double(hit.score), expected[hit.id] ?? -1, accuracy: 1e-4 * max(1, ranked[rank].value), "query \(query) hit \(hit.id)", file: file, line: line)
            }
            XCTAssertEqual(result.mode, .lexical)
            XCTAssertEqual(result.lexicalCost?.terms, Set(LexicalTokenizer.terms(query)).count)
        }
    }

    func testBM25MatchesBruteForceThroughUpsertsChangesDeletesAndReopening() throws {
        let data = temporaryData(self)
        do {
            let index = try Index.create(name: "words", in: data, dimensions: 4, model: nil)
            // 5,000 rows span two postings blocks.
            let ids = (0..<5_000).map { "doc-\($0)" }
            for batch in stride(from: 0, to: ids.count, by: 500) { try upsert(Array(ids[batch..<batch + 500]), into: index) }
            try checkAgainstBruteForce(index)
            // Changed texts, deletes, and new documents in the rows the deletes freed.
            try upsert((0..<300).map { _ in ids[Int(random.next() % 5_000)] }.uniqued(), into: index)
            let deleted = (0..<200).map { _ in ids[Int(random.next() % 5_000)] }.uniqued()
            _ = try index.delete(ids: deleted)
            for id in deleted { texts[id] = nil }
            try upsert((0..<150).map { "new-\($0)" }, into: index)
            try checkAgainstBruteForce(index)
        }
        try checkAgainstBruteForce(try Index.open(name: "words", in: data, mode: .read))
    }

    /// A filter restricts the ranking to its rows; the scores stay the whole corpus's.
    func testAFilterRestrictsTheLexicalRankingNotItsScores() throws {
        let index = try Index.create(name: "f", in: temporaryData(self), dimensions: 4, model: nil)
        _ = try index.upsert((0..<60).map { (n: Int) -> DocumentInput in
            let text = n % 3 == 0 ? "zlib zlib inflate" : "zlib deflate \(n)"
            let meta = n % 2 == 0 ? #"{"lang": "py"}"# : #"{"lang": "c"}"#
            return DocumentInput(id: "d\(n)", text: text, meta: meta, vector: [1, Float(n), 0, 0])
        })
        var request = SearchRequest(query: "zlib inflate", k: 100)
        request.mode = .lexical
        let all = try index.search(request)
        request.filter = try Filter(text: #"{"field": "lang", "eq": "py"}"#)
        let filtered = try index.search(request)
        XCTAssertEqual(filtered.hits.count, 30)
        let scores = Dictionary(uniqueKeysWithValues: all.hits.map { ($0.id, $0.score) })
        for hit in filtered.hits {
            XCTAssertEqual(Int(hit.id.dropFirst()).map { $0 % 2 }, 0, hit.id)
            XCTAssertEqual(hit.score, scores[hit.id])
        }
        XCTAssertEqual(filtered.hits.map(\.id), all.hits.map(\.id).filter { Int($0.dropFirst()).map { $0 % 2 } == 0 })
    }

    /// Past `deadline_ms` the lexical stage ranks by the terms it has read (at least one) and
    /// says the answer is partial.
    func testADeadlineCutsTheLexicalStageShort() throws {
        let index = try Index.create(name: "d", in: temporaryData(self), dimensions: 4, model: nil)
        _ = try index.upsert((0..<40).map { DocumentInput(id: "d\($0)", text: $0 % 2 == 0 ? "zlib inflate" : "deflate zlib \($0)", vector: [1, Float($0), 0, 0]) })
        var request = SearchRequest(query: "zlib inflate deflate", k: 40)
        request.mode = .lexical
        let whole = try index.search(request)
        XCTAssertEqual([whole.partial ? 1 : 0, whole.lexicalCost?.terms ?? 0, whole.hits.count], [0, 3, 40])
        request.deadlineMs = 1e-6
        let cut = try index.search(request)
        XCTAssertTrue(cut.partial)
        XCTAssertEqual(cut.lexicalCost?.terms, 1, "the first term, then the deadline")
        XCTAssertEqual(Set(cut.hits.map(\.id)), Set(stride(from: 1, to: 40, by: 2).map { "d\($0)" }), "ranked by the first term read, \"deflate\"")
    }

    func testLexicalAndHybridNeedATextQuery() throws {
        let index = try Index.create(name: "v", in: temporaryData(self), dimensions: 4, model: nil)
        try upsert(["a", "b"], into: index)
        for mode in [SearchMode.lexical, .hybrid] {
            var request = SearchRequest(vector: [1, 0, 0, 0], k: 1)
            request.mode = mode
            XCTAssertThrowsError(try index.search(request)) {
                XCTAssertEqual("\($0)", #"field "mode": "\#(mode.rawValue)" needs a text "query": vector queries are semantic only"#)
            }
        }
        var vectorPlan = SearchRequest(query: "a", k: 1, dims: 2)
        vectorPlan.mode = .lexical
        XCTAssertThrowsError(try index.search(vectorPlan)) {
            XCTAssertTrue("\($0)".hasPrefix(#"field "mode": "lexical" ranks by words, no vectors"#), "\($0)")
        }
    }
}

private extension Array where Element: Hashable {
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
