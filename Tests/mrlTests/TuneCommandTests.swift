import Engine
import Foundation
import TestSupport
import XCTest

/// `mrl tune` measures the plans, stores presets that searches then use, and draws the frontier.
final class TuneCommandTests: XCTestCase {
    func testTuneStoresPresetsThatSearchesUse() throws {
        let folder = scratchFolder(self)
        writeCorpus(folder + "/c.jsonl", count: 1_500, dims: 32)
        let data = ["--data", folder + "/data", "--index", "t"]
        XCTAssertEqual(try mrl(["index"] + data + [folder + "/c.jsonl"]).status, 0)

        let noGraph = try mrl(["tune"] + data)
        XCTAssertNotEqual(noGraph.status, 0)
        XCTAssertTrue(noGraph.stderr.contains("has 1500 documents and no graph to tune"), noGraph.stderr)

        XCTAssertEqual(try mrl(["graph"] + data).status, 0)
        let tuned = try mrl(["tune"] + data + ["--sample", "100", "--name", "strict", "--target-recall", "0.97",
                                               "--plot", folder + "/frontier.svg", "--json"])
        XCTAssertEqual(tuned.status, 0, tuned.stderr)
        let result = try JSON.parse(tuned.stdout)
        let presets = try XCTUnwrap(result["presets"]?.array)
        XCTAssertEqual(presets.compactMap { $0["name"]?.string }, ["fast", "balanced", "accurate", "strict"])
        let recalls = presets.compactMap { $0["recall"]?.number }
        XCTAssertLessThanOrEqual(recalls[0], recalls[1])
        XCTAssertLessThanOrEqual(recalls[1], recalls[2])
        // Each preset is the cheapest plan that reaches its target beyond one standard error of
        // its measurement (or the best there is).
        let plans = try XCTUnwrap(result["plans"]?.array).filter { $0["plan"]?["exact"] == false }
        for (preset, target) in zip(presets, [0.90, 0.95, 0.99, 0.97]) {
            let reaching = plans.filter { $0["recall"]!.number! - $0["recall_standard_error"]!.number! >= target }
            if let cheapest = reaching.min(by: { $0["mean_ms"]!.number! < $1["mean_ms"]!.number! }) {
                XCTAssertEqual(preset["plan"], cheapest["plan"], "\(preset["name"]!)")
            } else {
                XCTAssertEqual(preset["recall"]?.number, plans.compactMap { $0["recall"]?.number }.max(), "\(preset["name"]!)")
            }
        }
        let svg = try String(contentsOfFile: folder + "/frontier.svg", encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<svg") && svg.contains("mrl frontier") && svg.contains("strict</text>"), String(svg.prefix(300)))

        let query = vector(42, dims: 32).map { String($0) }.joined(separator: ",")
        try "[\(query)]".write(toFile: folder + "/q.json", atomically: true, encoding: .utf8)
        let search = try mrl(["search"] + data + ["--vector-file", folder + "/q.json", "--preset", "strict", "--json"])
        XCTAssertEqual(search.status, 0, search.stderr)
        let answer = try JSON.parse(search.stdout)
        XCTAssertEqual(answer["plan"]?["ef"], presets[3]["plan"]?["ef"])
        XCTAssertEqual(answer["hits"]?.array?.first?["id"], "c42")

        let unknown = try mrl(["search"] + data + ["--vector-file", folder + "/q.json", "--preset", "nope"])
        XCTAssertTrue(unknown.stderr.contains("has no preset \"nope\" (it has fast, balanced, accurate, strict)"), unknown.stderr)
        let info = try mrl(["info"] + data)
        XCTAssertTrue(info.stdout.contains("strict"), info.stdout)

        // mrl eval scores each preset beside exact search, against exact search.
        let queries = (0..<60).map { n in #"{"relevant_id": "c\#(n * 7)", "vector": [\#(vector(n * 7, dims: 32).map { String($0) }.joined(separator: ","))]}"# }
        try queries.joined(separator: "\n").write(toFile: folder + "/q.jsonl", atomically: true, encoding: .utf8)
        let eval = try mrl(["eval"] + data + ["--queries", folder + "/q.jsonl", "--dims", "16,32", "--json", "--plot", folder + "/q.svg"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let byPreset = try XCTUnwrap(try JSON.parse(eval.stdout)["by_preset"]?.array)
        XCTAssertEqual(byPreset.compactMap { $0["label"]?.string }, ["fast", "balanced", "accurate", "strict", "exact"])
        XCTAssertEqual(byPreset.last?["mrr_at_10"], 1, "each document's own vector finds it first")
        XCTAssertEqual(byPreset.last?["recall_vs_exact"], 1)
        for preset in byPreset { XCTAssertGreaterThan(preset["recall_vs_exact"]?.number ?? 0, 0.5, "\(preset)") }
        XCTAssertTrue(try String(contentsOfFile: folder + "/q.svg", encoding: .utf8).contains("MRR@10"))

        // Re-tuning keeps the named preset, chosen again from the new measurements.
        let again = try mrl(["tune"] + data + ["--sample", "50", "--seed", "7", "--json"])
        XCTAssertEqual(try JSON.parse(again.stdout)["presets"]?.array?.compactMap { $0["name"]?.string }, ["fast", "balanced", "accurate", "strict"])
    }
}
