import Engine
import NIOCore
import Store

/// `POST /indexes/{name}/documents`, `GET|DELETE /indexes/{name}/documents/{id}`.
extension Application {
    func upsert(_ request: Request, index name: String, on loop: EventLoop) throws -> EventLoopFuture<Response> {
        let target = try registry.writable(name)
        let fields = Fields(try request.jsonObject(maxDepth: configuration.maxJSONDepth))
        try fields.allowOnly(["documents"])
        let items = try fields.array("documents", max: configuration.maxBatchDocuments)
        let dimensions = target.index.manifest.dimensions
        let documents = try items.enumerated().map { i, item -> DocumentInput in
            let element = try fields.element(item, of: "documents", at: i)
            let document = try DocumentParser.document(element.object) { field, message in
                APIError.field(element.path + (field ?? ""), message)
            }
            if let vector = document.vector, vector.count != dimensions {
                throw APIError.field(element.path + "vector", "has \(vector.count) dimensions, index \"\(name)\" has \(dimensions)")
            }
            if document.vector == nil, !target.index.acceptsText {
                throw APIError.field(element.path + "vector", "is missing: index \"\(name)\" holds \(dimensions)-d vectors of your own model, so each document needs one")
            }
            return document
        }
        let promise = loop.makePromise(of: WriteReport.self)
        target.writer.submit(.upsert(documents, promise))
        return promise.futureResult.map { report in
            .json(["added": JSON(report.added), "changed": JSON(report.changed), "unchanged": JSON(report.unchanged)])
        }
    }

    func document(index name: String, id: String) throws -> Response {
        guard let document = try registry.index(name).index.document(id: id) else {
            throw APIError.documentNotFound(index: name, id: id)
        }
        return .json(document.json)
    }

    func deleteDocument(index name: String, id: String, on loop: EventLoop) throws -> EventLoopFuture<Response> {
        let target = try registry.writable(name)
        let promise = loop.makePromise(of: Bool.self)
        target.writer.submit(.delete(id, promise))
        return promise.futureResult.flatMapThrowing { existed in
            guard existed else { throw APIError.documentNotFound(index: name, id: id) }
            return .json(["deleted": .string(id)])
        }
    }
}
