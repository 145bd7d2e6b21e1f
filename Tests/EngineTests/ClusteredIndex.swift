import Engine
import Foundation
import TestSupport
import XCTest

/// Indexes of the clustered corpus, with a graph that walks its first 32 dimensions.
extension XCTestCase {
    /// A new index of `docs` (written 1,000 at a time, of their vectors' size) in a temporary data directory.
    func makeClusteredIndex(_ docs: [DocumentInput]) throws -> Index {
        let index = try Index.create(name: "g", in: temporaryData(self), dimensions: docs.first?.vector?.count ?? ClusteredCorpus.dims, model: nil)
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
