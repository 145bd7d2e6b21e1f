import Foundation
import TestSupport
import XCTest

/// `mrl-bench serve` against a real daemon: every request it counts was answered, closed
/// loop and paced, and its recall is measured against the daemon's own exact answers.
final class LoadGeneratorTests: XCTestCase {
    func testEveryRequestIsAnsweredAndCounted() throws {
        let folder = scratchFolder(self)
        let corpus = folder + "/docs.jsonl"
        writeCorpus(corpus, count: 300, dims: 16)
        let daemon = try DaemonProcess(data: folder + "/data", test: self)
        let indexed = try mrl(["index", "--socket", daemon.socket, "--index", "v", corpus])
        XCTAssertEqual(indexed.status, 0, indexed.stderr)

        let common = ["serve", "--socket", daemon.socket, "--index", "v", "--queries", corpus, "--limit", "50", "--json"]
        let closed = try mrl(common + ["--clients", "1,4", "--requests", "200", "--recall"], executable: mrlBenchExecutable)
        XCTAssertEqual(closed.status, 0, closed.stderr)
        let points = try XCTUnwrap(json(closed.stdout)["points"] as? [[String: Any]])
        XCTAssertEqual(points.map { $0["clients"] as? Int }, [1, 4])
        for point in points {
            XCTAssertEqual(point["answers"] as? Int, 200, "\(point)")
            XCTAssertEqual(point["errors"] as? Int, 0, "\(point)")
            // Under 5,000 documents there is no graph: every search is exact, as the truth is.
            XCTAssertEqual(point["recall"] as? Double, 1, "\(point)")
        }

        let paced = try mrl(common + ["--clients", "3", "--requests", "60", "--rate", "200"], executable: mrlBenchExecutable)
        XCTAssertEqual(paced.status, 0, paced.stderr)
        let point = try XCTUnwrap((json(paced.stdout)["points"] as? [[String: Any]])?.first)
        XCTAssertEqual(point["answers"] as? Int, 60, "\(point)")
        XCTAssertEqual(point["errors"] as? Int, 0, "\(point)")
        // 60 sends at 200 a second take about 0.3 s; all at once would take a few ms.
        XCTAssertGreaterThan(try XCTUnwrap(point["seconds"] as? Double), 0.2, "\(point)")
    }
}
