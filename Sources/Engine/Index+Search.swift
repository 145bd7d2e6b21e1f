import Foundation
import Search
import Store

extension VectorBlock: PrefixBlock {}

extension Index {
    /// Exact cosine top-k over the first `dims` coordinates (all when nil) of the head's space.
    /// Throws `invalidRequest` for a bad field, `modelUnavailable` for a text query
    /// without the model, and the store's read errors.
    public func search(_ request: SearchRequest) throws -> SearchResult {
        try request.validate(dimensions: manifest.dimensions)
        let vector: [Float]
        if let text = request.query {
            guard acceptsText else {
                throw EngineError.invalidRequest(field: "query", message:
                    "index \"\(name)\" holds vectors of your own model (\(manifest.dimensions)-d): search it with a vector")
            }
            vector = try Model.encoder().embed([text])[0]
        } else {
            vector = request.vector!
        }
        let dims = request.dims ?? manifest.dimensions
        let start = DispatchTime.now()
        return try store.read { snapshot in
            // Prefixes are taken in the head's space: rotate the query as the vectors were.
            let (record, head) = try currentHead(in: snapshot)
            let query = head.apply(vector)
            guard query[0..<dims].contains(where: { $0 != 0 }) else {
                throw EngineError.invalidRequest(field: "vector", message: "its first \(dims) dimensions in the index's head space are all zero: no direction to search")
            }
            let blocks = try snapshot.vectorBlocks(space: record?.space ?? .raw)
            let (hits, cost) = ExactSearch.run(query: query, dimensions: dims, k: request.k, blocks: blocks,
                                                 layout: layout, threads: scanThreads)
            let resolved = try hits.map { hit -> SearchHit in
                guard let doc = try snapshot.document(internalID: hit.id) else {
                    throw StoreError.corrupt(path: store.directory, detail: "live vector \(hit.id) has no document")
                }
                return SearchHit(id: doc.id, score: hit.score,
                                 text: request.includeText ? doc.text : nil,
                                 meta: request.includeText ? doc.meta : nil)
            }
            let took = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
            return SearchResult(
                hits: resolved,
                plan: SearchPlan(graphDims: nil, ef: nil, stages: [.init(dims: dims, keep: request.k)], earlyExit: nil, exact: true),
                partial: false, predictedMs: nil, tookMs: took,
                distanceComputations: cost.distanceComputations, bytesTouched: cost.bytesTouched)
        }
    }
}
