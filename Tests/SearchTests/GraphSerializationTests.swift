import Search
import XCTest

/// The stored forms: level-0 blocks read in place, the upper-level blob, the vectors' bytes.
final class GraphSerializationTests: XCTestCase {
    private let dims = 64

    func testStoredGraphSearchesLikeTheOriginal() throws {
        let n = 3_000  // three level-0 blocks, the last one partial
        let rows = GraphFixture.randomUnitVectors(count: n, dimensions: dims, seed: 41)
        let (builder, _) = GraphFixture.build(rows, dimensions: dims, encoding: .int8, threads: 1)
        builder.delete(stride(from: 5, to: UInt32(n), by: 7))  // absent nodes must stay absent
        let layers = builder.layers
        XCTAssertEqual(layers.level0BlockCount, 3)
        XCTAssertEqual(layers.level0Block(2).count, (n - 2048) * (1 + 2 * layers.m) * 4)

        // One byte array per block and per vector store, as separate LMDB values would be.
        let blocks = (0..<layers.level0BlockCount).map { Array(layers.level0Block($0)) }
        XCTAssertTrue(blocks.flatMap { $0 } == Array(layers.level0Bytes))
        let blob = layers.encodeUpperLevels()
        let vectorBytes = Array(builder.vectors.bytes)
        let upper = try blob.withUnsafeBytes { try GraphUpperLevels(decoding: $0) }
        XCTAssertEqual(upper.entryPoint, layers.entryPoint)
        XCTAssertEqual(upper.maxLevel, layers.maxLevel)
        XCTAssertEqual(upper.idLimit, n)

        let vectors = vectorBytes.withUnsafeBytes {
            GraphVectors(encoding: .int8, dimensions: dims, bytes: $0, scales: builder.vectors.scales)
        }
        let queries = GraphFixture.randomUnitVectors(count: 100, dimensions: dims, seed: 42)
        let original = GraphSearcher(), stored = GraphSearcher()
        withBlockPointers(blocks) { pointers in
            let graph = MappedGraph(upperLevels: upper, level0Blocks: pointers)
            for qi in 0..<100 {
                let query = GraphFixture.row(queries, qi, dims)
                let a = original.search(query, ef: 48, in: layers, vectors: builder.vectors)
                let b = stored.search(query, ef: 48, in: graph, vectors: vectors)
                XCTAssertEqual(a.hits, b.hits, "query \(qi)")
                XCTAssertEqual(a.distanceComputations, b.distanceComputations)
            }
            // Restored for more changes, the graph re-encodes to the same bytes.
            let restored = GraphLayers(restoring: graph)
            XCTAssertTrue(Array(restored.level0Bytes) == Array(layers.level0Bytes), "level 0 restores byte for byte")
            XCTAssertTrue(restored.encodeUpperLevels() == blob, "upper levels restore byte for byte")
            XCTAssertEqual(restored.count, layers.count)
            let more = GraphBuilder(vectors: vectors, layers: restored)
            more.insert(id: 5)
            XCTAssertTrue(restored.contains(5))
            XCTAssertEqual(stored.search(GraphFixture.row(rows, 5, dims), ef: 16, in: restored, vectors: vectors).hits.first?.id, 5)
        }
    }

    func testDamagedBlobsAreRejected() throws {
        let rows = GraphFixture.randomUnitVectors(count: 300, dimensions: dims, seed: 43)
        let blob = GraphFixture.build(rows, dimensions: dims, encoding: .float32, threads: 1).0.layers.encodeUpperLevels()
        func decode(_ bytes: [UInt8]) -> GraphFormatError? {
            do {
                _ = try bytes.withUnsafeBytes { try GraphUpperLevels(decoding: $0) }
                return nil
            } catch let error as GraphFormatError {
                return error
            } catch {
                XCTFail("unexpected \(error)")
                return nil
            }
        }
        XCTAssertNil(decode(blob))
        guard case .corrupt = decode(Array(blob.dropLast(4))) else { return XCTFail("a cut blob must not decode") }
        guard case .corrupt = decode(Array(blob.prefix(12))) else { return XCTFail("a header alone must not decode") }
        var wrongMagic = blob
        wrongMagic[0] ^= 0xFF
        guard case .corrupt = decode(wrongMagic) else { return XCTFail("wrong magic") }
        var tooDeep = blob
        tooDeep.replaceSubrange(20..<24, with: [31, 0, 0, 0])  // the top level, past GraphLayers.levelCap
        guard case .corrupt = decode(tooDeep) else { return XCTFail("a level past the cap must not decode") }
        var newer = blob
        newer[4] = 2
        XCTAssertEqual(decode(newer), .unsupportedVersion(2))
        XCTAssertTrue(decode(newer)!.description.contains("rebuild"), "the message says what to do")
    }

    /// Hands `body` a pointer to each array's bytes, all valid at once.
    private func withBlockPointers(_ blocks: [[UInt8]], _ body: ([UnsafeRawPointer]) -> Void) {
        var pointers: [UnsafeRawPointer] = []
        func nest(_ i: Int) {
            guard i < blocks.count else { return body(pointers) }
            blocks[i].withUnsafeBytes { raw in
                pointers.append(raw.baseAddress!)
                nest(i + 1)
            }
        }
        nest(0)
    }
}
