import Engine
import NIOCore
import Store

/// `GET|PUT|DELETE /indexes/{name}/queries`: the index's query log (see `QueryLog`): read in
/// pages, its switches turned, emptied.
extension Application {
    /// Queries one page may hold (a 384-d query is about 4 kB of JSON).
    static let queryLogPage = 1_000

    func queryLog(_ request: Request, index name: String) throws -> Response {
        let index = try registry.index(name).index
        func number(_ key: String, default value: Int, max: Int) throws -> Int {
            guard let text = request.query[key] else { return value }
            guard let n = Int(text), (0...max).contains(n) else { throw APIError.field(key, "must be a whole number from 0 to \(max), got \"\(text.prefix(40))\"") }
            return n
        }
        let offset = try number("offset", default: 0, max: QueryLogPage.maxOffset)
        let limit = try number("limit", default: Application.queryLogPage, max: Application.queryLogPage)
        return .json(try index.queryLog(offset: offset, limit: limit).json)
    }

    /// `PUT {"enabled": bool, "include_text": bool}` (either may be left out), or `DELETE`:
    /// written in the writer's order, answered with the log's state.
    func changeQueryLog(_ request: Request, index name: String, clear: Bool, on loop: EventLoop) throws -> EventLoopFuture<Response> {
        let target = try registry.writable(name)
        var enabled: Bool?, includeText: Bool?
        if !clear, request.body.readableBytes > 0 {
            let fields = Fields(try request.jsonObject(maxDepth: configuration.maxJSONDepth))
            try fields.allowOnly(["enabled", "include_text"])
            enabled = try fields.bool("enabled")
            includeText = try fields.bool("include_text")
        }
        let promise = loop.makePromise(of: QueryLogState.self)
        target.writer.submit(.queryLog(enabled: enabled, includeText: includeText, clear: clear, promise))
        return promise.futureResult.map { state in .json(QueryLogPage(state: state, count: state.stored, offset: 0, queries: []).json) }
    }
}
