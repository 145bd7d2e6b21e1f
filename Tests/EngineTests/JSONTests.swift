import Engine
import Foundation
import XCTest

final class JSONTests: XCTestCase {
    func testParsesWhatFoundationParsesToTheSameValues() throws {
        let text = #"{"a": [1, -2.5, 3e2, 0.000123, 1.7976931348623157e308, 123456789012345678901], "b": "x\"\\\/\n\u00e9\ud83d\ude00", "c": [true, false, null], "d": {}}"#
        let value = try JSON.parse(text)
        let numbers = try XCTUnwrap(value["a"]?.array).map { $0.number! }
        let reference = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["a"] as? [NSNumber])
        XCTAssertEqual(numbers, reference.map(\.doubleValue))
        XCTAssertEqual(value["b"]?.string, "x\"\\/\n\u{e9}\u{1F600}")
        XCTAssertEqual(value["c"], [true, false, nil])
        XCTAssertEqual(value["d"], .object([:]))
    }

    func testEveryFloatRoundTripsExactly() throws {
        var generator = SystemRandomNumberGenerator()
        let floats = (0..<5_000).map { _ in Float(bitPattern: UInt32.random(in: 0x3000_0000...0x4200_0000, using: &generator)) * (Bool.random() ? 1 : -1) }
        let parsed = try JSON.parse(JSON.array(floats.map(JSON.float)).serialized)
        XCTAssertEqual(parsed.array?.map { Float($0.number!) }, floats)
    }

    func testSerializesSortedAndEscaped() {
        let value: JSON = ["b": 1, "a": ["x\u{1}\"y", 2.5, nil]]
        XCTAssertEqual(value.serialized, #"{"a":["x\u0001\"y",2.5,null],"b":1}"#)
    }

    func testBadInputSaysWhereAndWhy() {
        let cases: [(String, String)] = [
            (#"{"a": 1,}"#, "expected a key"),
            (#"{"a": 1, "a": 2}"#, "duplicate key \"a\""),
            ("[1, 2", "expected ']'"),
            ("01", "leading zero"),
            ("1e999", "out of range"),
            ("-", "expected a digit"),
            (#""abc"#, "unterminated string"),
            (#""\x""#, "invalid escape"),
            (#""\ud800""#, "lone high surrogate"),
            ("[1] 2", "after the value"),
            ("nul", "expected a value"),
            ("", "unexpected end of input"),
            ("{\n  \"a\": tru\n}", "line 2, column 8"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try JSON.parse(text), text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(text): \(error)")
            }
        }
        XCTAssertThrowsError(try JSON.parse([0x22, 0x61, 0xFF, 0x22])) { XCTAssertTrue("\($0)".contains("invalid UTF-8"), "\($0)") }
        XCTAssertThrowsError(try JSON.parse(String(repeating: "[", count: 65) + String(repeating: "]", count: 65))) {
            XCTAssertTrue("\($0)".contains("nesting deeper than 64"), "\($0)")
        }
        XCTAssertNoThrow(try JSON.parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)))
    }
}
