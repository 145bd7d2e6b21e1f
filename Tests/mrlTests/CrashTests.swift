import Engine
import Foundation
import Search
import TestSupport
import XCTest

/// Kills `mrl index` with SIGKILL at random moments and checks, after each kill, that the
/// index opens, every batch reported committed is there in full, no partial batch is
/// visible, and re-running completes the set. `make test` runs the quick version;
/// `make torture` raises MRL_CRASH_KILLS and MRL_CRASH_DOCS against a release build.
final class CrashTests: XCTestCase {
    func testKilledIngestLosesNoCommittedBatchAndResumes() throws {
        let environment = ProcessInfo.processInfo.environment
        let kills = Int(environment["MRL_CRASH_KILLS"] ?? "") ?? 20
        let docs = Int(environment["MRL_CRASH_DOCS"] ?? "") ?? 10_000
        let seed = UInt64(environment["MRL_CRASH_SEED"] ?? "") ?? UInt64(Date().timeIntervalSince1970)
        let batch = 500, dims = 32
        let dir = scratchFolder(self)
        let corpus = dir + "/corpus.jsonl"
        writeCorpus(corpus, count: docs, dims: dims)
        let arguments = ["index", "--data", dir, "--index", "crash", "--batch-size", "\(batch)", corpus]
        var rng = SplitMix64(seed: seed)
        print("crash test: \(kills) kills over \(docs) docs, seed \(seed) (MRL_CRASH_SEED to repeat)")

        // How long an uninterrupted run takes (ingest, then head fit, graph and plan timing), so
        // kills land all along it.
        let calibration = Date()
        XCTAssertEqual(try mrl(["index", "--data", dir + "/calibrate", "--index", "c", "--batch-size", "\(batch)", corpus]).status, 0)
        let fullRun = Date().timeIntervalSince(calibration)
        try FileManager.default.removeItem(atPath: dir + "/calibrate")

        var killed = 0, attempts = 0
        while killed < kills, attempts < kills * 3 {
            attempts += 1
            let delay = Double.random(in: 0.01...(fullRun * 1.1), using: &rng)
            let (landed, stderr) = try runKilled(arguments, after: delay)
            if landed { killed += 1 }
            try check(dir: dir, docs: docs, batch: batch, dims: dims, reported: stderr, after: "attempt \(attempts), kill at \(String(format: "%.3f", delay)) s")
            // A run that got through leaves nothing to do: start again from no index, so the
            // next kill lands on live work (ingest, head fit, graph build or plan timing).
            if !landed { try? FileManager.default.removeItem(atPath: dir + "/crash") }
        }
        XCTAssertEqual(killed, kills, "the kills must land while mrl runs")

        let final = try mrl(arguments)
        XCTAssertEqual(final.status, 0, final.stderr)
        let index = try Index.open(name: "crash", in: DataDirectory(path: dir), mode: .read)
        XCTAssertEqual(try index.info().documents, docs)
        for n in [0, docs / 2, docs - 1] {
            let hit = try index.search(SearchRequest(vector: vector(n, dims: dims), k: 1)).hits.first
            XCTAssertEqual(hit?.id, "c\(n)")
            let stored = try XCTUnwrap(try index.store.read { try $0.vector(id: "c\(n)") })
            XCTAssertEqual(zip(stored, vector(n, dims: dims)).map { abs($0 - $1) }.max() ?? 1, 0, accuracy: 1e-6, "c\(n) intact")
        }
    }

    private func check(dir: String, docs: Int, batch: Int, dims: Int, reported: String, after: String) throws {
        let data = DataDirectory(path: dir)
        guard data.indexNames().contains("crash") else {
            XCTAssertFalse(reported.contains("committed"), "\(after): batches were reported but there is no index")
            return
        }
        let index = try Index.open(name: "crash", in: data, mode: .read)
        let present = try index.info().documents
        XCTAssertTrue(present % batch == 0 || present == docs, "\(after): \(present) documents is not a whole number of batches")
        let reportedThrough = reported.components(separatedBy: "\n").compactMap { line -> Int? in
            guard line.hasPrefix("committed lines ") else { return nil }
            return Int(line.dropFirst("committed lines ".count).split(separator: ":")[0].split(separator: "-")[1])
        }.max() ?? 0
        XCTAssertLessThanOrEqual(reportedThrough, present, "\(after): a batch reported committed is missing")
        // Batches commit in file order: exactly the first `present` documents are there, intact.
        try index.store.read { snapshot in
            for n in Set([0, present / 3, present - 1, present].filter { $0 >= 0 && $0 < docs }) {
                let stored = try snapshot.vector(id: "c\(n)")
                if n < present {
                    XCTAssertEqual(stored?.count, dims, "\(after): c\(n) missing")
                    XCTAssertEqual(try snapshot.document(id: "c\(n)")?.text, "document \(n)")
                } else {
                    XCTAssertNil(stored, "\(after): c\(n) is beyond the committed batches")
                }
            }
        }
    }
}

