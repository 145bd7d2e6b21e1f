import Engine
import NIOCore
import Store

/// `POST /embed`: texts in, their raw vectors out, so that a client gets the vectors an index
/// stores (for max-marginal-relevance search, say) without a second model: embedded at the
/// named index's precision, else at `precision` (default fp32). The texts join the encoder's
/// batches beside text searches'.
extension Application {
    func embed(_ request: Request, on loop: EventLoop) throws -> EventLoopFuture<Response> {
        let fields = Fields(try request.jsonObject(maxDepth: configuration.maxJSONDepth))
        try fields.allowOnly(["texts", "index", "precision"])
        let texts = try fields.array("texts", max: configuration.maxBatchQueries).enumerated().map { i, item in
            guard let text = item.string else { throw APIError.field("texts[\(i)]", "must be a string, got \(item.typeName)") }
            return text
        }
        let requested = try fields.precision("precision")
        let indexModel = try model(ofIndex: try fields.string("index"))
        if let requested, let indexModel, requested != indexModel.precision {
            throw APIError.field("precision", "is \(requested.rawValue), but the index embeds at \(indexModel.precision.rawValue): leave out \"precision\" to get the index's vectors")
        }
        let precision = indexModel?.precision ?? requested ?? .fp32
        let identity = indexModel?.identity ?? Model.identity(precision: precision)
        return try batcher.embed(texts, precision: precision, on: loop).map { vectors in
            .json(["vectors": .array(vectors.map { .array($0.map(JSON.float)) }),
                   "dimensions": JSON(vectors.first?.count ?? Model.defaultDimensions),
                   "model": identity.json])
        }
    }

    /// The model of index `name` and the precision it embeds at (nil when no index is named: the
    /// built-in one). An index's documents are embedded by the built-in model (the model rule),
    /// so its vectors are the model's: the index only has to have one.
    private func model(ofIndex name: String?) throws -> (identity: ModelIdentity, precision: Precision)? {
        guard let name else { return nil }
        do {
            try DataDirectory.checkIndexName(name)
        } catch {
            throw APIError.field("index", "names no index: \(error)")
        }
        let index = try registry.index(name).index
        guard index.acceptsText, let identity = index.manifest.model else {
            throw APIError.field("index", "names \"\(name)\", which holds \(index.manifest.dimensions)-d vectors of your own model: it has no model to embed with. Embed with your model, or leave out \"index\" for the built-in model's vectors")
        }
        return (identity, try index.textPrecision())
    }
}
