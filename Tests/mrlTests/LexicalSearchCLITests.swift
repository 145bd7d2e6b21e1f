import Engine
import Foundation
import TestSupport
import XCTest

/// `mrl search --mode` on real data, the same whether the command opens the index itself or
/// goes through a daemon (LexicalSearchCLITests, LexicalSearchThroughDaemonTests).
extension CLIContract {
    /// The demo's complaint: "LZSS" found nothing useful by meaning. On the first 3,000 Debian
    /// packages and python3-lzss (with their MiniLM vectors), hybrid ranks python3-lzss in its
    /// top 3, lexical first.
    func hybridFindsAnIdentifierTheEmbeddingMisses() throws {
        let shared = "../shared/data/"
        guard FileManager.default.fileExists(atPath: shared + "minilm-debian-docs.f16.npy") else { throw XCTSkip("needs ../shared/data") }
        let dir = scratchFolder(test)
        try debianSample(rows: Array(0..<3_000) + [42_720], from: shared, to: dir + "/debian.jsonl")
        let at = try transport.at(dir) + ["--index", "debian"]
        let indexed = try mrl(["index"] + at + [dir + "/debian.jsonl"])
        XCTAssertEqual(indexed.status, 0, indexed.stderr)
        for (mode, within) in [("hybrid", 3), ("lexical", 1)] {
            let run = try mrl(["search", "--json", "--mode", mode, "-k", "10"] + at + ["LZSS"])
            XCTAssertEqual(run.status, 0, run.stderr)
            let answer = try JSON.parse(run.stdout)
            let ids = answer["hits"]?.array?.compactMap { $0["id"]?.string } ?? []
            XCTAssertTrue(ids.prefix(within).contains("python3-lzss"), "\(mode): \(ids)")
            XCTAssertEqual(answer["plan"]?["mode"]?.string, mode)
            XCTAssertEqual(answer["plan"]?["lexical"]?["terms"], 1)
        }
        // Known-item quality by mode (eval reads the index beside a daemon).
        try (#"{"query": "LZSS", "relevant_id": "python3-lzss"}"# + "\n" + #"{"query": "0ad", "relevant_id": "0ad"}"# + "\n")
            .write(toFile: dir + "/q.jsonl", atomically: true, encoding: .utf8)
        let eval = try mrl(["eval", "--json", "--mode", "semantic,lexical,hybrid", "--data", dir, "--index", "debian", "--queries", dir + "/q.jsonl"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let byMode = try JSON.parse(eval.stdout)["by_mode"]?.array ?? []
        XCTAssertEqual(byMode.compactMap { $0["label"]?.string }, ["semantic", "lexical", "hybrid"])
        XCTAssertEqual(byMode.dropFirst().first?["mrr_at_10"], 1, "lexical ranks both known items first")
    }

    /// Writes the Debian packages at `rows` (in file order) with their vectors as JSONL.
    private func debianSample(rows: [Int], from shared: String, to path: String) throws {
        let vectors = try NumpyMatrix(contentsOf: shared + "minilm-debian-docs.f16.npy")
        let reader = try LineReader(path: shared + "debian-packages.jsonl.gz")
        var wanted = Set(rows), out = "", row = 0
        while !wanted.isEmpty, let line = try reader.next() {
            defer { row += 1 }
            guard wanted.remove(row) != nil, case .text(_, let bytes) = line, case .object(var doc) = try JSON.parse(Array(bytes)) else { continue }
            doc["vector"] = .array(vectors.values[row * vectors.columns..<(row + 1) * vectors.columns].map(JSON.float))
            out += JSON.object(doc).serialized + "\n"
        }
        try out.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

final class LexicalSearchCLITests: XCTestCase {
    func testHybridFindsAnIdentifierTheEmbeddingMisses() throws { try CLIContract(self, .local).hybridFindsAnIdentifierTheEmbeddingMisses() }

    /// `mrl tune --queries` with labelled text queries on an index too small for a graph fits
    /// its hybrid fusion only: shown by tune and info, used by search, overridden by
    /// --fusion-weight, which is checked.
    func testTuneFitsTheHybridFusionOnLabelledQueries() throws {
        let dir = scratchFolder(self)
        let topics = ["a tiling window manager for X11", "a PDF viewer with annotations", "a zlib compression library",
                      "a strategy game set in space", "a font rendering engine", "a kernel driver for wifi cards"]
        let docs = (0..<24).map { n in #"{"id": "p\#(n)", "text": "\#(topics[n % topics.count]), release \#(n), codename zq\#(n)x"}"# }
        try (docs.joined(separator: "\n") + "\n").write(toFile: dir + "/docs.jsonl", atomically: true, encoding: .utf8)
        let queries = (0..<12).map { n in
            n % 2 == 0 ? #"{"query": "zq\#(n)x", "relevant_id": "p\#(n)"}"# : #"{"query": "\#(topics[n % topics.count])", "relevant_ids": ["p\#(n)", "p\#(n + 6)"]}"#
        }
        try (queries.joined(separator: "\n") + "\n").write(toFile: dir + "/q.jsonl", atomically: true, encoding: .utf8)
        let at = ["--data", dir, "--index", "small"]
        let indexed = try mrl(["index"] + at + [dir + "/docs.jsonl"])
        XCTAssertEqual(indexed.status, 0, indexed.stderr)
        let tuned = try mrl(["tune", "--json"] + at + ["--queries", dir + "/q.jsonl"])
        XCTAssertEqual(tuned.status, 0, tuned.stderr)
        let fusion = try JSON.parse(tuned.stdout)["fusion"]
        XCTAssertEqual(fusion?["queries"], 12)
        XCTAssertEqual(fusion?["halves"]?.array?.count, 2)
        XCTAssertNotNil(fusion?["held_out_mrr_at_10"]?["hybrid_fitted"]?.number)
        let info = try JSON.parse(try mrl(["info", "--json"] + at).stdout)
        XCTAssertEqual(info["fusion"]?["fusion"], fusion?["fusion"])
        XCTAssertTrue(info["description"]?["fusion"]?.string?.contains("fitted by `mrl tune` on 12 queries") == true, "\(info)")
        let searched = try JSON.parse(try mrl(["search", "--json"] + at + ["zq4x"]).stdout)
        XCTAssertEqual(searched["plan"]?["fusion"], fusion?["fusion"])
        let weighted = try JSON.parse(try mrl(["search", "--json", "--fusion-weight", "0.2"] + at + ["zq4x"]).stdout)
        XCTAssertEqual(weighted["plan"]?["fusion"]?["weight"], 0.2)
        for bad in [["--fusion-weight", "1.2"], ["--fusion-weight", "nan"], ["--fusion-weight", "0.5", "--mode", "lexical"]] {
            let refused = try mrl(["search"] + bad + at + ["zq4x"])
            XCTAssertNotEqual(refused.status, 0)
            XCTAssertTrue(refused.stderr.contains("--fusion-weight"), refused.stderr)
        }
        // Labelled queries none of whose documents are in the index are refused before any
        // measuring, and the fitted fusion stays.
        try #"{"query": "zq1x", "relevant_id": "gone1"}\#n{"query": "zq2x", "relevant_id": "gone2"}\#n"#
            .write(toFile: dir + "/absent.jsonl", atomically: true, encoding: .utf8)
        let absent = try mrl(["tune"] + at + ["--queries", dir + "/absent.jsonl"])
        XCTAssertNotEqual(absent.status, 0)
        XCTAssertTrue(absent.stderr.contains("whose relevant document is in the index: 0 of the 2 are"), absent.stderr)
        XCTAssertEqual(try JSON.parse(try mrl(["info", "--json"] + at).stdout)["fusion"]?["fusion"], fusion?["fusion"])
    }

    /// A folder run killed at random moments and re-run answers lexical searches as one clean
    /// run does: the lexical index commits with its documents.
    func testAKilledFolderRunAnswersLexicalSearchesAsACleanRun() throws {
        let folder = scratchFolder(self), docs = folder + "/docs"
        try FileManager.default.createDirectory(atPath: docs, withIntermediateDirectories: true)
        for n in 0..<16 {
            let text = (0..<3).map { "File \(n), paragraph \($0): notes on topic\(n * 7 + $0) and HTTPServer.listen\(n % 3)." }
            try text.joined(separator: "\n\n").write(toFile: docs + "/f\(n).txt", atomically: true, encoding: .utf8)
        }
        let (killed, clean) = try indexKilledAndClean(docs, in: folder)
        func answer(_ data: String, _ query: String) throws -> [String] {
            let run = try mrl(["search", "--json", "--mode", "lexical", "-k", "100", "--data", data, "--index", "k", query])
            XCTAssertEqual(run.status, 0, run.stderr)
            // Equal scores may come in either order: rows are numbered as the runs went.
            return (try JSON.parse(run.stdout)["hits"]?.array ?? []).map { "\($0["score"]?.number ?? -1) \($0["id"]?.string ?? "")" }.sorted()
        }
        for query in ["notes", "topic14", "server", "HTTPServer.listen1 paragraph", "f3.txt", "file 2"] {
            let clean = try answer(clean, query)
            XCTAssertFalse(clean.isEmpty, query)
            XCTAssertEqual(try answer(killed, query), clean, query)
        }
    }
}

final class LexicalSearchThroughDaemonTests: XCTestCase {
    func testHybridFindsAnIdentifierTheEmbeddingMisses() throws { try CLIContract(self, .daemon).hybridFindsAnIdentifierTheEmbeddingMisses() }
}
