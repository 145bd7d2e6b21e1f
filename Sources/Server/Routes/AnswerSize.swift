import Engine

/// The bytes of texts, metadata and vectors one answer holds (a search, a batch search, a bulk
/// get), bounded by `--max-answer`: past it the request is refused with 413 rather than
/// building an answer of any size in memory.
struct AnswerSize {
    let limit: Int
    private(set) var bytes = 0

    /// A float as JSON takes at most 16 bytes ("-1.23456789e-38" and its comma); vectors are
    /// counted at that bound rather than printed twice.
    static let bytesPerFloat = 16

    init(limit: Int) { self.limit = limit }

    mutating func add(text: String?, meta: String?, vector: [Float]?) throws {
        bytes += (text?.utf8.count ?? 0) + (meta?.utf8.count ?? 0) + (vector?.count ?? 0) * AnswerSize.bytesPerFloat
        guard bytes <= limit else {
            throw APIError(status: .payloadTooLarge, code: "too_large",
                           message: "the answer would hold over \(limit) bytes of texts, metadata and vectors (--max-answer): ask for fewer, or without \"include_text\" or \"include_vectors\"")
        }
    }
}
