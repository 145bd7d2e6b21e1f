@testable import Store
import XCTest

final class EnglishStemmerTests: XCTestCase {
    /// Words and their stems from Porter's paper and the reference implementation's vocabulary.
    func testStemsAsPortersAlgorithmDoes() {
        let expected = [
            "caresses": "caress", "ponies": "poni", "ties": "ti", "caress": "caress", "cats": "cat",
            "feed": "feed", "agreed": "agre", "plastered": "plaster", "bled": "bled", "motoring": "motor", "sing": "sing",
            "conflated": "conflat", "troubled": "troubl", "sized": "size", "hopping": "hop", "tanned": "tan",
            "falling": "fall", "hissing": "hiss", "fizzed": "fizz", "failing": "fail", "filing": "file",
            "happy": "happi", "sky": "sky", "relational": "relat", "conditional": "condit", "rational": "ration",
            "generalization": "gener", "oscillators": "oscil", "adjustment": "adjust", "adoption": "adopt",
            "effective": "effect", "cease": "ceas", "controlling": "control", "roll": "roll", "parsing": "pars",
            "parses": "pars", "hopefulness": "hope", "electrical": "electr", "replacement": "replac",
        ]
        for (word, stem) in expected {
            XCTAssertEqual(String(decoding: EnglishStemmer.stem(Array(word.utf8)), as: UTF8.self), stem, word)
        }
    }

    func testLeavesShortAndNonLetterWordsAlone() {
        for word in ["is", "a", "python3", "x86", "über", ""] {
            XCTAssertEqual(EnglishStemmer.stem(Array(word.utf8)), Array(word.utf8), word)
        }
    }
}
