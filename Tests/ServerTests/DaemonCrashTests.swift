import Engine
import Foundation
import Search
import Server
import TestSupport
import XCTest

/// Kills `mrl serve` with SIGKILL at random moments while clients stream writes, restarts it,
/// and checks that every document acknowledged with a 200 is there, and that each batch in
/// flight at the kill is there whole or not at all. `make test` kills it 10 times;
/// `make torture` raises MRL_CRASH_KILLS against a release build. MRL_CRASH_SEED repeats
/// a run's kill times.
final class DaemonCrashTests: XCTestCase {
    let index = "crash", dimensions = 16, batchSize = 20, writers = 2

    func testKilledDaemonKeepsEveryAcknowledgedWrite() throws {
        let environment = ProcessInfo.processInfo.environment
        let kills = Int(environment["MRL_CRASH_KILLS"] ?? "") ?? 10
        let seed = UInt64(environment["MRL_CRASH_SEED"] ?? "") ?? UInt64(Date().timeIntervalSince1970)
        var rng = SplitMix64(seed: seed)
        print("daemon crash test: \(kills) kills, \(writers) writers of \(batchSize)-document batches, seed \(seed) (MRL_CRASH_SEED to repeat)")
        let data = scratchFolder(self)
        var daemon = try DaemonProcess(data: data, test: self)
        XCTAssertEqual(try daemon.client().send("PUT", "/indexes/\(index)", ["dimensions": JSON(dimensions)]).status, 201)

        let ledger = Ledger()
        /// Batches known to be in the index: acknowledged, or found whole after a kill.
        var durable = Set<Int>()
        for kill in 1...kills {
            let stream = startWriters(socket: daemon.socket, ledger: ledger)
            let delay = Double.random(in: 0.05...3.0, using: &rng)
            usleep(useconds_t(delay * 1e6))
            daemon.kill9()
            XCTAssertEqual(stream.wait(timeout: .now() + 60), .success, "kill \(kill): the writers did not notice the daemon died")
            let round = ledger.endRound()
            daemon = try DaemonProcess(data: data, test: self)
            let client = try daemon.client()
            durable.formUnion(round.acknowledged)
            let found = try round.inFlight.filter { try batchPresence($0, client, after: "kill \(kill)") }
            durable.formUnion(found)
            let documents = try XCTUnwrap(client.send("GET", "/indexes/\(index)").json?["documents"]?.int)
            XCTAssertEqual(documents, durable.count * batchSize,
                           "kill \(kill): \(documents) documents, but \(durable.count) batches are acknowledged or found whole")
            // The batches acknowledged just before the kill are the likeliest lost; check them in
            // full, and a sample of all the others.
            let recent = round.acknowledged.sorted().suffix(writers)
            let sample = (0..<10).compactMap { _ in durable.randomElement(using: &rng) }
            for batch in Set(recent + sample) {
                XCTAssertTrue(try batchPresence(batch, client, after: "kill \(kill)"), "kill \(kill): acknowledged batch \(batch) is missing")
            }
            print("kill \(kill) at \(String(format: "%.2f", delay)) s: \(round.acknowledged.count) batches acknowledged, "
                + "\(round.inFlight.count) in flight (\(found.count) committed), \(documents) documents in all")
            if let failure = ledger.failure { XCTFail("a write was refused: \(failure)"); break }
        }

        XCTAssertGreaterThanOrEqual(durable.count, kills, "writes must be acknowledged between the kills")
        XCTAssertEqual(daemon.stop(), 0, daemon.stderr)
        // Last, every acknowledged document read straight from the store, text and vector.
        let stored = try Index.open(name: index, in: DataDirectory(path: data), mode: .read)
        XCTAssertEqual(try stored.info().documents, durable.count * batchSize)
        var missing: [String] = []
        try stored.store.read { snapshot in
            for batch in durable.sorted() {
                for n in documentNumbers(batch) {
                    let document = try snapshot.document(id: "b\(batch)-\(n)")
                    let stored = try snapshot.vector(id: "b\(batch)-\(n)")
                    if document?.text != "batch \(batch) document \(n)" || stored != vector(n, dims: dimensions) {
                        missing.append("b\(batch)-\(n)")
                    }
                }
            }
        }
        XCTAssertEqual(missing.prefix(20), [], "\(missing.count) acknowledged documents are missing or changed")
    }

    private func documentNumbers(_ batch: Int) -> Range<Int> { (batch * batchSize)..<((batch + 1) * batchSize) }

    /// True when all of `batch` is there, false when none is; fails the test on part of one.
    private func batchPresence(_ batch: Int, _ client: UnixHTTPClient, after: String) throws -> Bool {
        var present = 0
        for n in documentNumbers(batch) {
            let reply = try client.send("GET", "/indexes/\(index)/documents/b\(batch)-\(n)")
            if reply.status == 200 {
                XCTAssertEqual(reply.json?["text"], .string("batch \(batch) document \(n)"), "\(after): b\(batch)-\(n)")
                present += 1
            } else {
                XCTAssertEqual(reply.status, 404, "\(after): \(reply.errorMessage)")
            }
        }
        XCTAssertTrue(present == 0 || present == batchSize, "\(after): batch \(batch) is there in part (\(present) of \(batchSize) documents)")
        return present == batchSize
    }

    /// `writers` threads, each writing one batch after another until the daemon is gone; the
    /// group is left when all have stopped.
    private func startWriters(socket: String, ledger: Ledger) -> DispatchGroup {
        let group = DispatchGroup()
        for _ in 0..<writers {
            group.enter()
            let thread = Thread { [batchSize, dimensions, index] in
                defer { group.leave() }
                guard let client = try? UnixHTTPClient(socketPath: socket, timeout: 30) else { return }
                while true {
                    let batch = ledger.begin()
                    let documents = (batch * batchSize..<(batch + 1) * batchSize).map { n -> JSON in
                        ["id": .string("b\(batch)-\(n)"), "text": .string("batch \(batch) document \(n)"),
                         "vector": .array(vector(n, dims: dimensions).map(JSON.float))]
                    }
                    guard let reply = try? client.send("POST", "/indexes/\(index)/documents", ["documents": .array(documents)]) else { return }
                    guard reply.status == 200, reply.json?["added"] == JSON(batchSize) else {
                        ledger.fail("batch \(batch): \(reply.status) \(reply.errorMessage)")
                        return
                    }
                    ledger.acknowledge(batch)
                }
            }
            thread.start()
        }
        return group
    }
}

/// What the writer threads did in one round: batches sent and not answered, and batches
/// acknowledged. Batch numbers run on across rounds, so no id is written twice.
private final class Ledger: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var inFlight = Set<Int>()
    private var acknowledged = Set<Int>()
    private var firstFailure: String?

    /// The first write refused with something other than a 200.
    var failure: String? { lock.withLock { firstFailure } }

    func begin() -> Int {
        lock.withLock {
            defer { next += 1 }
            inFlight.insert(next)
            return next
        }
    }

    func acknowledge(_ batch: Int) {
        lock.withLock {
            inFlight.remove(batch)
            acknowledged.insert(batch)
        }
    }

    func fail(_ message: String) { lock.withLock { firstFailure = firstFailure ?? message } }

    /// This round's batches, and a fresh start for the next.
    func endRound() -> (acknowledged: Set<Int>, inFlight: Set<Int>) {
        lock.withLock {
            defer { inFlight.removeAll(); acknowledged.removeAll() }
            return (acknowledged, inFlight)
        }
    }
}
