import Engine
import Foundation
import Store
import XCTest

final class IngestTests: XCTestCase {
    private func ingest(_ path: String, into data: DataDirectory, skipBad: Bool = false, batchSize: Int = 2) throws -> Ingest.Summary {
        var options = Ingest.Options()
        options.skipBad = skipBad
        options.batchSize = batchSize
        options.maxLineBytes = 1 << 20
        return try Ingest(path: path, options: options).run(openIndex: { first in
            try (try? Index.open(name: "t", in: data, mode: .write))
                ?? (Index.create(name: "t", in: data, dimensions: first.vector!.count, model: nil))
        }, progress: { _ in })
    }

    private func count(_ data: DataDirectory) throws -> Int {
        try Index.open(name: "t", in: data, mode: .read).info().documents
    }

    /// Each bad line stops the ingest with file:line and the field; earlier batches stay.
    func testBadLinesNameFileLineAndField() throws {
        let cases: [(String, String)] = [
            ("{not json", "is not valid JSON"),
            (#"["an", "array"]"#, "is not a JSON object"),
            (#"{"text": "no id", "vector": [1, 0, 0, 0]}"#, #"field "id" is missing"#),
            (#"{"id": "x"}"#, #"field "text" is missing: each document needs "text" or "vector""#),
            (#"{"id": "x", "text": 5}"#, #"field "text" must be a string"#),
            (#"{"id": "x", "vector": [1, 0, 0]}"#, #"field "vector" has 3 dimensions, index "t" has 4"#),
            (#"{"id": "x", "vector": [1, 0, "a", 0]}"#, #"field "vector" element 2 is not a number"#),
            (#"{"id": "x", "vector": [1, 0, true, 0]}"#, #"field "vector" element 2 is not a number"#),
            (#"{"id": "x", "vector": [1, 0, NaN, 0]}"#, "NaN and Infinity are not JSON numbers"),
            (#"{"id": "x", "vector": [1, 0, 3.5e38, 0]}"#, "element 2 is not finite"),
            (#"{"id": "x", "vector": [1, 0, 0, 0], "meta": [1]}"#, #"field "meta" must be a JSON object"#),
        ]
        for (bad, expected) in cases {
            let data = temporaryData(self)
            let path = inputFile(data, "docs.jsonl", lines: [line("a"), line("b"), line("c"), bad, line("d")])
            XCTAssertThrowsError(try ingest(path, into: data), bad) { error in
                XCTAssertTrue("\(error)".hasPrefix("\(path):4: "), "\(error)")
                XCTAssertTrue("\(error)".contains(expected), "\(error) should say \(expected)")
            }
            XCTAssertEqual(try count(data), 2, "the committed batch (a, b) stays; nothing of the failed one is written")
        }
    }

    func testExtraFieldsAreKeptAsMeta() throws {
        let data = temporaryData(self)
        let path = inputFile(data, "docs.jsonl", lines: [
            #"{"id": "a", "title": "Alpha", "vector": [1, 0, 0, 0], "meta": {"lang": "en", "title": "wins"}}"#,
            #"{"id": "b", "title": "Beta", "vector": [0, 1, 0, 0]}"#,
        ])
        _ = try ingest(path, into: data)
        let index = try Index.open(name: "t", in: data, mode: .read)
        XCTAssertEqual(try index.document(id: "a")?.meta, #"{"lang":"en","title":"wins"}"#)
        XCTAssertEqual(try index.document(id: "b")?.meta, #"{"title":"Beta"}"#)
    }

    func testInvalidUTF8IsNamed() throws {
        let data = temporaryData(self)
        let bad = Array(#"{"id": "x", "text": "caf"#.utf8) + [0xE9] + Array(#"", "vector": [1, 0, 0, 0]}"#.utf8)
        let path = inputFile(data, "latin1.jsonl", Array((line("a") + "\n").utf8) + bad + [0x0A])
        XCTAssertThrowsError(try ingest(path, into: data)) {
            XCTAssertEqual("\($0)", "\(path):2: is not valid UTF-8 (byte 25 of the line): re-encode the file as UTF-8")
        }
    }

    /// A line over the limit is rejected by number without being held in memory.
    func testHugeLineIsRejectedAndSkippable() throws {
        let data = temporaryData(self)
        let huge = #"{"id": "big", "text": ""# + String(repeating: "x", count: 3 << 20) + #"", "vector": [1, 0, 0, 0]}"#
        let path = inputFile(data, "huge.jsonl", lines: [line("a"), huge, line("b")])
        XCTAssertThrowsError(try ingest(path, into: data)) {
            XCTAssertTrue("\($0)".hasPrefix("\(path):2: is over the 1 MiB line limit"), "\($0)")
        }
        let summary = try ingest(path, into: data, skipBad: true)
        XCTAssertEqual(summary.skipped, 1)
        XCTAssertEqual(summary.totals.added, 2, "the first run stopped before a's batch was full: nothing was committed")
        XCTAssertEqual(try count(data), 2)
    }

    /// A queries file's over-long line is named by its own number, blank lines counted (it
    /// used to be the count of queries read plus one).
    func testQueriesFileNamesTheLineOfAnOverLongOne() throws {
        let data = temporaryData(self)
        let huge = #"{"query": ""# + String(repeating: "x", count: 17 << 20) + #""}"#
        let path = inputFile(data, "queries.jsonl", lines: [#"{"query": "a", "relevant_id": "a"}"#, "", huge])
        XCTAssertThrowsError(try KnownItemQuery.read(path: path)) {
            XCTAssertTrue("\($0)".hasPrefix("\(path):3: is over the 16 MiB line limit"), "\($0)")
        }
    }

    func testSkipBadReportsWhereAndGoesOn() throws {
        let data = temporaryData(self)
        let path = inputFile(data, "docs.jsonl", lines: [line("a"), "oops", "", line("b"), #"{"id": 7}"#, line("c")])
        let summary = try ingest(path, into: data, skipBad: true)
        XCTAssertEqual(summary.skipped, 2)
        XCTAssertEqual(summary.skippedErrors.map { "\($0)".components(separatedBy: ": ")[0] }, ["\(path):2", "\(path):5"])
        XCTAssertEqual(summary.totals.added, 3)
        XCTAssertEqual(summary.linesRead, 6)
    }

    func testGzipInputAndResumeSkipsUnchanged() throws {
        let data = temporaryData(self)
        let plain = inputFile(data, "docs.jsonl", lines: (0..<50).map { line("d\($0)", [1, Float($0), 0, 0]) })
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-k", plain]
        try gzip.run()
        gzip.waitUntilExit()
        let first = try ingest(plain + ".gz", into: data, batchSize: 7)
        XCTAssertEqual(first.totals.added, 50)
        let second = try ingest(plain, into: data, batchSize: 7)
        XCTAssertEqual(second.totals, { var r = WriteReport(); r.unchanged = 50; return r }())
    }

    func testTruncatedGzipIsAnError() throws {
        let data = temporaryData(self)
        let plain = inputFile(data, "docs.jsonl", lines: (0..<2000).map { line("d\($0)") })
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = [plain]
        try gzip.run()
        gzip.waitUntilExit()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: plain + ".gz"))
        let truncated = inputFile(data, "cut.jsonl.gz", Array(bytes.prefix(bytes.count / 2)))
        XCTAssertThrowsError(try ingest(truncated, into: data)) {
            XCTAssertTrue("\($0)".hasPrefix("cannot read \(truncated): compressed data is truncated"), "\($0)")
        }
    }

    func testMissingFileIsAnError() {
        let data = temporaryData(self)
        XCTAssertThrowsError(try ingest(data.path + "/nope.jsonl", into: data)) {
            XCTAssertEqual("\($0)", "cannot read \(data.path)/nope.jsonl: No such file or directory")
        }
    }
}
