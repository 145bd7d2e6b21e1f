import Foundation
import TestSupport
import XCTest

/// `--filter` of search and eval: a bad filter is a usage error naming its part, before any
/// index is opened.
final class FilterOptionTests: XCTestCase {
    func testABadFilterIsAUsageErrorNamingItsPart() throws {
        let target = ["--index", "none", "--data", scratchFolder(self)]
        let cases: [([String], String)] = [
            (["search"] + target + ["--filter", #"{"field": "n", "range": {"gte": null}}"#, "q"],
             #"field "--filter.range.gte": must be a number or a string, got null"#),
            (["search"] + target + ["--filter", #"{"field": "ext", "eq": "md""#, "q"], #"field "--filter": is not JSON"#),
            (["eval"] + target + ["--queries", "q.jsonl", "--filter", #"{"or": []}"#], #"field "--filter.or": must hold 1 to 64 filters"#),
        ]
        for (arguments, words) in cases {
            let run = try mrl(arguments, timeout: 30)
            XCTAssertEqual(run.status, 64, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(words), "\(run.stderr) should say \(words)")
        }
    }
}
