import Foundation
import Search
import Store

/// A stored ANN graph ready to walk, for one committed state of an index: its `core` (data
/// copied or computed out of the map, shared by every state with the same vectors, head and
/// graph) and the funnel over this state's vector blocks (pointers into the map, valid for
/// this state only).
final class LoadedGraph: @unchecked Sendable {  // immutable after init
    let version: CommittedVersion
    let core: GraphCore
    /// The funnel over this state's blocks: the head's copy, and the raw vectors for full dimensions.
    let funnel: Funnel

    var record: GraphRecord { core.record }
    var graph: MappedGraph { core.graph }
    var vectors: GraphVectors { core.vectors }

    init(core: GraphCore, snapshot: Snapshot, blocks: [VectorBlock], rawBlocks: [VectorBlock], layout: PrefixLayout, blockRows: Int) {
        version = snapshot.version
        self.core = core
        funnel = Funnel(blocks: blocks, fullBlocks: rawBlocks, layout: layout, blockRows: blockRows)
    }
}

/// What walking a graph needs that does not point into the map: level 0 copied out of it,
/// the upper levels decoded, and the walk's vectors (the head-space prefix, renormalised,
/// int8) computed from the vector blocks, which is cheaper than storing a third copy of every
/// vector. Costly to make (tens of ms at 60,000 vectors), so it is kept while `key` holds:
/// a commit that changes no vector, head or graph (the query log's) makes none anew.
final class GraphCore: @unchecked Sendable {  // immutable after init
    struct Key: Equatable {
        var vectorsGeneration: UInt64
        var head: HeadRecord?
        var graph: GraphRecord
    }

    let key: Key
    let record: GraphRecord
    let graph: MappedGraph
    let vectors: GraphVectors
    /// Level 0's rows, copied from the map.
    private let level0Copy: UnsafeMutableRawPointer

    /// Loads the graph of `snapshot`, whose vector blocks in the graph's head space are
    /// `blocks`. Throws `StoreError.corrupt` when the stored graph does not decode.
    init(key: Key, snapshot: Snapshot, blocks: [VectorBlock], layout: PrefixLayout) throws {
        self.key = key
        let record = key.graph
        self.record = record
        let rows = blocks.last.map { Int($0.firstID) + $0.rows } ?? 0
        vectors = LoadedGraph.walkVectors(blocks: blocks, rows: rows, dims: record.dims, layout: layout,
                                          encoding: GraphVectors.Encoding(rawValue: record.encoding) ?? .int8)
        let blockCount = (rows + 1023) / 1024
        guard let data = try snapshot.graphData(blockCount: blockCount) else {
            throw StoreError.corrupt(path: snapshot.path, detail: "graph record without graph data")
        }
        let upper: GraphUpperLevels
        do {
            upper = try GraphUpperLevels(decoding: data.upperLevels)
        } catch {
            throw StoreError.corrupt(path: snapshot.path, detail: "graph upper levels: \(error)")
        }
        guard upper.idLimit <= rows, upper.m == record.m else {
            throw StoreError.corrupt(path: snapshot.path, detail: "graph of \(upper.idLimit) ids and M \(upper.m) over \(rows) rows and M \(record.m)")
        }
        // Level 0 is copied out of the map into one run of (huge-page) memory: a walk jumps
        // between rows at random, and on the map's 4 KB pages each jump would miss the TLB too.
        let level0Blocks = Array(data.level0.prefix((upper.idLimit + 1023) / 1024))
        let rowBytes = (1 + 2 * upper.m) * 4  // a row: count word, then 2M links
        for (i, block) in level0Blocks.enumerated() where block.count != min(1024, upper.idLimit - i * 1024) * rowBytes {
            throw StoreError.corrupt(path: snapshot.path, detail: "graph block \(i) has \(block.count) bytes")
        }
        let total = level0Blocks.reduce(0) { $0 + $1.count }
        let copy = GraphMemory.allocate(byteCount: total)
        var offset = 0
        let level0 = level0Blocks.map { value -> UnsafeRawPointer in
            (copy + offset).copyMemory(from: value.baseAddress!, byteCount: value.count)
            defer { offset += value.count }
            return UnsafeRawPointer(copy + offset)
        }
        level0Copy = copy
        graph = MappedGraph(upperLevels: upper, level0Blocks: level0)
        if let (node, link) = graph.linkPastBound() {
            throw StoreError.corrupt(path: snapshot.path, detail: "graph node \(node) links to \(link), past \(upper.idLimit) ids")
        }
    }

    deinit { GraphMemory.deallocate(level0Copy) }
}

extension LoadedGraph {
    /// Row i: the first `dims` coordinates of vector i, renormalised (zero for a dead row).
    static func walkVectors(blocks: [VectorBlock], rows: Int, dims: Int, layout: PrefixLayout,
                            encoding: GraphVectors.Encoding) -> GraphVectors {
        let segments = layout.boundaries.firstIndex(of: dims)!
        let row = UnsafeMutablePointer<Float>.allocate(capacity: dims)
        defer { row.deallocate() }
        // Each live row's prefix, renormalised, made as the vectors take it (twice for int8).
        return GraphVectors(encoding: encoding, dimensions: dims, rows: rows) { visit in
            for block in blocks {
                for i in 0..<block.rows where block.live[i] != 0 {
                    var squared: Float = 0
                    for s in 0..<segments {
                        let width = layout.width(s)
                        for j in 0..<width { row[layout.boundaries[s] + j] = block.segments[s][i * width + j] }
                        squared += block.segmentSquaredNorms[s][i]
                    }
                    let scale = squared > 0 ? 1 / squared.squareRoot() : 0
                    for j in 0..<dims { row[j] *= scale }
                    visit(Int(block.firstID) + i, row)
                }
            }
        }
    }

    /// One vector's walk row: its first `dims` head-space coordinates, renormalised.
    static func walkRow(_ vector: [Float], dims: Int) -> [Float] {
        let prefix = vector.prefix(dims)
        let norm = prefix.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        return prefix.map { norm > 0 ? $0 / norm : 0 }
    }
}
