import Engine
import NIOCore

/// `GET|PUT /indexes/{name}/head`: the index's head as a file (`HeadFile`), and the
/// installing of one fitted elsewhere (every shard of a sharded index takes the same head).
extension Application {
    func head(index name: String) throws -> Response {
        .json(try registry.index(name).index.headFile().json)
    }

    /// Installs the head in the writer's order (its copy of the vectors and, when the index
    /// has a graph, a graph over it are written before the answer); answers what changed.
    func installHead(_ request: Request, index name: String, on loop: EventLoop) throws -> EventLoopFuture<Response> {
        let target = try registry.writable(name)
        let file = try HeadFile(json: .object(try request.jsonObject(maxDepth: configuration.maxJSONDepth)))
        let promise = loop.makePromise(of: HeadChange.self)
        target.writer.submit(.head(file, promise))
        return promise.futureResult.map { change in .json(change.json) }
    }
}
