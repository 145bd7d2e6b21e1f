import Engine
import Foundation
@testable import mrl
import Terminal
import TestSupport
import XCTest

/// Numeric options and environment variables at their edges (issue 16): each is refused
/// before any work, naming the option, never a trap or a daemon that waits forever.
final class OptionValuesTests: XCTestCase {
    private func assertRefused(_ arguments: [String], environment: [String: String] = [:], saying words: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let run = try mrl(arguments, environment: environment, timeout: 30)
        XCTAssertEqual(run.status, 64, "\(arguments) should be a usage error: \(run.stderr)", file: file, line: line)
        XCTAssertTrue(run.stderr.contains(words), "\(run.stderr) should say \(words)", file: file, line: line)
        XCTAssertFalse(run.stderr.contains("Fatal error"), run.stderr, file: file, line: line)
    }

    func testServeRefusesTimeoutsPastADayAndThreadsPastAThousand() throws {
        let socket = scratchFolder(self) + "/s.sock"
        for (option, value) in [("--idle-timeout", "1e300"), ("--request-timeout", "nan"), ("--idle-timeout", "0"),
                                ("--index-idle-timeout", "1e300"), ("--batch-wait-ms", "1e300"),
                                ("--threads", "9223372036854775807")] {
            try assertRefused(["serve", "--socket", socket, option, value], saying: "\(option) must be from")
        }
    }

    func testSizesPastAPetabyteAreRefused() throws {
        let folder = scratchFolder(self)
        writeCorpus(folder + "/c.jsonl", count: 2, dims: 8)
        let index = ["index", "--index", "x", "--data", folder, folder + "/c.jsonl"]
        try assertRefused(index + ["--max-size", "1e300G"], saying: "--max-size")
        try assertRefused(index + ["--max-size", "2P"], saying: "--max-size")
        try assertRefused(index, environment: ["MRL_MAX_SIZE": "1e300G"], saying: "MRL_MAX_SIZE must be a size like 512M")
        try assertRefused(index, environment: ["MRL_MAX_SIZE": "lots"], saying: "MRL_MAX_SIZE must be a size like 512M")
        XCTAssertEqual(ByteSize(argument: "1P")?.bytes, 1 << 50)
        XCTAssertEqual(ByteSize(argument: "1.5k")?.bytes, 1536)
    }

    func testAnUnknownInstructionSetIsRefusedNotIgnored() throws {
        let list = ["list", "--data", scratchFolder(self)]
        try assertRefused(list, environment: ["MRL_ISA": "avx9"], saying: "MRL_ISA=avx9 is not an instruction set mrl knows: use one of avx512f, avx2+fma, generic")
        for accepted in ["generic", "avx2+fma", ""] {
            XCTAssertEqual(try mrl(list, environment: ["MRL_ISA": accepted]).status, 0, "MRL_ISA=\(accepted)")
        }
    }

    func testGraphTuneAndHeadRefuseWorkPastTheirBounds() throws {
        let target = ["--index", "x", "--data", scratchFolder(self)]
        try assertRefused(["graph"] + target + ["--m", "100000"], saying: "--m must be from 2 to 1024")
        try assertRefused(["graph"] + target + ["--ef-construction", "9223372036854775807"], saying: "--ef-construction must be")
        try assertRefused(["graph"] + target + ["--queries", "q.jsonl", "--no-queries"], saying: "give --queries or --no-queries, not both")
        try assertRefused(["tune"] + target + ["--sample", "9223372036854775807"], saying: "--sample must be from 1 to 1000000")
        try assertRefused(["head"] + target + ["--kind", "adaptor", "--epochs", "9223372036854775807"], saying: "--epochs must be from 1 to 10000")
        try assertRefused(["head"] + target + ["--kind", "adaptor", "--train-queries", "q.jsonl", "--no-train-queries"],
                          saying: "give --train-queries or --no-train-queries, not both")
    }

    func testAnEndlessETAShowsAsUnknown() {
        XCTAssertEqual(ProgressDisplay.clock(1e300), "--:--")
        XCTAssertEqual(ProgressDisplay.clock(.infinity), "--:--")
        XCTAssertEqual(ProgressDisplay.clock(3_725), "1:02:05")
    }
}

/// Query files and prefixes given to `mrl eval`, `tune`, `graph` and `head` (issue 16): a vector of the
/// wrong size, or dims outside the index, is refused naming the field where it used to trap
/// (in the head's matrix product, in the prefix scores).
final class QueryFileValuesTests: XCTestCase {
    func testQueryVectorsAndDimsOutsideTheIndexAreRefused() throws {
        let folder = scratchFolder(self)
        writeCorpus(folder + "/c.jsonl", count: 300, dims: 8)
        let target = ["--index", "x", "--data", folder]
        XCTAssertEqual(try mrl(["index"] + target + [folder + "/c.jsonl"]).status, 0)
        XCTAssertEqual(try mrl(["graph"] + target + ["--m", "4"]).status, 0)
        let queries = folder + "/q.jsonl"
        try Data(#"{"vector":[1,2,3],"relevant_id":"c1"}"#.utf8).write(to: URL(fileURLWithPath: queries))
        for command in [["eval", "--queries", queries, "--compare-heads", "none,pca"], ["tune", "--queries", queries], ["graph", "--queries", queries],
                        ["head", "--kind", "adaptor", "--train-queries", queries]] {
            let run = try mrl([command[0]] + target + command.dropFirst(), timeout: 120)
            XCTAssertEqual(run.status, 1, "\(command[0]): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(#"field "vector""#) && run.stderr.contains("has 3 dimensions, index \"x\" has 8"), run.stderr)
            XCTAssertFalse(run.stderr.contains("Fatal error"), run.stderr)
        }
        try Data(#"{"vector":[1,2,3,4,5,6,7,8],"relevant_id":"c1"}"#.utf8).write(to: URL(fileURLWithPath: queries))
        for dims in ["0", "9", "-5"] {
            let run = try mrl(["eval"] + target + ["--queries", queries, "--compare-heads", "none", "--dims=" + dims], timeout: 120)
            XCTAssertEqual(run.status, 1, "--dims \(dims): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(#"field "dims": must be between 1 and 8"#), run.stderr)
        }
        // mrl graph links what those queries find; a line that is not JSON is named.
        let guided = try mrl(["graph"] + target + ["--m", "4", "--queries", queries, "--json"])
        XCTAssertEqual(guided.status, 0, guided.stderr)
        let summary = try JSON.parse(guided.stdout)
        XCTAssertEqual(summary["guidance"], "queries")
        XCTAssertEqual(summary["guided_by"], 1)
        try Data("{\"vector\":[1,2,3,4,5,6,7,8]}\nnot json\n".utf8).write(to: URL(fileURLWithPath: queries))
        let broken = try mrl(["graph"] + target + ["--queries", queries])
        XCTAssertEqual(broken.status, 1, broken.stderr)
        XCTAssertTrue(broken.stderr.contains(queries + ":2: is not valid JSON"), broken.stderr)
    }
}
