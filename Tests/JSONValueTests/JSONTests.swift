import JSONValue
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
        XCTAssertEqual(parsed.array?.map(\.float), floats)
    }

    func testAFloatPrintsAsItsShortestTextNotWidenedToDouble() throws {
        XCTAssertEqual(JSON.float(0.8123).serialized, "0.8123")
        XCTAssertEqual(JSON.number(Double(Float(0.8123))).serialized, "0.8123000264167786")
        XCTAssertEqual(JSON.float(-1.5e-7).serialized, "-1.5e-07")
        XCTAssertEqual(try JSON.parse("0.8123").float, 0.8123)
    }

    func testADoublePrintsAsItsShortestText() throws {
        for value in [0.1, 1.2345678901234567, 0.3333333333333333, 5e-324, 1.7976931348623157e308, -2.5e-12] {
            let text = JSON.number(value).serialized
            XCTAssertEqual(text, "\(value)")
            XCTAssertEqual(try JSON.parse(text).number, value, text)
        }
    }

    func testWholeNumbersUpTo2To63StayIntegers() throws {
        for text in ["12345678901234567", "9223372036854775807", "-9223372036854775808", "0", "-7"] {
            let value = try JSON.parse(text)
            XCTAssertEqual(value.serialized, text)
            XCTAssertEqual(value.int64.map(String.init), text)
        }
        XCTAssertEqual(JSON.number(3).serialized, "3")
        XCTAssertEqual(JSON.float(1e10).serialized, "10000000000")
        XCTAssertEqual(JSON.number(1e17).serialized, "100000000000000000")
        XCTAssertEqual(JSON.number(9.3e18).serialized, "9.3e+18", "past 2^63 a whole Double keeps its exponent form")
        XCTAssertEqual(try JSON.parse("9223372036854775808"), .number(9223372036854775808), "past Int64: a Double")
        XCTAssertNil(try JSON.parse("1.5").int)
    }

    /// Metadata is stored as the text of its object (keys sorted) and read back from it:
    /// whole numbers keep every digit both ways, and a record written when they were Doubles
    /// still reads, as that Double.
    func testMetadataKeepsItsWholeNumbersThroughItsStoredText() throws {
        let meta: JSON = ["big": 12345678901234567, "max": .integer(.max), "min": .integer(.min), "nested": ["list": [9007199254740993, -1]], "half": 0.5]
        let stored = meta.serialized
        XCTAssertEqual(stored, #"{"big":12345678901234567,"half":0.5,"max":9223372036854775807,"min":-9223372036854775808,"nested":{"list":[9007199254740993,-1]}}"#)
        XCTAssertEqual(try JSON.parse(stored).serialized, stored)
        XCTAssertEqual(try JSON.parse(stored)["nested"]?["list"]?.array?.first?.int64, 9007199254740993)
        let old = try JSON.parse(#"{"big":1.2345678901234568e+16}"#)
        XCTAssertEqual(old["big"]?.number, 12345678901234568)
    }

    func testNaNAndInfinityAreWrittenAsNull() {
        let value: JSON = [.number(.nan), .number(.infinity), .float(-.infinity)]
        XCTAssertEqual(value.serialized, "[null,null,null]")
    }

    func testNumbersAreEqualWhenTheyPrintTheSame() {
        XCTAssertEqual(JSON.float(0.8123), JSON.number(0.8123))
        XCTAssertEqual(JSON.integer(5), JSON.number(5))
        XCTAssertNotEqual(JSON.number(Double(Float(0.8123))), JSON.number(0.8123))
        XCTAssertNotEqual(JSON.integer(5), JSON.string("5"))
    }

    func testADecodingErrorNamesTheRecordAndTheField() throws {
        struct Stage: JSONRepresentable {
            var dims: Int
            init(json: JSON) throws(JSONDecodingError) { dims = try JSONFields(json, of: Stage.self)["dims"] }
            var json: JSON { ["dims": JSON(dims)] }
        }
        struct Plan: JSONRepresentable {
            var stages: [Stage]
            var ef: UInt32?
            init(json: JSON) throws(JSONDecodingError) {
                let fields = try JSONFields(json, of: Plan.self)
                stages = try fields["stages"]
                ef = try fields.optional("ef", formerly: "beam")
            }
            var json: JSON { ["stages": stages.json] }
        }
        func problem(_ text: String) -> String {
            do {
                _ = try Plan(json: try JSON.parse(text))
                return "none"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(problem(#"{"stages": [{"dims": 4}, {"dims": "x"}]}"#), "Plan field stages[1].dims: expected a whole number, got string")
        XCTAssertEqual(problem(#"{"stages": [{"dims": 4.5}]}"#), "Plan field stages[0].dims: expected a whole number, got number")
        XCTAssertEqual(problem(#"{"stages": [{}]}"#), "Plan field stages[0].dims: missing")
        XCTAssertEqual(problem(#"{"stages": [], "beam": -1}"#), "Plan field beam: -1 is out of range (0...4294967295)")
        XCTAssertEqual(problem(#"[1]"#), "Plan: expected an object, got array")
        XCTAssertEqual(try Plan(json: try JSON.parse(#"{"stages": [], "beam": 7}"#)).ef, 7, "a renamed field is read under its old name")
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
