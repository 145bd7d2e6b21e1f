import Foundation
import TestSupport
import XCTest

/// `mrl index` fitting a head by itself, `mrl head` changing it, and `mrl eval` measuring
/// quality by prefix, against the real binary.
final class HeadEvalCommandTests: XCTestCase {
    func testIndexFitsAHeadThenHeadAndEvalWork() throws {
        let dir = scratchFolder(self)
        writeCorpus(dir + "/docs.jsonl", count: 2_100, dims: 48)
        let indexed = try mrl(["index", "--data", dir, "--index", "t", dir + "/docs.jsonl"])
        XCTAssertEqual(indexed.status, 0, indexed.stderr)
        XCTAssertTrue(indexed.stdout.contains("t: head is now pca (v1), fitted on 2,100 of 2,100 documents"), indexed.stdout)
        let info = try json(try mrl(["info", "--data", dir, "--index", "t", "--json"]).stdout)
        XCTAssertEqual((info["head"] as? [String: Any])?["kind"] as? String, "pca")

        var lines = (0..<50).map { n in
            #"{"relevant_id": "c\#(n)", "vector": [\#(vector(n, dims: 48).map { "\($0)" }.joined(separator: ","))]}"#
        }
        lines.append(#"{"relevant_id": "not-indexed", "vector": [\#(vector(7, dims: 48).map { "\($0)" }.joined(separator: ","))]}"#)
        let queries = dir + "/queries.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: queries, atomically: true, encoding: .utf8)
        let eval = try mrl(["eval", "--data", dir, "--index", "t", "--queries", queries, "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let report = try json(eval.stdout)
        XCTAssertEqual(report["queries"] as? Int, 50)
        XCTAssertEqual(report["missing_relevant"] as? Int, 1, "an id not in the index is counted, not scored")
        let byDims = try XCTUnwrap(report["by_dims"] as? [[String: Any]])
        XCTAssertEqual(byDims.map { $0["dims"] as? Int }, [32, 48])
        XCTAssertEqual(byDims.last?["mrr_at_10"] as? Double, 1, "a document's own vector finds it first at full dims")
        let table = try mrl(["eval", "--data", dir, "--index", "t", "--queries", queries, "--dims", "48"])
        XCTAssertTrue(table.stdout.contains("head pca v1"), table.stdout)
        XCTAssertTrue(table.stdout.contains("1 queries skipped: their relevant id is not in the index (e.g. not-indexed)"), table.stdout)

        let none = try mrl(["head", "--data", dir, "--index", "t", "--kind", "none"])
        XCTAssertEqual(none.status, 0, none.stderr)
        XCTAssertTrue(none.stdout.contains("t: head is now none (v2)"), none.stdout)
        let again = try mrl(["index", "--data", dir, "--index", "t", dir + "/docs.jsonl"])
        XCTAssertFalse(again.stdout.contains("head is now"), "a head chosen by hand is not refitted: \(again.stdout)")
    }

    func testBadQueriesFileNamesLineAndField() throws {
        let dir = scratchFolder(self)
        writeCorpus(dir + "/docs.jsonl", count: 10, dims: 16)
        XCTAssertEqual(try mrl(["index", "--data", dir, "--index", "t", dir + "/docs.jsonl"]).status, 0)
        let queries = dir + "/q.jsonl"
        let v = "[1" + String(repeating: ",0", count: 15) + "]"
        try #"{"relevant_id": "c1", "vector": \#(v)}\#n{"vector": \#(v)}\#n"#
            .write(toFile: queries, atomically: true, encoding: .utf8)
        let run = try mrl(["eval", "--data", dir, "--index", "t", "--queries", queries])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains(#"\#(queries):2: field "relevant_id" is missing"#), run.stderr)
        let tooFew = try mrl(["head", "--data", dir, "--index", "t", "--kind", "pca"])
        XCTAssertNotEqual(tooFew.status, 0)
        XCTAssertTrue(tooFew.stderr.contains("needs at least 16 documents"), tooFew.stderr)
    }

    /// The shards of a sharded index share one head: saved from one index, installed by
    /// `mrl index --head-from` in another before its first write, and never refitted there.
    func testSavedHeadIsInstalledByIndexHeadFrom() throws {
        let dir = scratchFolder(self)
        writeCorpus(dir + "/docs.jsonl", count: 2_100, dims: 48)
        XCTAssertEqual(try mrl(["index", "--data", dir, "--index", "a", dir + "/docs.jsonl"]).status, 0)
        let saved = try mrl(["head", "--data", dir, "--index", "a", "--save", dir + "/head.json"])
        XCTAssertEqual(saved.status, 0, saved.stderr)

        let shard = try mrl(["index", "--data", dir, "--index", "b", "--head-from", dir + "/head.json", dir + "/docs.jsonl"])
        XCTAssertEqual(shard.status, 0, shard.stderr)
        XCTAssertTrue(shard.stderr.contains("b: installed the pca head of \(dir)/head.json (v1)"), shard.stderr)
        XCTAssertFalse(shard.stdout.contains("head is now"), "an installed head is not refitted: \(shard.stdout)")
        let written = try mrl(["head", "--data", dir, "--index", "b", "--save", "-"])
        XCTAssertEqual(written.stdout, try String(contentsOfFile: dir + "/head.json", encoding: .utf8))
        let again = try mrl(["index", "--data", dir, "--index", "b", "--head-from", dir + "/head.json", dir + "/docs.jsonl"])
        XCTAssertFalse(again.stderr.contains("installed"), "the same head is not installed twice: \(again.stderr)")

        let both = try mrl(["index", "--data", dir, "--index", "b", "--head", "pca", "--head-from", dir + "/head.json", dir + "/docs.jsonl"])
        XCTAssertTrue(both.stderr.contains("not both"), both.stderr)
        let notAHead = try mrl(["head", "--data", dir, "--index", "b", "--from", dir + "/docs.jsonl"])
        XCTAssertNotEqual(notAHead.status, 0)
        XCTAssertTrue(notAHead.stderr.contains("\(dir)/docs.jsonl: it is not JSON"), notAHead.stderr)
        let none = try mrl(["head", "--data", dir, "--index", "b"])
        XCTAssertTrue(none.stderr.contains("give one of --kind"), none.stderr)
    }
}
