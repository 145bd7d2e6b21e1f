import Embedding
import Foundation

extension DocumentInput {
    /// The document cut into chunks `ID#N` of at most `tokens` tokens ([CLS] and [SEP]
    /// included) when its text is longer than that, each with the document's meta plus
    /// {parent, chunk, bytes, lines}; itself when it fits, or brings its own vector.
    public func chunked(tokens: Int, overlap: Int, encoder: TextEncoder) -> [DocumentInput] {
        guard vector == nil, encoder.tokenCount(text) > tokens - 2 else { return [self] }
        var chunker = Chunker(maxTokens: tokens - 2, overlap: overlap, count: encoder.tokenCount)
        var offset = 0
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            chunker.add(line: String(line), number: i + 1, offset: offset)
            offset += line.utf8.count + 1
        }
        let base = meta.flatMap { try? JSON.parse($0).object } ?? [:]
        return chunker.finish().enumerated().map { n, chunk in
            var fields = base
            fields["parent"] = .string(id)
            fields["chunk"] = JSON(n)
            fields["bytes"] = [JSON(chunk.bytes.lowerBound), JSON(chunk.bytes.upperBound)]
            fields["lines"] = [JSON(chunk.lines.lowerBound), JSON(chunk.lines.upperBound)]
            return DocumentInput(id: ChunkID.make(id, n), text: chunk.text, meta: JSON.object(fields).serialized)
        }
    }
}
