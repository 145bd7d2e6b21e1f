import Foundation
import Search
import Store

/// What `mrl info` and `GET /indexes/{name}` report about an index.
public struct IndexInfo: Sendable {
    public var name: String
    public var documents: Int
    public var manifest: Manifest
    public var fileBytes: Int
    public var usedBytes: Int
    public var mapBytes: Int
    public var kernelISA: String
    /// The head searches use (nil: never set, the identity) and one left half-written, if any.
    public var head: HeadRecord?
    public var pendingHead: HeadRecord?

    public var json: [String: Any] {
        [
            "name": name, "documents": documents, "dimensions": manifest.dimensions,
            "format": manifest.format, "vector_type": manifest.vectorType,
            "prefix_segments": manifest.segmentBoundaries,
            "model": manifest.model.map { ["name": $0.name, "fingerprint": $0.fingerprint] } as Any? ?? NSNull(),
            "head": [
                "kind": head?.kind ?? "none", "version": head?.version ?? 0, "fitted_on": head?.fittedOn ?? 0,
                "automatic": head?.automatic ?? true, "pending": pendingHead?.kind as Any? ?? NSNull(),
            ] as [String: Any],
            "created_at": manifest.createdAt, "file_bytes": fileBytes, "used_bytes": usedBytes,
            "map_bytes": mapBytes, "kernel_isa": kernelISA,
        ]
    }
}

extension Index {
    public func info() throws -> IndexInfo {
        let usage = try store.diskUsage()
        return try store.read { snapshot in
            IndexInfo(name: name, documents: try snapshot.documentCount(), manifest: manifest,
                      fileBytes: usage.fileBytes, usedBytes: usage.usedBytes, mapBytes: store.mapSize,
                      kernelISA: ExactSearch.kernelISA, head: try snapshot.head(), pendingHead: try snapshot.pendingHead())
        }
    }
}

extension IndexInfo {
    /// One line for people: which head, fitted on how much, and whether it refits itself.
    public var headDescription: String {
        guard let head, !head.isIdentity else {
            let auto = head?.automatic ?? true
            return "none (plain truncation)" + (auto ? "; PCA is fitted from \(Index.automaticHeadMinimum.formatted()) documents on" : ", chosen by hand")
                + (pendingHead.map { "; an interrupted \($0.kind) fit is left over (the next fit discards it)" } ?? "")
        }
        return "\(head.kind) v\(head.version), fitted on \(head.fittedOn.formatted()) documents"
            + (head.automatic ? " (refitted automatically at \(Index.automaticHeadRegrowth)x growth)" : " (chosen by hand)")
    }
}
