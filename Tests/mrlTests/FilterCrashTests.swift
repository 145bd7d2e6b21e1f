import Engine
import Foundation
import TestSupport
import XCTest

/// The filter fields commit with their documents: a folder run killed at random moments and
/// re-run matches filters as one clean run does (searched lexically, which takes a filter
/// over the same rows `Index.matchingRows` gives the vector strategies).
final class FilterCrashTests: XCTestCase {
    func testAKilledFolderRunMatchesFiltersAsACleanRun() throws {
        let folder = scratchFolder(self), docs = folder + "/docs"
        try FileManager.default.createDirectory(atPath: docs + "/sub", withIntermediateDirectories: true)
        for n in 0..<16 {
            let text = (0..<3).map { "File \(n), paragraph \($0): notes on topic\(n * 7 + $0)." }
            try text.joined(separator: "\n\n").write(toFile: docs + (n % 2 == 0 ? "/sub" : "") + "/f\(n)." + (n % 3 == 0 ? "md" : "txt"),
                                                     atomically: true, encoding: .utf8)
        }
        let (killed, clean) = try indexKilledAndClean(docs, in: folder)
        func matches(_ data: String, _ filter: String) throws -> [String] {
            let run = try mrl(["search", "--json", "--mode", "lexical", "-k", "100", "--filter", filter, "--data", data, "--index", "k", "notes"])
            XCTAssertEqual(run.status, 0, run.stderr)
            return (try JSON.parse(run.stdout)["hits"]?.array ?? []).compactMap { $0["id"]?.string }.sorted()
        }
        for filter in [#"{"field": "ext", "eq": "md"}"#, #"{"field": "path", "glob": "**/sub/*.txt"}"#,
                       #"{"not": {"field": "path", "glob": "**/sub/**"}}"#, #"{"and": [{"field": "mtime", "range": {"gt": 0}}, {"field": "ext", "in": ["txt"]}]}"#] {
            let clean = try matches(clean, filter)
            XCTAssertFalse(clean.isEmpty, filter)
            XCTAssertEqual(try matches(killed, filter), clean, filter)
        }
    }
}
