import Foundation
import Engine
import NIOCore
import Store

/// `GET /indexes`, `GET|PUT|DELETE /indexes/{name}`, `POST /indexes/{name}/backup`.
extension Application {
    func listIndexes() throws -> Response {
        let infos = try registry.data.indexNames().map { try registry.index($0).index.info() }
        return .json(["indexes": .array(infos.map(\.json))])
    }

    func indexInfo(_ name: String) throws -> Response {
        .json(try registry.index(name).index.info().json)
    }

    /// Creates an index: `{}` (or no body) for texts embedded by the built-in model (with
    /// `"precision": "int8"` for its faster int8 encoder), `{"dimensions": N}` for vectors of
    /// your own model.
    func createIndex(_ request: Request, name: String) throws -> Response {
        var dimensions: Int?
        var precision = Precision.fp32
        if request.body.readableBytes > 0 {
            let fields = Fields(try request.jsonObject(maxDepth: configuration.maxJSONDepth))
            try fields.allowOnly(["dimensions", "precision"])
            dimensions = try fields.int("dimensions")
            if let d = dimensions, !(1...4_096).contains(d) {
                throw APIError.field("dimensions", "must be between 1 and 4096, got \(d)")
            }
            precision = try fields.precision("precision") ?? .fp32
        }
        do {
            let created = try registry.create(name, dimensions: dimensions, precision: precision)
            return .json(try created.index.info().json, status: .created)
        } catch StoreError.indexExists {
            throw APIError(status: .conflict, code: "exists", message: "index \"\(name)\" already exists: DELETE it first to re-create it")
        }
    }

    /// Off the event loop: the drop waits for the write in flight.
    func dropIndex(_ name: String, on loop: EventLoop) -> EventLoopFuture<Response> {
        let promise = loop.makePromise(of: Response.self)
        DispatchQueue.global().async {
            promise.completeWith(Result {
                try self.registry.drop(name)
                return .json(["dropped": .string(name)])
            })
        }
        return promise.futureResult
    }

    /// A compacted hot copy into `backups/` of the data directory, made off the event loop.
    /// Backups run one after another; an index has at most one waiting or running, so
    /// repeated requests cannot queue up copies without end (409 then).
    func backup(_ name: String, on loop: EventLoop) throws -> EventLoopFuture<Response> {
        let target = try registry.index(name)
        guard backupsWaiting.withLock({ $0.insert(name).inserted }) else {
            throw APIError(status: .conflict, code: "conflict",
                           message: "a backup of index \"\(name)\" is already waiting or running: wait for its answer")
        }
        let promise = loop.makePromise(of: Response.self)
        backups.async {
            defer { _ = self.backupsWaiting.withLock { $0.remove(name) } }
            promise.completeWith(Result {
                let (backup, bytes) = try self.registry.data.backup(target.index)
                return .json(["index": .string(name), "backup": .string(backup), "bytes": JSON(bytes),
                              "restore": .string("mrl restore --index \(name) --from \(backup)")])
            })
        }
        return promise.futureResult
    }

    func health() -> Response {
        .json(["status": "ok", "pid": JSON(Int(getpid())), "data": .string(registry.data.path),
               "uptime_s": .number(Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9),
               "indexes_open": JSON(registry.openIndexes.count)])
    }

    func renderMetrics() -> Response {
        for open in registry.openIndexes {
            if let info = try? open.index.info() { metrics.index(open.index.name, documents: info.documents, bytes: info.fileBytes) }
        }
        metrics.bodiesInFlight(bodies.holding)
        return .text(metrics.render(), contentType: "text/plain; version=0.0.4")
    }
}
