import Engine
import Foundation
import Search
import TestSupport
import XCTest

/// CrashTests for an index that has an ANN graph: `mrl index` inserts each batch into the
/// graph in the batch's own transaction, so after a SIGKILL at any moment the graph must
/// hold exactly the committed documents and still be walkable. Then deletes must keep the
/// graph's recall. `make torture` can raise MRL_CRASH_KILLS and MRL_CRASH_DOCS (and
/// MRL_CRASH_SEED repeats a run).
final class GraphCrashTests: XCTestCase {
    static let base = 6_000  // documents indexed before the kills: a PCA head and a graph
    static let batch = 500, dims = 32
    static let guidingQueries = 300  // vectors like the documents', linked by `mrl graph --queries`

    func testKilledIngestKeepsGraphAndDocumentsTogether() throws {
        let environment = ProcessInfo.processInfo.environment
        let kills = Int(environment["MRL_CRASH_KILLS"] ?? "") ?? 10
        let docs = max(Int(environment["MRL_CRASH_DOCS"] ?? "") ?? 10_000, GraphCrashTests.base + 2 * GraphCrashTests.batch)
        let seed = UInt64(environment["MRL_CRASH_SEED"] ?? "") ?? UInt64(Date().timeIntervalSince1970)
        let (base, batch, dims) = (GraphCrashTests.base, GraphCrashTests.batch, GraphCrashTests.dims)
        let dir = scratchFolder(self)
        let corpus = dir + "/corpus.jsonl"
        writeCorpus(corpus, count: docs, dims: dims)
        var rng = SplitMix64(seed: seed)
        print("graph crash test: \(kills) kills over \(docs) docs, seed \(seed) (MRL_CRASH_SEED to repeat)")
        let started = Date()

        // A first run to completion: PCA head (>= 2,000 docs), graph (>= 5,000), cost model.
        let first = try mrl(["index", "--data", dir, "--index", "graph", "--batch-size", "\(batch)", "--limit", "\(base)", corpus])
        XCTAssertEqual(first.status, 0, first.stderr)
        do {
            let index = try Index.open(name: "graph", in: DataDirectory(path: dir), mode: .read)
            let record = try XCTUnwrap(try index.store.read { try $0.graphRecord() }, "the first run built no graph")
            XCTAssertEqual(record.nodes, base)
            XCTAssertEqual(try index.info().head?.kind, "pca")
        }

        // Links guided by queries (`mrl graph --queries`), rebuilt in one transaction: a kill
        // leaves the old graph or the new one, whole; later batches keep the new one's links.
        let queries = dir + "/queries.jsonl"
        let guiding = (0..<GraphCrashTests.guidingQueries).map { vector(docs + $0, dims: dims).map { String(format: "%.6f", $0) }.joined(separator: ",") }
        FileManager.default.createFile(atPath: queries, contents: Data(guiding.map { #"{"vector":[\#($0)]}"# + "\n" }.joined().utf8))
        let rebuild = ["graph", "--data", dir, "--index", "graph", "--queries", queries]
        let rebuildStarted = Date()
        XCTAssertEqual(try mrl(rebuild).status, 0)
        let rebuildSeconds = Date().timeIntervalSince(rebuildStarted)
        for attempt in 0..<3 {
            let delay = Double.random(in: 0.01...rebuildSeconds, using: &rng)
            let (landed, _) = try runKilled(rebuild, after: delay)
            let after = "seed \(seed), graph rebuild \(attempt), kill at \(String(format: "%.3f", delay)) s"
            _ = try check(dir: dir, docs: docs, reported: "", atLeast: base, after: after)
            print("graph crash test: \(after): \(landed ? "killed" : "had finished")")
        }
        XCTAssertEqual(try mrl(rebuild).status, 0)

        // Kept to start again from whenever a run gets through: every kill then lands on live work.
        let saved = dir + "/saved"
        try FileManager.default.createDirectory(atPath: saved, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir + "/graph", toPath: saved + "/graph")
        func restore() throws {
            try FileManager.default.removeItem(atPath: dir + "/graph")
            try FileManager.default.copyItem(atPath: saved + "/graph", toPath: dir + "/graph")
        }

        // How long an uninterrupted run from that state takes, so kills land all along it.
        let arguments = ["index", "--data", dir, "--index", "graph", "--batch-size", "\(batch)", corpus]
        let calibration = Date()
        let timed = try mrl(arguments)
        XCTAssertEqual(timed.status, 0, timed.stderr)
        let fullRun = Date().timeIntervalSince(calibration)
        try restore()
        print("graph crash test: first \(base) docs in \(String(format: "%.1f", calibration.timeIntervalSince(started))) s, an uninterrupted run of the rest \(String(format: "%.1f", fullRun)) s")

        // Each run resumes what the killed ones left, except that a kill likely to land after the
        // remaining ingest, or a run with nothing left to ingest, starts again from the first
        // run's state (an optimised build finishes the rest in about a second).
        var killed = 0, attempts = 0, lastPresent = base
        while killed < kills, attempts < kills * 3 {
            attempts += 1
            let delay = Double.random(in: 0.01...(fullRun * 1.1), using: &rng)
            if lastPresent == docs || delay > fullRun * Double(docs - lastPresent) / Double(docs - base) + 1 {
                try restore()
                lastPresent = base
            }
            let (landed, stderr) = try runKilled(arguments, after: delay)
            if landed { killed += 1 }
            let after = "seed \(seed), attempt \(attempts), kill at \(String(format: "%.3f", delay)) s"
            lastPresent = try check(dir: dir, docs: docs, reported: stderr, atLeast: lastPresent, after: after)
            print("graph crash test: \(after): \(landed ? "killed" : "had finished") with \(lastPresent) documents")
        }
        XCTAssertEqual(killed, kills, "the kills must land while mrl runs")
        print("graph crash test: \(killed) kills in \(attempts) attempts after \(String(format: "%.1f", Date().timeIntervalSince(started))) s")

        let final = try mrl(arguments)
        XCTAssertEqual(final.status, 0, final.stderr)
        let data = DataDirectory(path: dir)
        do {
            let index = try Index.open(name: "graph", in: data, mode: .read)
            XCTAssertEqual(try index.info().documents, docs)
            if docs < Index.automaticHeadRegrowth * base {  // else a refitted head's graph is rebuilt by the (empty) log
                XCTAssertEqual(try index.store.read { try $0.graphRecord() }?.guidance, "queries", "the query links were lost on the way")
            }
            XCTAssertEqual(try index.store.read { try $0.graphRecord() }?.nodes, docs, "graph nodes after the final run")
            for n in Set([0, base - 1, base, docs / 2, docs - batch, docs - 1] + (0..<20).map { _ in Int(rng.next() % UInt64(docs)) }) {
                let result = try index.search(SearchRequest(vector: vector(n, dims: dims), k: 1))
                XCTAssertFalse(result.plan.exact, "final: the search of c\(n) did not use the graph")
                XCTAssertEqual(result.hits.first?.id, "c\(n)", "final: c\(n) not found first by its own vector")
            }
        }

        print("graph crash test: final run and its checks done after \(String(format: "%.1f", Date().timeIntervalSince(started))) s")

        // Delete 30% in batches (each one transaction, graph included), then graph vs exact recall.
        var order = Array(0..<docs)
        order.shuffle(using: &rng)
        let deleted = Set(order.prefix(docs * 3 / 10))
        let remaining = Array(order.dropFirst(deleted.count))
        do {
            let writer = try Index.open(name: "graph", in: data, mode: .write)
            let doomed = deleted.sorted()
            for start in stride(from: 0, to: doomed.count, by: 1_000) {
                let ids = doomed[start..<min(start + 1_000, doomed.count)].map { "c\($0)" }
                XCTAssertEqual(try writer.delete(ids: ids), ids.count)
            }
        }
        print("graph crash test: deleted \(deleted.count) after \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        let index = try Index.open(name: "graph", in: data, mode: .read)
        XCTAssertEqual(try index.info().documents, docs - deleted.count)
        XCTAssertEqual(try index.store.read { try $0.graphRecord() }?.nodes, docs - deleted.count, "graph nodes after deletes")
        var found = 0, expected = 0
        for n in remaining.prefix(200) {
            let query = vector(n, dims: dims)
            let graph = try index.search(SearchRequest(vector: query, k: 10))
            let exact = try index.search(SearchRequest(vector: query, k: 10, dims: dims))
            XCTAssertFalse(graph.plan.exact, "after deletes: the search of c\(n) did not use the graph")
            XCTAssertTrue(exact.plan.exact)
            let returned = graph.hits.map(\.id)
            let stale = returned.filter { deleted.contains(Int($0.dropFirst())!) }
            XCTAssertTrue(stale.isEmpty, "after deletes: deleted documents \(stale) returned for c\(n)")
            XCTAssertEqual(Set(returned).count, returned.count, "after deletes: duplicate hits for c\(n)")
            found += Set(returned).intersection(exact.hits.map(\.id)).count
            expected += exact.hits.count
        }
        let recall = Double(found) / Double(max(expected, 1))
        print("graph crash test: recall@10 after deleting \(deleted.count) of \(docs): \(String(format: "%.3f", recall)); \(killed) kills in \(attempts) attempts; \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        XCTAssertGreaterThanOrEqual(recall, 0.9, "graph recall@10 against exact after deletes (seed \(seed))")
    }

    /// The state after a kill: documents a whole number of batches past the first run (and
    /// at least what was there before), every reported batch there, and the graph holding
    /// exactly the documents, over the current head (a refit at 4x growth rebuilds it in the
    /// head's own transaction), walkable to the newest. Returns the document count.
    private func check(dir: String, docs: Int, reported: String, atLeast previous: Int, after: String) throws -> Int {
        let (base, batch, dims) = (GraphCrashTests.base, GraphCrashTests.batch, GraphCrashTests.dims)
        let index = try Index.open(name: "graph", in: DataDirectory(path: dir), mode: .read)
        let info = try index.info()
        let present = info.documents
        XCTAssertTrue((present - base) % batch == 0 || present == docs, "\(after): \(present) documents is not a whole number of batches")
        XCTAssertGreaterThanOrEqual(present, previous, "\(after): documents were lost")
        let reportedThrough = reported.components(separatedBy: "\n").compactMap { line -> Int? in
            guard line.hasPrefix("committed lines ") else { return nil }
            return Int(line.dropFirst("committed lines ".count).split(separator: ":")[0].split(separator: "-")[1])
        }.max() ?? 0
        XCTAssertLessThanOrEqual(reportedThrough, present, "\(after): a batch reported committed is missing")

        let record = try index.store.read { try $0.graphRecord() }
        XCTAssertNotNil(record, "\(after): the graph is gone")
        XCTAssertEqual(record?.headVersion, info.head?.version ?? 0, "\(after): the graph is over another head than the current one")
        XCTAssertEqual(record?.nodes, present, "\(after): graph nodes and documents differ")
        if record?.guidance == "queries" {  // built by the rebuild: its links kept by every batch since
            XCTAssertEqual(record?.guidedBy, GraphCrashTests.guidingQueries, "\(after): the guided graph's record")
            XCTAssertGreaterThan(record?.queryLinks ?? 0, 0, "\(after): the guided graph has no query links")
        }
        try index.store.read { snapshot in
            for n in [present - 1, present] where n < docs {
                let stored = try snapshot.vector(id: "c\(n)")
                if n < present { XCTAssertEqual(stored?.count, dims, "\(after): c\(n) missing") }
                else { XCTAssertNil(stored, "\(after): c\(n) is beyond the committed batches") }
            }
        }
        // Found by the graph: old, middle and the newest batch's documents; nothing past `present`.
        let newest = present - batch  // the first run's last batch while nothing more is committed
        for n in Set([0, base - 1, present / 2, newest, (newest + present) / 2, present - 1]) {
            let result = try index.search(SearchRequest(vector: vector(n, dims: dims), k: 1))
            XCTAssertFalse(result.plan.exact, "\(after): the search of c\(n) did not use the graph")
            XCTAssertEqual(result.hits.first?.id, "c\(n)", "\(after): c\(n) not found (\(present) documents)")
        }
        var probes = [present / 3]
        if present < docs { probes += [present, docs - 1] }  // vectors of documents not yet written
        for n in probes {
            let result = try index.search(SearchRequest(vector: vector(n, dims: dims), k: 10))
            XCTAssertFalse(result.plan.exact, "\(after): the probe c\(n) did not use the graph")
            for hit in result.hits {
                let number = Int(hit.id.dropFirst()) ?? -1
                XCTAssertTrue((0..<present).contains(number), "\(after): returned \(hit.id), beyond the \(present) committed documents")
            }
        }
        return present
    }
}
