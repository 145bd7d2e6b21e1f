import Foundation
import Store

/// The query log (see `QueryLog`): what searches users send is recorded here, by the daemon
/// and by `mrl search`, never by evaluation or tuning.
extension Index {
    /// Offers a user's query to the log (in memory: see `flushQueryLog`). `vector` is the
    /// query in the model's raw space; `text` is kept only when the log keeps texts.
    public func logQuery(vector: [Float], k: Int, text: String?) {
        guard store.hasQueryLog else { return }
        querySample.record(vector: vector, k: k, text: text) { try store.read { try $0.queryLogState(as: QueryLogState.self) } }
    }

    /// Answers a user's search and offers it to the log, written at once when this process
    /// can take the writer lock (`mrl search`; a daemon logs through `logQuery` and writes
    /// in batches). Evaluation and tuning call `search`, which logs nothing.
    public func answer(_ request: SearchRequest) throws -> SearchResult {
        try request.validate(dimensions: manifest.dimensions)
        var asked = request
        let vector = request.mode == .lexical ? nil : try rawVector(of: request)  // a lexical search embeds nothing
        if request.mode == .semantic { (asked.vector, asked.query) = (vector, nil) } else { asked.embedded = vector }
        let result = try search(asked)
        if let vector {
            logQuery(vector: vector, k: request.k, text: request.query)
            if store.isWriter || (try? store.takeWriterLock()) != nil { try? flushQueryLog() }
        }
        return result
    }

    /// Writes what was logged since the last flush, in one transaction. Needs the writer lock.
    public func flushQueryLog() throws {
        guard let pending = querySample.takePending() else { return }
        try store.writeQueryLog(pending.rows, state: pending.state)
    }

    /// The log's state, how many queries it holds, and those from slot `offset` on (at most `limit`).
    public func queryLog(offset: Int = 0, limit: Int = .max) throws -> QueryLogPage {
        try store.read { snapshot in
            QueryLogPage(state: try querySample.current ?? snapshot.queryLogState(as: QueryLogState.self) ?? QueryLogState(),
                         count: try snapshot.loggedQueryCount(), offset: offset,
                         queries: try snapshot.loggedQueries(offset: offset, limit: limit))
        }
    }

    /// Turns logging on or off, and the keeping of texts (nil: unchanged); `clear` empties
    /// the log. Needs the writer lock.
    public func changeQueryLog(enabled: Bool? = nil, includeText: Bool? = nil, clear: Bool = false) throws -> QueryLogState {
        try flushQueryLog()
        var state = try queryLog(limit: 0).state
        state.enabled = enabled ?? state.enabled
        state.includeText = includeText ?? state.includeText
        if clear {
            state.seen = 0
            state.stored = 0
            try store.clearQueryLog(state: state)
        } else {
            try store.writeQueryLog([], state: state)
        }
        querySample.reset(to: state)
        return state
    }
}

/// A page of the query log, as `GET /indexes/{name}/queries` answers it and `mrl queries`
/// shows and exports it: each query as a line `--queries` reads back ("vector", "k", and
/// "query" when texts are kept).
public struct QueryLogPage: Sendable {
    public static let maxOffset = QueryLog.capacity

    public var state: QueryLogState
    /// Queries the log holds in all.
    public var count: Int
    public var offset: Int
    public var queries: [LoggedQuery]

    public init(state: QueryLogState, count: Int, offset: Int, queries: [LoggedQuery]) {
        (self.state, self.count, self.offset, self.queries) = (state, count, offset, queries)
    }

    public init(json: JSON) throws(JSONDecodingError) {
        let fields = try JSONFields(json, of: QueryLogPage.self)
        state = try QueryLogState(json: json)
        count = try fields["count"]
        offset = try fields["offset"]
        let rows: [JSON] = try fields["queries"]
        queries = try rows.map { row throws(JSONDecodingError) in
            let query = try JSONFields(row, of: LoggedQuery.self)
            return LoggedQuery(time: try query["time"], k: try query["k"], vector: try query["vector"], text: try query.optional("query"))
        }
    }

    public var json: JSON {
        var object = state.json.object ?? [:]
        object["count"] = JSON(count)
        object["offset"] = JSON(offset)
        object["queries"] = .array(queries.map(\.json))
        return .object(object)
    }
}

extension LoggedQuery {
    /// One line of an export: what `--queries` reads ("vector", and "query" when kept).
    public var json: JSON {
        .object(dropping: ["time": .number(time), "k": JSON(k), "vector": .array(vector.map(JSON.float)), "query": text.map(JSON.string)])
    }
}
