import Dispatch
import Engine
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Store
import Synchronization

/// The daemon's request handling: routes, and the state they share. Vector searches and
/// reads run on the event loop that received them; texts go through the encoder's batcher,
/// writes through each index's writer, backups onto their own queue.
final class Application: Sendable {
    let configuration: ServerConfiguration
    let registry: IndexRegistry
    let batcher: EmbedBatcher
    let metrics: ServerMetrics
    let logger: Logger
    let queue: WorkQueue
    let bodies: BodyBudget
    let backups = DispatchQueue(label: "mrl.backups")
    /// Where batch searches run, off the event loops.
    let batchSearches = DispatchQueue(label: "mrl.batch-searches", attributes: .concurrent)
    /// Indexes with a backup waiting on `backups` or being written.
    let backupsWaiting = Mutex<Set<String>>([])
    let started = DispatchTime.now()
    /// Requests being answered now (a shutdown waits for them).
    let requests = RequestsInFlight()

    init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        metrics = ServerMetrics()
        queue = WorkQueue(bound: configuration.maxQueued)
        bodies = BodyBudget(bound: configuration.maxBodyBytesInFlight)
        registry = IndexRegistry(data: configuration.data, queue: queue, logger: logger, idleTimeout: configuration.indexIdleTimeout)
        batcher = EmbedBatcher(wait: configuration.batchWait, maxBatch: configuration.maxEncoderBatch, queue: queue,
                               metrics: metrics)
    }

    /// Answers `request`; never fails: errors become their JSON error response.
    func handle(_ request: Request, on loop: EventLoop) -> EventLoopFuture<Response> {
        let started = DispatchTime.now()
        requests.begin()
        let (route, future) = dispatch(request, on: loop)
        return future.recover { self.errorResponse($0, route: route) }.map { response in
            self.requests.end()
            self.metrics.request(route: route, status: response.status.code, started: started)
            self.logger.debug("\(request.method) /\(request.path.joined(separator: "/")) → \(response.status.code)",
                              metadata: ["route": "\(route)", "ms": "\(Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e6)"])
            return response
        }
    }

    /// The route's label (for metrics) and its answer.
    private func dispatch(_ request: Request, on loop: EventLoop) -> (String, EventLoopFuture<Response>) {
        var route = "unknown"
        do {
            func now(_ body: () throws -> Response) rethrows -> EventLoopFuture<Response> { loop.makeSucceededFuture(try body()) }
            func allow(_ methods: HTTPMethod...) throws {
                guard methods.contains(request.method) else {
                    throw APIError(status: .methodNotAllowed, code: "method_not_allowed",
                                   message: "\(route) takes \(methods.map(\.rawValue).joined(separator: ", ")), not \(request.method.rawValue)",
                                   headers: [("Allow", methods.map(\.rawValue).joined(separator: ", "))])
                }
            }
            switch request.path {
            case ["health"]:
                route = "/health"
                try allow(.GET)
                return (route, now(health))
            case ["metrics"]:
                route = "/metrics"
                try allow(.GET)
                return (route, now(renderMetrics))
            case ["embed"]:
                route = "/embed"
                try allow(.POST)
                return (route, try embed(request, on: loop))
            case ["indexes"]:
                route = "/indexes"
                try allow(.GET)
                return (route, try now(listIndexes))
            case let path where path.count == 2 && path[0] == "indexes":
                route = "/indexes/{name}"
                try allow(.GET, .PUT, .DELETE)
                switch request.method {
                case .PUT: return (route, try now { try createIndex(request, name: path[1]) })
                case .DELETE: return (route, dropIndex(path[1], on: loop))
                default: return (route, try now { try indexInfo(path[1]) })
                }
            case let path where path.count == 3 && path[0] == "indexes" && path[2] == "search":
                route = "/indexes/{name}/search"
                try allow(.POST)
                return (route, try search(request, index: path[1], on: loop))
            case let path where path.count == 4 && path[0] == "indexes" && path[2] == "search" && path[3] == "batch":
                route = "/indexes/{name}/search/batch"
                try allow(.POST)
                return (route, try searchBatch(request, index: path[1], on: loop))
            case let path where path.count == 3 && path[0] == "indexes" && path[2] == "documents":
                route = "/indexes/{name}/documents"
                try allow(.POST)
                return (route, try upsert(request, index: path[1], on: loop))
            case let path where path.count == 4 && path[0] == "indexes" && path[2] == "documents" && request.method == .POST
                && ["get", "delete"].contains(path[3]):
                // POST only: a GET or DELETE of documents/get is of the document with id "get".
                route = "/indexes/{name}/documents/\(path[3])"
                if path[3] == "get" { return (route, try now { try documents(request, index: path[1]) }) }
                return (route, try deleteDocuments(request, index: path[1], on: loop))
            case let path where path.count == 4 && path[0] == "indexes" && path[2] == "documents":
                route = "/indexes/{name}/documents/{id}"
                try allow(.GET, .DELETE)
                if request.method == .DELETE { return (route, try deleteDocument(index: path[1], id: path[3], on: loop)) }
                return (route, try now { try document(index: path[1], id: path[3]) })
            case let path where path.count == 3 && path[0] == "indexes" && path[2] == "queries":
                route = "/indexes/{name}/queries"
                try allow(.GET, .PUT, .DELETE)
                if request.method == .GET { return (route, try now { try queryLog(request, index: path[1]) }) }
                return (route, try changeQueryLog(request, index: path[1], clear: request.method == .DELETE, on: loop))
            case let path where path.count == 3 && path[0] == "indexes" && path[2] == "files":
                route = "/indexes/{name}/files"
                try allow(.GET, .POST)
                if request.method == .POST { return (route, try updateFileRecords(request, index: path[1], on: loop)) }
                return (route, try now { try fileRecords(index: path[1]) })
            case let path where path.count == 3 && path[0] == "indexes" && path[2] == "head":
                route = "/indexes/{name}/head"
                try allow(.GET, .PUT)
                if request.method == .PUT { return (route, try installHead(request, index: path[1], on: loop)) }
                return (route, try now { try head(index: path[1]) })
            case let path where path.count == 3 && path[0] == "indexes" && path[2] == "backup":
                route = "/indexes/{name}/backup"
                try allow(.POST)
                return (route, try backup(path[1], on: loop))
            default:
                throw APIError.noRoute("no route \(request.method.rawValue) /\(request.path.joined(separator: "/")): see api/openapi.json")
            }
        } catch {
            return (route, loop.makeFailedFuture(error))
        }
    }

    /// The JSON error for `error`: the client's mistakes are 4xx with what to do; 5xx only
    /// for the server's own trouble.
    func errorResponse(_ error: Error, route: String) -> Response {
        let api: APIError
        switch error {
        case let e as APIError: api = e
        case EngineError.invalidRequest(let field, let message): api = .field(field, message)
        case let e as EngineError:
            switch e {
            case .modelUnavailable: api = APIError(status: .serviceUnavailable, code: "model_unavailable", message: e.description)
            default: api = .badRequest(e.description)
            }
        case let e as StoreError:
            switch e {
            case .indexNotFound: api = .notFound(e.description)
            case .wrongDimensions, .invalidID: api = .badRequest(e.description)
            case .busyWriter, .headChanged, .indexExists, .backupRunning: api = APIError(status: .conflict, code: "conflict", message: e.description)
            case .diskFull, .mapCapReached: api = APIError(status: .insufficientStorage, code: "no_space", message: e.description)
            case .readOnly: api = APIError(status: .conflict, code: "read_only", message: e.description)
            default: api = APIError(status: .internalServerError, code: "internal", message: e.description)
            }
        default: api = APIError(status: .internalServerError, code: "internal", message: "\(error)")
        }
        if api.status == .serviceUnavailable { metrics.overloaded() }
        if api.status.code >= 500 { logger.warning("\(route): \(api.message)") }
        return api.response
    }
}
