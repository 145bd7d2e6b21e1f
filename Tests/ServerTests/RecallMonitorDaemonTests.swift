import Engine
import Foundation
import Server
import TestSupport
import XCTest

/// The daemon's live recall monitor, end to end: answers checked in idle time, and a preset
/// re-tuned from the query log when the queries users send change, without a restart.
final class RecallMonitorDaemonTests: XCTestCase {
    /// An index of the clustered corpus with a graph over its first 32 dimensions, calibrated
    /// on its own documents, as a daemon finds it; `guidance` of the graph by queries.
    private func calibratedIndex(in folder: String, guidance: Index.QueryGuidance = .none) throws {
        let index = try Index.create(name: "g", in: DataDirectory(path: folder), dimensions: ClusteredCorpus.dims, model: nil)
        let docs = ClusteredCorpus.documents(5_000)
        for start in stride(from: 0, to: docs.count, by: 1000) { _ = try index.upsert(Array(docs[start..<start + 1000])) }
        var options = Index.GraphOptions()
        options.dims = ClusteredCorpus.graphDims
        options.m = 24
        options.guidance = guidance  // none by default: a graph rebuilt by the log would be calibrated anew, no re-tune to see
        try index.buildGraph(options)
        XCTAssertEqual(try XCTUnwrap(try index.calibrate(queryCount: 100)).querySource, "documents")
    }

    private func search(_ client: UnixHTTPClient, _ queries: [[Float]]) throws {
        for q in queries {
            let reply = try client.request("POST", "/indexes/g/search", json: ["vector": .array(q.map(JSON.float)), "k": 10, "preset": "fast"])
            XCTAssertEqual(reply.status, 200, reply.errorMessage)
        }
    }

    func testADaemonNoticesQueriesItsPresetsFailAndRetunesWithoutARestart() throws {
        let folder = scratchFolder(self)
        try calibratedIndex(in: folder)
        let daemon = try DaemonProcess(data: folder, arguments: ["--monitor-cpu", "100"], test: self)
        let client = try daemon.client()

        // Queries like the documents: the preset keeps its promise, nothing is re-tuned.
        try search(client, ClusteredCorpus.documents(300, from: 20_000).compactMap(\.vector))
        let before = try XCTUnwrap(client.request("GET", "/indexes/g").json?["monitor"])
        XCTAssertGreaterThan(before["answers_checked"]?.int ?? 0, 0, before.serialized)
        XCTAssertGreaterThanOrEqual(before["presets"]?["fast"]?["window_recall"]?.number ?? 0, 0.9 - RecallMonitor.tolerance, before.serialized)
        XCTAssertEqual(before["retunes"], [])

        // Then queries unlike them, at most 5,000.
        var sent = 0, info = JSON.null
        let blind = ClusteredCorpus.blindQueries(5_000, seed: 201)
        while sent < blind.count {
            try search(client, Array(blind[sent..<sent + 100]))
            sent += 100
            info = try XCTUnwrap(client.request("GET", "/indexes/g").json)
            if info["monitor"]?["retunes"]?.array?.isEmpty == false { break }
        }
        // An optimised daemon answers them all before the re-tune they set off is done: give it
        // time to finish (it runs in idle time, at four times the monitor's share).
        for _ in 0..<600 where info["monitor"]?["retunes"]?.array?.isEmpty != false {
            usleep(100_000)
            info = try XCTUnwrap(client.request("GET", "/indexes/g").json)
        }
        let retune = try XCTUnwrap(info["monitor"]?["retunes"]?.array?.first, "no re-tune after \(sent) queries: \(info["monitor"]?.serialized ?? "")")
        XCTAssertEqual(retune["preset"], "fast")
        XCTAssertLessThan(retune["realized"]?.number ?? 1, 0.9 - RecallMonitor.tolerance)
        XCTAssertEqual(info["calibration"]?["queries_from"], "logged queries")
        let metrics = String(decoding: try client.request("GET", "/metrics").body, as: UTF8.self)
        XCTAssertTrue(metrics.contains("mrl_monitor_retunes{index=\"g\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("mrl_monitor_cpu_seconds"), metrics)
        print("re-tuned after \(sent) queries unlike the documents")

        XCTAssertEqual(daemon.stop(), 0)
        XCTAssertTrue(daemon.stderr.contains("re-tuned its presets on the query log"), daemon.stderr)
    }

    /// A daemon that only answers searches rebuilds its graph by the query log once the log
    /// holds enough (see `Index.graphGuidanceIsDue`), chooses its automatic head on the log
    /// (`Index.headChoiceIsDue`), and measures its plans anew on the log.
    func testADaemonThatOnlySearchesGuidesItsGraphByTheLog() throws {
        let folder = scratchFolder(self)
        try calibratedIndex(in: folder, guidance: .log)
        let daemon = try DaemonProcess(data: folder, arguments: ["--monitor-cpu", "0"], test: self)
        let client = try daemon.client()
        // The log takes at most 512 queries between its writes (every 2 s): send them in rounds.
        var graph = JSON.null, sent = 0
        for round in 0..<60 where graph["guidance"] != "log" {
            if round < 20 {
                try search(client, ClusteredCorpus.blindQueries(300, seed: 202 + UInt64(round)))
                sent += 300
            }
            usleep(1_000_000)
            graph = try XCTUnwrap(client.request("GET", "/indexes/g").json?["graph"])
        }
        print("graph guided by the log after \(sent) searches: \(graph.serialized)")
        XCTAssertEqual(graph["guidance"], "log", graph.serialized)
        XCTAssertGreaterThanOrEqual(graph["guided_by"]?.int ?? 0, Index.graphGuidanceMinimum, graph.serialized)
        XCTAssertGreaterThan(graph["query_links"]?.int ?? 0, 0)
        let head = try XCTUnwrap(client.request("GET", "/indexes/g").json?["head"])
        XCTAssertGreaterThanOrEqual(head["chosen_on_log"]?.int ?? 0, Index.graphGuidanceMinimum, head.serialized)
        XCTAssertEqual(head["automatic"], true)
        try search(client, ClusteredCorpus.blindQueries(10, seed: 301))  // the new graph answers
        XCTAssertEqual(daemon.stop(), 0)
    }
}
