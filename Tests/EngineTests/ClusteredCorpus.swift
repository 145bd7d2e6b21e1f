import Engine
import Foundation
import Search
import XCTest

/// A 64-d corpus of vectors around 60 random centres, so neighbourhoods are meaningful (as in
/// real embeddings) and recall measures the graph, not the hubness of uniform noise; and
/// indexes of it with a graph that walks the first 32 dimensions.
enum ClusteredCorpus {
    static let dims = 64
    static let graphDims = 32

    static let centres: [[Float]] = {
        var rng = SplitMix64(seed: 5)
        return (0..<60).map { _ in (0..<dims).map { _ in uniform(&rng) } }
    }()

    /// Documents `start ..< start + count`, "d<n>", each near centre n mod 60.
    static func documents(_ count: Int, from start: Int = 0) -> [DocumentInput] {
        (start..<start + count).map { n in
            var rng = SplitMix64(seed: UInt64(n) &+ 1_000)
            return DocumentInput(id: "d\(n)", text: "doc \(n)", vector: centres[n % 60].map { $0 + 0.4 * uniform(&rng) })
        }
    }

    static func uniform(_ rng: inout SplitMix64) -> Float { Float(Int(rng.next() % 2_000_001) - 1_000_000) / 1e6 }
}

extension XCTestCase {
    /// A new index of `docs` (written 1,000 at a time) in a temporary data directory.
    func makeClusteredIndex(_ docs: [DocumentInput]) throws -> Index {
        let index = try Index.create(name: "g", in: temporaryData(self), dimensions: ClusteredCorpus.dims, model: nil)
        for start in stride(from: 0, to: docs.count, by: 1000) { _ = try index.upsert(Array(docs[start..<min(start + 1000, docs.count)])) }
        return index
    }

    func buildClusteredGraph(_ index: Index) throws {
        var options = Index.GraphOptions()
        options.dims = ClusteredCorpus.graphDims
        options.m = 24
        try index.buildGraph(options)
    }
}
