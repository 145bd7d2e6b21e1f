import Foundation
import Store

extension Index {
    /// Upserts a batch in one durable transaction (see `IndexStore.upsert`). Documents
    /// without a vector are embedded by the model, except those whose content is unchanged,
    /// which are skipped before any embedding work. The current head's copy and the ANN
    /// graph are updated in the same transaction.
    /// Throws `invalidRequest` for a text-only document in an index of foreign vectors,
    /// `modelUnavailable`, and the store's errors; nothing of the batch is written then.
    public func upsert(_ documents: [DocumentInput]) throws -> WriteReport {
        try upsert(groups: [documents])[0]
    }

    /// Upserts several batches (the daemon's concurrent write requests) in one transaction,
    /// one fsync for all, and reports what happened to each batch's documents.
    public func upsert(groups: [[DocumentInput]]) throws -> [WriteReport] {
        let documents = groups.flatMap { $0 }
        for doc in documents {
            if let vector = doc.vector, let problem = VectorValues.problem(vector) {
                throw EngineError.invalidRequest(field: "vector", message: "of document \"\(doc.id)\" \(problem)")
            }
        }
        let hashes = documents.map(\.contentHash)
        let stored = try store.storedHashes(for: documents.map(\.id))
        // An id given twice replaces its earlier occurrence: all its occurrences go to the
        // store, which writes the last one (or skips it, if that is what is stored).
        var occurrences: [String: Int] = [:]
        for doc in documents { occurrences[doc.id, default: 0] += 1 }
        var earlier = Set<String>()
        var reports: [WriteReport] = []
        var pending: [(DocumentInput, UInt64)] = []
        var offset = 0
        for group in groups {
            var report = WriteReport()
            for i in offset..<offset + group.count {
                switch stored[i] {
                case _ where !earlier.insert(documents[i].id).inserted: report.changed += 1
                case hashes[i]: report.unchanged += 1
                case nil: report.added += 1
                default: report.changed += 1
                }
                if stored[i] != hashes[i] || occurrences[documents[i].id, default: 0] > 1 {
                    pending.append((documents[i], hashes[i]))
                }
            }
            reports.append(report)
            offset += group.count
        }
        let needText = pending.indices.filter { pending[$0].0.vector == nil }
        var embeddings: [[Float]] = []
        if !needText.isEmpty {
            guard acceptsText else {
                throw EngineError.invalidRequest(field: "vector", message:
                    "document \"\(pending[needText[0]].0.id)\" has no vector, and index \"\(name)\" holds \(manifest.dimensions)-d vectors of your own model: give each document a vector")
            }
            embeddings = try Model.encoder().embed(needText.map { pending[$0].0.text }, lane: .bulk, precision: textPrecision())
        }
        var writes = pending.map { doc, hash in
            DocumentWrite(id: doc.id, text: doc.text, meta: doc.meta, vector: doc.vector ?? [], contentHash: hash)
        }
        for (j, i) in needText.enumerated() { writes[i].vector = embeddings[j] }
        // The head's copy is computed here, from the head the store then checks is still current.
        let (record, head) = try currentHead()
        if head.kind != .none, !writes.isEmpty {
            let rotated = head.apply(rows: writes.flatMap(\.vector), count: writes.count)
            let d = manifest.dimensions
            for i in writes.indices { writes[i].headVector = Array(rotated[i * d..<(i + 1) * d]) }
        }
        _ = try changingGraph {
            try store.upsert(writes, head: record) { graph, rows in
                let written = zip(rows, writes).compactMap { row, write in row.map { ($0, write.headVector ?? write.vector) } }
                try self.updateGraph(graph, head: record, written: written, deleted: [])
            }
        }
        return reports
    }
}
