import Engine
import Foundation
import Search
import Store
import XCTest

/// A write whose commit fails (here: the file may not grow, as on a full disk) changes
/// nothing, not even the writer's in-memory graph, which the next good write would save.
final class FailedCommitTests: XCTestCase {
    private func vector(_ n: Int) -> [Float] {
        var rng = SplitMix64(seed: UInt64(n) &+ 11)
        return (0..<64).map { j in Float(j == n % 16 ? 1 : 0) + Float(rng.next() % 1000) / 2000 }
    }

    /// Runs `body` with this process's files limited to `bytes` (RLIMIT_FSIZE): writes past
    /// it fail with EFBIG, as they would on a full disk. SIGXFSZ is ignored meanwhile.
    private func withFileSizeLimit<T>(_ bytes: rlim_t, _ body: () throws -> T) rethrows -> T {
        var saved = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        let previousHandler = signal(SIGXFSZ, SIG_IGN)
        var limited = rlimit(rlim_cur: bytes, rlim_max: saved.rlim_max)
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limited)
        defer {
            setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
            signal(SIGXFSZ, previousHandler)
        }
        return try body()
    }

    func testADeleteThatFailsToCommitLeavesTheGraphAsItWas() throws {
        let index = try Index.create(name: "f", in: temporaryData(self), dimensions: 64, model: nil)
        _ = try index.upsert((0..<600).map { DocumentInput(id: "d\($0)", text: "", vector: vector($0)) })
        var options = Index.GraphOptions()
        options.dims = 32
        options.m = 8
        try index.buildGraph(options)
        _ = try index.upsert([DocumentInput(id: "warm", text: "", vector: vector(600))])  // the writer's graph is in memory now

        XCTAssertThrowsError(try withFileSizeLimit(8_192) { try index.delete(ids: ["d5"]) }, "no page can be written past 8 KB")
        XCTAssertNotNil(try index.document(id: "d5"), "the failed delete changed nothing")
        _ = try index.upsert([DocumentInput(id: "next", text: "", vector: vector(601))])

        let found = try index.search(SearchRequest(vector: vector(5), k: 1, ef: 64))
        XCTAssertFalse(found.plan.exact)
        XCTAssertEqual(found.hits.map(\.id), ["d5"], "d5 is still in the graph after the next good write")
        XCTAssertEqual(try index.info().graph?.nodes, 602)
    }
}
