import Engine
import Foundation
import Search
import Server
import TestSupport
import XCTest

/// Value-level fuzzing generated from api/openapi.json (issue 16): each route's request with
/// one field (of the body or the path) set to a boundary value, so each finding names the
/// field, and every tenth request with several at once. Every answer must be a status the
/// spec documents for the route, never a 5xx but 503 and 507, with a body of the documented
/// schema; the daemon must be up at the end. `make test` sends 2,000; `make torture` sets
/// MRL_VALUE_FUZZ_REQUESTS. FuzzTests mutates the syntax; this, the values.
final class ValueFuzzTests: XCTestCase {
    func testEveryFieldOfEveryRouteTakesBoundaryValues() throws {
        let fuzz = try ValueFuzzDaemon(test: self, defaultCount: 2_000)
        let requests = SpecRequests(spec: fuzz.spec, targets: ValueFuzzDaemon.targets)
        let sites = requests.sites
        XCTAssertGreaterThan(sites.count, 30, "the spec's routes and fields")
        var rng = SplitMix64(seed: fuzz.seed)
        // Every (site, value) pair once before any twice, in an order the seed sets.
        var cache: [String: [FuzzValue]] = [:]
        func values(_ site: Int, _ target: FuzzTarget) -> [FuzzValue] {
            let key = "\(site) \(target.text)"
            if let cached = cache[key] { return cached }
            let made = requests.values(sites[site], target: target)
            cache[key] = made
            return made
        }
        let pairs = sites.indices.flatMap { site in values(site, ValueFuzzDaemon.targets[0]).indices.map { (site, $0) } }
        var order = pairs.shuffled(using: &rng)
        var client = try fuzz.daemon.client()
        let started = Date()
        var statuses: [Int: Int] = [:]
        for n in 0..<fuzz.count {
            if n % order.count == 0, n > 0 { order.shuffle(using: &rng) }
            let target = ValueFuzzDaemon.targets[Int(rng.next() % UInt64(ValueFuzzDaemon.targets.count))]
            let (first, value) = order[n % order.count]
            var changes = [(sites[first], valueAt(values(first, target), value))]
            if n % 10 == 9 {
                // Several fields of the same route at once.
                let others = sites.indices.filter { sites[$0].method == sites[first].method && sites[$0].template == sites[first].template && $0 != first }
                for other in others.shuffled(using: &rng).prefix(3) {
                    let choices = values(other, target)
                    changes.append((sites[other], choices[Int(rng.next() % UInt64(choices.count))]))
                }
            }
            let request = requests.request(changes, target: target, n: n)
            try prepare(request, fuzz: fuzz, client: client)
            guard let reply = fuzz.send(request, on: &client) else {
                if !fuzz.daemon.process.isRunning { break }
                continue
            }
            statuses[reply.status, default: 0] += 1
            clean(after: request, reply, fuzz: fuzz, client: &client)
            if (n + 1) % 50_000 == 0 {  // a long run (make torture) shows that its rate holds
                print("value fuzz: \(n + 1) of \(fuzz.count), \(Int(Double(n + 1) / Date().timeIntervalSince(started)))/s")
                fflush(nil)  // shown as it happens when the output goes to a file
            }
        }
        print("value fuzz: \(fuzz.count) requests in \(String(format: "%.1f", Date().timeIntervalSince(started))) s over \(sites.count) fields, \(pairs.count) field values; statuses: \(statuses.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))")
        fuzz.report()
        fuzz.checkAlive()
    }

    private func valueAt(_ values: [FuzzValue], _ i: Int) -> FuzzValue { values[i % values.count] }

    /// A DELETE of an index needs one to delete: the scratch index of this request.
    private func prepare(_ request: FuzzRequest, fuzz: ValueFuzzDaemon, client: UnixHTTPClient) throws {
        guard request.method == "DELETE", let name = scratchName(request.path) else { return }
        _ = try? client.send("PUT", "/indexes/\(name)", ["dimensions": 8])
    }

    /// Drops a scratch index a PUT created and a backup's copy, so a long run stays small.
    private func clean(after request: FuzzRequest, _ reply: UnixHTTPClient.Reply, fuzz: ValueFuzzDaemon, client: inout UnixHTTPClient) {
        if request.path.hasSuffix("/backup") { fuzz.removeBackup(reply) }
        if request.method == "PUT", reply.status == 201 {
            let drop = FuzzRequest(method: "DELETE", path: request.path, body: nil, description: "DELETE of the index \(request.description) created")
            _ = fuzz.send(drop, on: &client)
        }
    }

    private func scratchName(_ path: String) -> String? {
        let parts = path.split(separator: "/")
        guard parts.count == 2, parts[1].hasPrefix("scratch-") else { return nil }
        return String(parts[1])
    }
}
