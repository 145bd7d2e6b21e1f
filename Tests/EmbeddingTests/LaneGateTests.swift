@testable import Embedding
import Foundation
import Synchronization
import XCTest

/// How the encoder shares the cores: the gate paces queries to their share while a write
/// embeds (issue 16: a closed-loop search client must not take a third of a write's cores), and
/// `split` hands out pieces so that a core slowed by a query does not hold the other back.
final class LaneGateTests: XCTestCase {
    /// Burns `seconds` of this thread's CPU time, as a pass does.
    private func spin(_ seconds: Double) {
        let end = Seconds.threadCPU() + seconds
        while Seconds.threadCPU() < end {}
    }

    /// Starts a write on `gate` and returns once it is under way, with what ends it (and returns
    /// once it has ended).
    private func writeUnderWay(_ gate: LaneGate) -> @Sendable () -> Void {
        let writing = Atomic(false), release = Atomic(false)
        Thread {
            gate.write {
                writing.store(true, ordering: .releasing)
                while !release.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.005) }
            }
            writing.store(false, ordering: .releasing)
        }.start()
        while !writing.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.001) }
        return {
            release.store(true, ordering: .releasing)
            while writing.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.001) }
        }
    }

    func testQueriesArePacedToTheirShareOnlyWhileAWriteEmbeds() {
        let gate = LaneGate(queryShare: 0.15, burst: 0.02, cores: 2)
        let endWrite = writeUnderWay(gate)

        // 20 passes of 5 ms CPU: 0.1 s of query time, of which the write's start grants 0.02 s
        // at once; the rest comes at 15% of 2 cores, 0.3 s a second: at least 0.25 s in all.
        let start = Date()
        let cores = (0..<20).map { _ in gate.query { cores in spin(0.005); return cores } }
        let paced = Date().timeIntervalSince(start)
        XCTAssertEqual(Set(cores), [1], "beside a write, a query runs on one core")
        XCTAssertGreaterThan(paced, 0.22, "20 queries of 5 ms beside a write were not held to 15% of 2 cores")

        endWrite()
        XCTAssertEqual(Set((0..<20).map { _ in gate.query { cores in spin(0.005); return cores } }), [2],
                       "with no write under way, a query runs unpaced on every core")
    }

    func testAPacedQueryGoesAsSoonAsTheWriteEnds() {
        let gate = LaneGate(queryShare: 0.0001, burst: 0, cores: 2)  // a share so small the second query would wait 25 s
        let endWrite = writeUnderWay(gate)
        _ = gate.query { _ in spin(0.01) }  // overdraws the share
        let start = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { endWrite() }
        XCTAssertEqual(gate.query { $0 }, 2, "once the write ended, the query runs on every core")
        XCTAssertLessThan(Date().timeIntervalSince(start), 2, "the paced query waited out its share after the write ended")
    }

    func testSplitHandsOutEveryRowOnce() {
        for rows in [0, 1, 5, 255, 256, 1_000, 4_096] {
            for cores in [1, 2, 3] {
                for grain in [1, 256] { check(rows: rows, cores: cores, grain: grain) }
            }
        }
        func check(rows: Int, cores: Int, grain: Int) {
            let seen = Mutex<[(worker: Int, range: Range<Int>)]>([])
            BertModel.split(rows: rows, cores: cores, grain: grain) { worker, range in seen.withLock { $0.append((worker, range)) } }
            let pieces = seen.withLock { $0 }
            let covered = pieces.map(\.range).sorted { $0.lowerBound < $1.lowerBound }
            XCTAssertEqual(covered.flatMap { Array($0) }, Array(0..<rows), "rows \(rows), cores \(cores), grain \(grain)")
            XCTAssertTrue(pieces.allSatisfy { (0..<cores).contains($0.worker) }, "a worker number names one of the threads")
            XCTAssertGreaterThanOrEqual(covered.count, min(rows, cores), "every core gets a piece")
            XCTAssertLessThanOrEqual(covered.count, cores * 4)
            if rows / grain >= cores { XCTAssertTrue(covered.dropLast().allSatisfy { $0.count >= grain }, "pieces beyond one a core keep the grain") }
        }
    }
}
