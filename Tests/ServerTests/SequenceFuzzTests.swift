import Engine
import Foundation
import Search
import Server
import TestSupport
import XCTest

/// Random sequences of create / write / delete / drop / backup / search (single and batch)
/// over several connections at once, against the value fuzz's indexes (one with a graph, one
/// of texts) and an index of each connection's own that it creates and drops. Each connection
/// keeps a model of what the daemon acknowledged; at the end every acknowledged write must be
/// readable unless it was deleted or its index dropped, every answer must have been a
/// documented status, and the daemon must be up. Ids are each connection's own, so the model
/// of each is exact whatever the interleaving.
final class SequenceFuzzTests: XCTestCase {
    static let connections = 4

    func testRandomSequencesOverConnectionsLoseNoAcknowledgedWrite() throws {
        let fuzz = try ValueFuzzDaemon(test: self, defaultCount: 2_000)
        let started = Date()
        let workers = try (0..<Self.connections).map { try SequenceWorker(number: $0, fuzz: fuzz, operations: fuzz.count / Self.connections) }
        DispatchQueue.concurrentPerform(iterations: workers.count) { workers[$0].run() }
        let operations = workers.reduce(into: [String: Int]()) { all, worker in all.merge(worker.operations) { $0 + $1 } }
        print("sequence fuzz: \(fuzz.count) operations over \(Self.connections) connections in \(String(format: "%.1f", Date().timeIntervalSince(started))) s: \(operations.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))")
        fuzz.checkAlive()
        if fuzz.daemon.process.isRunning {
            let checked = try workers.reduce(0) { $0 + (try $1.checkAcknowledged()) }
            XCTAssertGreaterThan(checked, 0, "some writes were acknowledged")
            print("sequence fuzz: \(checked) acknowledged documents and deletes read back")
        }
        fuzz.report()
    }
}

/// One connection of the sequence fuzz, and its model of the acknowledged state: for each
/// index it wrote to, the text of each of its documents there. Sendable unchecked: each runs
/// on one thread, and is read after `concurrentPerform` returns.
final class SequenceWorker: @unchecked Sendable {
    let number: Int
    let fuzz: ValueFuzzDaemon
    let count: Int
    private var rng: SplitMix64
    private var client: UnixHTTPClient
    private var model: [String: [String: String]] = [:]
    /// Ids acknowledged as deleted (and not written again since), to check they stay gone.
    private var deleted: [String: Set<String>] = [:]
    private var next = 0
    private(set) var operations: [String: Int] = [:]
    /// The index this connection creates and drops; others only search it.
    var own: String { "own-\(number)" }

    init(number: Int, fuzz: ValueFuzzDaemon, operations: Int) throws {
        self.number = number
        self.fuzz = fuzz
        count = operations
        rng = SplitMix64(seed: fuzz.seed &+ UInt64(number) &* 0x9E37_79B9)
        client = try fuzz.daemon.client()
    }

    func run() {
        for _ in 0..<count {
            guard fuzz.daemon.process.isRunning else { return }
            let roll = rng.next() % 100
            switch roll {
            case 0..<30: write(batch: 1)
            case 30..<42: write(batch: 2 + Int(rng.next() % 30))
            case 42..<52: delete()
            case 52..<72: search(batch: nil)
            case 72..<80: search(batch: 1 + Int(rng.next() % 8))
            case 80..<86: read()
            case 86..<88: backup()
            case 88..<95: create()
            default: drop()
            }
        }
    }

    // MARK: operations

    /// The indexes this connection may write to now: the shared ones, and its own if it exists.
    private var writable: [FuzzTarget] {
        ValueFuzzDaemon.targets + (model[own] != nil ? [FuzzTarget(name: own, dimensions: 8, text: false)] : [])
    }

    private func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }

    private func write(batch: Int) {
        var target = pick(writable)
        // Texts go through the encoder: a few, rarely, or the debug build's run gets long.
        if target.text, rng.next() % 4 != 0 { target = ValueFuzzDaemon.targets[0] }
        let size = target.text ? min(batch, 3) : batch
        var used: Set<String> = []
        var documents: [(id: String, text: String, vector: JSON?)] = (0..<size).map { _ in
            next += 1
            // Now and then an id this connection wrote before: an overwrite.
            let known = model[target.name].flatMap { $0.isEmpty || self.rng.next() % 3 != 0 ? nil : Array($0.keys) }.map(pick)
            let id = known.flatMap { used.contains($0) ? nil : $0 } ?? "w\(number)-\(next)"
            used.insert(id)
            return (id, "w\(number) write \(next)", target.text ? nil : .array(vector(Int(rng.next() % 1_000_000), dims: 8).map(JSON.float)))
        }
        // One id twice in a write: the later one wins.
        if size > 1, rng.next() % 4 == 0 {
            documents[documents.count - 1].id = documents[0].id
        }
        let body: JSON = ["documents": .array(documents.map { document in
            var object: [String: JSON] = ["id": .string(document.id), "text": .string(document.text), "meta": ["by": JSON(number)]]
            object["vector"] = document.vector
            return .object(object)
        })]
        let reply = send("write", "POST", "/indexes/\(target.name)/documents", body)
        guard reply?.status == 200 else { return expectOverload(reply, "a valid write to \(target.name)") }
        for document in documents {
            model[target.name, default: [:]][document.id] = document.text
            deleted[target.name]?.remove(document.id)
        }
    }

    private func delete() {
        let target = pick(writable)
        let ids = Array(model[target.name]?.keys ?? [:].keys)
        // Mostly a document it has; sometimes one that never was.
        let id = ids.isEmpty || rng.next() % 5 == 0 ? "w\(number)-never-\(rng.next() % 100)" : pick(ids)
        let reply = send("delete", "DELETE", "/indexes/\(target.name)/documents/\(id)")
        let had = model[target.name]?[id] != nil
        switch reply?.status {
        case 200:
            if !had { fuzz.fail("delete of a document never written answered 200", "\(target.name)/\(id), seed \(fuzz.seed)") }
            model[target.name]?[id] = nil
            deleted[target.name, default: []].insert(id)
        case 404:
            if had { fuzz.fail("an acknowledged document was gone at its delete", "\(target.name)/\(id), seed \(fuzz.seed)") }
        default: expectOverload(reply, "a delete on \(target.name)")
        }
    }

    private func search(batch: Int?) {
        let target = pick(ValueFuzzDaemon.targets + [FuzzTarget(name: "own-\(rng.next() % UInt64(SequenceFuzzTests.connections))", dimensions: 8, text: false)])
        func query() -> JSON {
            var query: [String: JSON] = ["k": JSON(1 + Int(rng.next() % 20))]
            if target.text { query["query"] = .string(pick(["red fox", "a café", "package", "数据"])) } else {
                query["vector"] = .array(vector(Int(rng.next() % 1_000_000), dims: 8).map(JSON.float))
            }
            if rng.next() % 3 == 0 { query["include_text"] = true }
            if rng.next() % 4 == 0 { query["deadline_ms"] = JSON(Double(1 + rng.next() % 1_000)) }
            if rng.next() % 5 == 0 { query["ef"] = JSON(1 + Int(rng.next() % 200)) }
            return .object(query)
        }
        let reply = batch.map { send("batch search", "POST", "/indexes/\(target.name)/search/batch", ["queries": .array((0..<$0).map { _ in query() })]) }
            ?? send("search", "POST", "/indexes/\(target.name)/search", query())
        // Another connection's own index may be gone: 404 then.
        if reply?.status == 404, target.name.hasPrefix("own-"), target.name != own || model[own] == nil { return }
        if reply?.status != 200 { expectOverload(reply, "a valid search of \(target.name)") }
    }

    private func read() {
        let target = pick(writable)
        guard let (id, text) = model[target.name]?.randomElement(using: &rng) else { return }
        let reply = send("read", "GET", "/indexes/\(target.name)/documents/\(id)")
        if let reply, reply.status != 200 || reply.json?["text"]?.string != text {
            fuzz.fail("an acknowledged write read back wrong", "\(target.name)/\(id): \(reply.status) \(reply.errorMessage.prefix(200)), wanted text \(text); seed \(fuzz.seed)")
        }
    }

    private func backup() {
        let target = pick(writable)
        guard let reply = send("backup", "POST", "/indexes/\(target.name)/backup") else { return }
        fuzz.removeBackup(reply)
        // 409: another connection's backup of the same index is waiting or running.
        if ![200, 409].contains(reply.status) { expectOverload(reply, "a backup of \(target.name)") }
    }

    private func create() {
        let reply = send("create", "PUT", "/indexes/\(own)", ["dimensions": 8])
        switch reply?.status {
        case 201: model[own] = [:]; deleted[own] = nil
        case 409 where model[own] != nil: break
        default: expectOverload(reply, "PUT of \(own), which \(model[own] == nil ? "did not exist" : "existed")")
        }
    }

    private func drop() {
        let reply = send("drop", "DELETE", "/indexes/\(own)")
        switch reply?.status {
        case 200 where model[own] != nil: model[own] = nil; deleted[own] = nil
        case 404 where model[own] == nil: break
        default: expectOverload(reply, "DELETE of \(own), which \(model[own] == nil ? "did not exist" : "existed")")
        }
    }

    // MARK: checks

    private func send(_ operation: String, _ method: String, _ path: String, _ body: JSON? = nil) -> UnixHTTPClient.Reply? {
        operations[operation, default: 0] += 1
        return fuzz.send(FuzzRequest(method: method, path: path, body: body?.bytes, description: "\(method) \(path) (connection \(number), \(operation))"),
                         on: &client)
    }

    /// A valid request's answer other than success may only be the server being busy or full.
    private func expectOverload(_ reply: UnixHTTPClient.Reply?, _ what: String) {
        guard let reply, ![503, 507].contains(reply.status) else { return }
        fuzz.fail("\(what) answered \(reply.status)", "\(reply.errorMessage.prefix(300)); seed \(fuzz.seed)")
    }

    /// Every document the model holds is there with its text; every one it deleted is gone.
    /// Returns how many it checked.
    func checkAcknowledged() throws -> Int {
        var checked = 0
        let client = try fuzz.daemon.client()
        for (index, documents) in model {
            for (id, text) in documents {
                checked += 1
                let reply = try client.send("GET", "/indexes/\(index)/documents/\(id)")
                if reply.status != 200 || reply.json?["text"]?.string != text {
                    fuzz.fail("an acknowledged write was lost", "\(index)/\(id): \(reply.status) \(reply.errorMessage.prefix(200)), wanted text \(text); seed \(fuzz.seed)")
                }
            }
            for id in deleted[index] ?? [] {
                checked += 1
                let status = try client.send("GET", "/indexes/\(index)/documents/\(id)").status
                if status != 404 { fuzz.fail("a deleted document came back", "\(index)/\(id): \(status); seed \(fuzz.seed)") }
            }
        }
        if model[own] == nil, try client.send("GET", "/indexes/\(own)").status != 404 {
            fuzz.fail("a dropped index came back", "\(own); seed \(fuzz.seed)")
        }
        return checked
    }
}
