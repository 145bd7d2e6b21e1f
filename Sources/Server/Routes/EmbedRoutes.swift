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
        var precision: Precision?
        if let given = try fields.string("precision") {
            guard let known = Precision(rawValue: given) else {
                throw APIError.field("precision", "must be one of \(Precision.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(given)\"")
            }
            precision = known
        }
        let identity = try model(ofIndex: try fields.string("index")) ?? Model.identity(precision: precision ?? .fp32)
        if let precision, precision.rawValue != identity.precision {
            throw APIError.field("precision", "is \(precision.rawValue), but the index embeds at \(identity.precision): leave out \"precision\" to get the index's vectors")
        }
        return try batcher.embed(texts, precision: Precision(rawValue: identity.precision) ?? .fp32, on: loop).map { vectors in
            .json(["vectors": .array(vectors.map { .array($0.map(JSON.float)) }),
                   "dimensions": JSON(vectors.first?.count ?? Model.defaultDimensions),
                   "model": identity.json])
        }
    }

    /// The model of index `name` (nil when no index is named: the built-in one). An index's
    /// documents are embedded by the built-in model (the model rule), so its vectors are the
    /// model's: the index only has to have one.
    private func model(ofIndex name: String?) throws -> ModelIdentity? {
        guard let name else { return nil }
        do {
            try DataDirectory.checkIndexName(name)
        } catch {
            throw APIError.field("index", "names no index: \(error)")
        }
        let index = try registry.index(name).index
        _ = try index.textPrecision()  // one this mrl has
        guard index.acceptsText, let identity = index.manifest.model else {
            throw APIError.field("index", "names \"\(name)\", which holds \(index.manifest.dimensions)-d vectors of your own model: it has no model to embed with. Embed with your model, or leave out \"index\" for the built-in model's vectors")
        }
        return identity
    }
}
