import Foundation
import Store

/// A document to index: an id and a text, a vector in the model's raw space, or both.
public struct DocumentInput: Sendable {
    public var id: String
    public var text: String
    /// Metadata as canonical JSON (sorted keys), or nil.
    public var meta: String?
    /// Bring-your-own embedding; when nil the text is embedded by the model.
    public var vector: [Float]?

    public init(id: String, text: String = "", meta: String? = nil, vector: [Float]? = nil) {
        self.id = id
        self.text = text
        self.meta = meta
        self.vector = vector
    }

    /// Hash of what the document says (text, meta, and its own vector if it brought one),
    /// so an unchanged document is skipped before any embedding work.
    public var contentHash: UInt64 {
        var hash = ContentHash()
        hash.add(text)
        hash.add(meta ?? "")
        if let vector { hash.add(vector) }
        return hash.value
    }
}
