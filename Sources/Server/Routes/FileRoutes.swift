import Engine
import NIOCore

/// `GET|POST /indexes/{name}/files`: the records folder indexing keeps of the files it read,
/// so that `mrl index FOLDER` through a daemon re-reads only what changed, as it does alone.
extension Application {
    /// Records of each kind one request may carry (api/openapi.json says so too).
    static let fileRecordsPerRequest = 1_000

    func fileRecords(index name: String) throws -> Response {
        .json(["files": .array(try registry.index(name).index.fileRecords().map(\.json))])
    }

    /// `{"put": [records], "forget": [paths]}`, in one transaction after the writes queued before it.
    func updateFileRecords(_ request: Request, index name: String, on loop: EventLoop) throws -> EventLoopFuture<Response> {
        let target = try registry.writable(name)
        let fields = Fields(try request.jsonObject(maxDepth: configuration.maxJSONDepth))
        try fields.allowOnly(["put", "forget"])
        let put = try fields.optionalArray("put", max: Application.fileRecordsPerRequest).enumerated().map { i, item in
            do throws(JSONDecodingError) {
                return try FolderIngest.FileRecord(json: item)
            } catch {
                throw APIError.field("put[\(i)]" + (error.field.isEmpty ? "" : "." + error.field), error.problem)
            }
        }
        let forget = try fields.optionalArray("forget", max: Application.fileRecordsPerRequest).enumerated().map { i, item in
            guard let path = item.string, !path.isEmpty else { throw APIError.field("forget[\(i)]", "must be a file's path") }
            return path
        }
        guard !put.isEmpty || !forget.isEmpty else { throw APIError.field("put", "and \"forget\" are both missing or empty: nothing to do") }
        let promise = loop.makePromise(of: Void.self)
        target.writer.submit(.files(put: put, forget: forget, promise))
        return promise.futureResult.map { .json(["put": JSON(put.count), "forgotten": JSON(forget.count)]) }
    }
}
