import Store
import XCTest

final class LexicalTokenizerTests: XCTestCase {
    private func terms(_ text: String) -> [String] { LexicalTokenizer.terms(text) }

    func testIdentifiersAreKeptWholeAndSplitAtPunctuation() {
        XCTAssertEqual(terms("python3-lzss"), ["python3-lzss", "python3", "lzss"])
        XCTAssertEqual(terms("ERR_SSL_PROTOCOL"), ["err_ssl_protocol", "err", "ssl", "protocol"])
        XCTAssertEqual(terms("EventLoopFuture.flatMap"),
                       ["eventloopfuture.flatmap", "eventloopfuture", "event", "loop", "future", "flatmap", "flat", "map"])
        // A sentence's full stop, a path's slashes and a C++ scope.
        XCTAssertEqual(terms("Use libssl3."), ["use", "libssl3"])
        XCTAssertEqual(terms("src/main.c"), ["src/main.c", "src", "main", "c"])
        XCTAssertEqual(terms("std::vector"), ["std::vector", "std", "vector"])
    }

    func testCamelCaseHumpsAndAcronyms() {
        XCTAssertEqual(terms("HTTPServer"), ["httpserver", "http", "server"])
        XCTAssertEqual(terms("base64Encode"), ["base64encode", "base64", "encode"])
        XCTAssertEqual(terms("LZSS"), ["lzss"])
        XCTAssertEqual(terms("iPhone"), ["iphone", "i", "phone"])
    }

    func testWordsAreSeparatedByEverythingElse() {
        XCTAssertEqual(terms("zero (ey-dee) is a free, open-source game!"),
                       ["zero", "ey-dee", "ey", "dee", "is", "a", "free", "open-source", "open", "source", "game"])
        XCTAssertEqual(terms("  \n\t,;  "), [])
        XCTAssertEqual(terms("--a--"), ["a"])
    }

    func testUnicodeLettersDigitsAndIdeographs() {
        // Letters and marks of any script are words, lowercased; each CJK ideograph is a term.
        XCTAssertEqual(terms("Ärger über ΣΊΣΥΦΟΣ"), ["ärger", "über", "ΣΊΣΥΦΟΣ".lowercased()])
        XCTAssertEqual(terms("नमस्ते दुनिया"), ["नमस्ते", "दुनिया"])
        XCTAssertEqual(terms("全文検索エンジン"), ["全", "文", "検", "索", "エンジン"])
        XCTAssertEqual(terms("Ⅻ ٣٤ x²"), ["ⅻ", "٣٤", "x²"])
    }

    func testOverlongTermsAreDroppedAndDocumentsAreCapped() {
        let hash = String(repeating: "ab", count: 40)
        XCTAssertEqual(terms("sha \(hash) done"), ["sha", "done"])
        XCTAssertEqual(terms("v-\(hash)"), ["v"])
        // A megabyte of words, and a megabyte of one joined identifier: both stop at the cap.
        let words = String(repeating: "word ", count: 200_000)
        XCTAssertEqual(LexicalTokenizer.terms(words).count, LexicalTokenizer.maxTermsPerDocument)
        let joined = String(repeating: "ab-", count: 350_000)
        XCTAssertEqual(LexicalTokenizer.terms(joined).count, LexicalTokenizer.maxTermsPerDocument)
        XCTAssertEqual(LexicalTokenizer.terms(words, limit: 3), ["word", "word", "word"])
    }
}
