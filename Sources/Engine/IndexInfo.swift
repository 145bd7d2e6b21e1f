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

    public var json: [String: Any] {
        [
            "name": name, "documents": documents, "dimensions": manifest.dimensions,
            "format": manifest.format, "vector_type": manifest.vectorType,
            "prefix_segments": manifest.segmentBoundaries,
            "model": manifest.model.map { ["name": $0.name, "fingerprint": $0.fingerprint] } as Any? ?? NSNull(),
            "head": ["kind": manifest.head.kind, "version": manifest.head.version],
            "created_at": manifest.createdAt, "file_bytes": fileBytes, "used_bytes": usedBytes,
            "map_bytes": mapBytes, "kernel_isa": kernelISA,
        ]
    }
}

extension Index {
    public func info() throws -> IndexInfo {
        let usage = try store.diskUsage()
        return IndexInfo(name: name, documents: try store.read { try $0.documentCount() }, manifest: manifest,
                         fileBytes: usage.fileBytes, usedBytes: usage.usedBytes, mapBytes: store.mapSize,
                         kernelISA: ExactSearch.kernelISA)
    }
}
