import Engine
import NIOCore
import Store

/// `POST /indexes/{name}/documents`, `GET|DELETE /indexes/{name}/documents/{id}`, and by
/// ids in bulk: `POST /indexes/{name}/documents/get` and `/documents/delete`.
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
        let promise = loop.makePromise(of: [String].self)
        target.writer.submit(.delete([id], promise))
        return promise.futureResult.flatMapThrowing { deleted in
            guard !deleted.isEmpty else { throw APIError.documentNotFound(index: name, id: id) }
            return .json(["deleted": .string(id)])
        }
    }

    /// `{"ids": [...], "include_vectors": bool}` → the documents found, in the order asked,
    /// and the ids missing; read from one snapshot.
    func documents(_ request: Request, index name: String) throws -> Response {
        let index = try registry.index(name).index
        let fields = Fields(try request.jsonObject(maxDepth: configuration.maxJSONDepth))
        try fields.allowOnly(["ids", "include_vectors"])
        let ids = try documentIDs(fields)
        let found = try index.documents(ids: ids, withVectors: try fields.bool("include_vectors") ?? false)
        var answer = AnswerSize(limit: configuration.maxAnswerBytes)
        let documents = try found.map { document, vector in
            try answer.add(text: document.text, meta: document.meta, vector: vector)
            return document.json(vector: vector)
        }
        let foundIDs = Set(found.map(\.document.id))
        return .json(["documents": .array(documents), "missing": .array(ids.filter { !foundIDs.contains($0) }.map(JSON.string))])
    }

    /// `{"ids": [...]}` → how many were deleted and the ids missing: one transaction,
    /// answered once it is durable.
    func deleteDocuments(_ request: Request, index name: String, on loop: EventLoop) throws -> EventLoopFuture<Response> {
        let target = try registry.writable(name)
        let fields = Fields(try request.jsonObject(maxDepth: configuration.maxJSONDepth))
        try fields.allowOnly(["ids"])
        let ids = try documentIDs(fields)
        let promise = loop.makePromise(of: [String].self)
        target.writer.submit(.delete(ids, promise))
        return promise.futureResult.map { deleted in
            let gone = Set(deleted)
            return .json(["deleted": JSON(deleted.count), "missing": .array(ids.filter { !gone.contains($0) }.map(JSON.string))])
        }
    }

    /// The `ids` field of a bulk get or delete, each checked as a document's id, repeats
    /// dropped (the first kept), at most as many as documents in one write.
    private func documentIDs(_ fields: Fields) throws -> [String] {
        var seen = Set<String>()
        return try fields.array("ids", max: configuration.maxBatchDocuments).enumerated().compactMap { i, item in
            let id = try DocumentParser.id(item) { APIError.field("ids[\(i)]", $0) }
            return seen.insert(id).inserted ? id : nil
        }
    }
}
