@testable import Engine
import XCTest

/// The chunker with one token per word, so the expected cuts can be worked out by hand.
final class ChunkerTests: XCTestCase {
    let words = { (text: String) in text.split(separator: " ").count }

    func chunks(_ lines: [String], max: Int, overlap: Int) -> [Chunk] {
        var chunker = Chunker(maxTokens: max, overlap: overlap, count: words)
        var offset = 0, out: [Chunk] = []
        for (i, line) in lines.enumerated() {
            chunker.add(line: line, number: i + 1, offset: offset)
            out += chunker.take()
            offset += line.utf8.count + 1
        }
        return out + chunker.finish()
    }

    func paragraph(_ name: String, sentences: Int, words: Int) -> String {
        (0..<sentences).map { s in (0..<words).map { "\(name)\(s)w\($0)" }.joined(separator: " ") + "." }.joined(separator: " ")
    }

    func testShortTextIsOneChunkWithItsLinesAndBytes() {
        let lines = ["first line.", "", "second paragraph here."]
        let result = chunks(lines, max: 50, overlap: 5)
        XCTAssertEqual(result.count, 1)
        XCTAssertEqual(result[0].text, "first line.\n\nsecond paragraph here.")
        XCTAssertEqual(result[0].lines, 1...3)
        XCTAssertEqual(result[0].bytes, 0..<lines.joined(separator: "\n").utf8.count)
    }

    func testCutsAtParagraphsAndOverlapsBySentences() {
        // Three paragraphs of 6 sentences × 10 words; 100 tokens a chunk, 20 of overlap.
        let lines = [paragraph("a", sentences: 6, words: 10), "", paragraph("b", sentences: 6, words: 10), "", paragraph("c", sentences: 6, words: 10)]
        let result = chunks(lines, max: 100, overlap: 20)
        XCTAssertEqual(result.map(\.tokens), [60, 80, 80])
        guard result.count == 3 else { return }
        XCTAssertTrue(result[0].text.hasPrefix("a0w0") && result[0].text.hasSuffix("a5w9."), "the first paragraph alone: a and b would overflow")
        XCTAssertTrue(result[1].text.hasPrefix("a4w0"), "starts with the previous chunk's last two sentences: \(result[1].text.prefix(40))")
        XCTAssertTrue(result[1].text.hasSuffix("b5w9."), "ends at the paragraph break before c")
        XCTAssertTrue(result[2].text.hasPrefix("b4w0") && result[2].text.hasSuffix("c5w9."))
        XCTAssertEqual(result.map(\.lines), [1...1, 1...3, 3...5])
        XCTAssertTrue(result[1].text.contains("a5w9.\n\nb0w0"), "paragraph breaks are kept")
    }

    func testAnOverlongSentenceIsCutAtWords() {
        let sentence = (0..<250).map { "w\($0)" }.joined(separator: " ")
        let result = chunks([sentence], max: 100, overlap: 0)
        XCTAssertEqual(result.map(\.tokens), [100, 100, 50])
        XCTAssertEqual(result.map(\.text).joined(separator: " "), sentence)
        XCTAssertEqual(result[1].bytes.lowerBound, (0..<100).map { "w\($0) " }.joined().utf8.count)
        XCTAssertEqual(result[2].bytes.upperBound, sentence.utf8.count)
    }

    /// A sentence that fits a chunk only without the overlap gets a chunk without it (this
    /// once emitted the overlap forever).
    func testABigSentenceAfterAChunkGoesWithoutOverlap() {
        let big = (0..<95).map { "b\($0)" }.joined(separator: " ") + "."
        let result = chunks([paragraph("a", sentences: 2, words: 10), big], max: 100, overlap: 20)
        XCTAssertEqual(result.map(\.tokens), [20, 95])
        XCTAssertEqual(result.last?.text, big)
    }

    func testSentencesSplitAfterTheirPunctuation() {
        XCTAssertEqual(Chunker.sentences(of: "One. Two! Three? Four...no split"), ["One. ", "Two! ", "Three? ", "Four...no split"])
    }
}
