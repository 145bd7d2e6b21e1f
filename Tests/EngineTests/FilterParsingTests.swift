import Engine
import Search
import Store
import XCTest

/// The filter language's JSON: what is accepted reads back the same, and every malformed
/// part is refused with the path of that part.
final class FilterParsingTests: XCTestCase {
    private func parse(_ text: String) throws -> Filter {
        try Filter(json: JSON.parse(Array(text.utf8)))
    }

    private func assertRefused(_ text: String, at field: String, saying words: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(text), text, file: file, line: line) { error in
            guard case EngineError.invalidRequest(let named, let message) = error else {
                return XCTFail("\(error) is not an invalid request", file: file, line: line)
            }
            XCTAssertEqual(named, field, message, file: file, line: line)
            XCTAssertTrue(message.contains(words), "\(message) should say \(words)", file: file, line: line)
        }
    }

    func testEveryOperatorReadsBackAsWritten() throws {
        let filters = [
            #"{"field": "ext", "eq": "md"}"#, #"{"field": "n", "ne": 3}"#, #"{"field": "draft", "eq": true}"#,
            #"{"field": "n", "in": [1, 2.5, "x", false]}"#, #"{"field": "mtime", "range": {"gte": 1.5, "lt": 20}}"#,
            #"{"field": "name", "range": {"gt": "a"}}"#, #"{"field": "path", "prefix": "src/"}"#,
            #"{"field": "path", "glob": "src/**/*.swift"}"#, #"{"field": "tags", "exists": false}"#,
            #"{"and": [{"field": "a", "eq": 1}, {"or": [{"field": "b", "eq": "x"}, {"not": {"field": "c", "exists": true}}]}]}"#,
        ]
        for text in filters {
            let filter = try parse(text)
            XCTAssertEqual(filter.json, try JSON.parse(Array(text.utf8)), text)
            XCTAssertEqual(try Filter(json: filter.json), filter, text)
        }
        XCTAssertEqual(try parse(#"{"field": "n", "eq": -0.0}"#), try parse(#"{"field": "n", "eq": 0}"#), "-0 is 0")

        // What the CLI sends a daemon carries the filter as the API writes it.
        var request = SearchRequest(query: "q")
        request.filter = try parse(filters[9])
        XCTAssertEqual(request.json["filter"], try JSON.parse(Array(filters[9].utf8)))
    }

    func testEachMalformedPartIsNamed() {
        assertRefused(#"[1]"#, at: "filter", saying: "must be an object")
        assertRefused(#"{"field": "a"}"#, at: "filter", saying: "exactly one of eq, ne")
        assertRefused(#"{"field": "a", "eq": 1, "ne": 2}"#, at: "filter", saying: "got eq and ne")
        assertRefused(#"{"field": "a", "like": "x%"}"#, at: "filter.like", saying: "is not part of a filter")
        assertRefused(#"{"eq": 1}"#, at: "filter.field", saying: "is missing")
        assertRefused(#"{"field": "", "eq": 1}"#, at: "filter.field", saying: "of 1 to 248 bytes")
        assertRefused(#"{"field": 7, "eq": 1}"#, at: "filter.field", saying: "name")
        assertRefused(#"{"field": "a", "eq": null}"#, at: "filter.eq", saying: "a string, a number or a boolean, got null")
        assertRefused(#"{"field": "a", "eq": [1]}"#, at: "filter.eq", saying: "got array")
        assertRefused(#"{"and": [{"field": "a", "eq": 1}, {"field": "b", "range": {"gte": null}}]}"#,
                      at: "filter.and[1].range.gte", saying: "must be a number or a string, got null")
        assertRefused(#"{"field": "a", "range": {"gte": true}}"#, at: "filter.range.gte", saying: "got boolean")
        assertRefused(#"{"field": "a", "range": {}}"#, at: "filter.range", saying: "object of bounds")
        assertRefused(#"{"field": "a", "range": {"from": 1}}"#, at: "filter.range.from", saying: "is not a bound")
        assertRefused(#"{"field": "a", "range": {"gt": 1, "gte": 2}}"#, at: "filter.range", saying: "both gt and gte")
        assertRefused(#"{"field": "a", "range": {"gt": 1, "lt": "z"}}"#, at: "filter.range", saying: "mixes numbers and strings")
        assertRefused(#"{"field": "a", "in": []}"#, at: "filter.in", saying: "1 to 1024")
        assertRefused(#"{"field": "a", "in": [1, {}]}"#, at: "filter.in[1]", saying: "got object")
        assertRefused(#"{"field": "a", "prefix": 3}"#, at: "filter.prefix", saying: "must be a string")
        assertRefused(#"{"field": "a", "glob": "src/[a"}"#, at: "filter.glob", saying: "not a glob")
        assertRefused(#"{"field": "a", "exists": "yes"}"#, at: "filter.exists", saying: "true or false")
        assertRefused(#"{"and": []}"#, at: "filter.and", saying: "1 to 64 filters, got 0")
        assertRefused(#"{"or": {"field": "a", "eq": 1}}"#, at: "filter.or", saying: "must be an array")
        assertRefused(#"{"not": [{"field": "a", "eq": 1}]}"#, at: "filter.not", saying: "must be an object")
        assertRefused(#"{"and": [{"field": "a", "eq": 1}], "field": "b"}"#, at: "filter", saying: "stands alone")
        assertRefused(#"{"field": "a", "eq": "\#(String(repeating: "é", count: 129))"}"#, at: "filter.eq", saying: "longer than 256 bytes")
    }

    func testTheLimitsAreExactlyWhereTheySay() throws {
        let values = (0..<1_024).map { "\($0)" }.joined(separator: ",")
        XCTAssertNoThrow(try parse(#"{"field": "a", "in": [\#(values)]}"#))
        assertRefused(#"{"field": "a", "in": [\#(values),1]}"#, at: "filter.in", saying: "got 1025")
        let members = Array(repeating: #"{"field": "a", "eq": 1}"#, count: 64).joined(separator: ",")
        XCTAssertNoThrow(try parse(#"{"or": [\#(members)]}"#))
        assertRefused(#"{"or": [\#(members),{"field": "a", "eq": 1}]}"#, at: "filter.or", saying: "got 65")
        func nested(_ depth: Int) -> String {
            String(repeating: #"{"not": "#, count: depth - 1) + #"{"field": "a", "exists": true}"# + String(repeating: "}", count: depth - 1)
        }
        XCTAssertNoThrow(try parse(nested(16)))
        assertRefused(nested(17), at: "filter" + String(repeating: ".not", count: 16), saying: "deeper than 16 levels")
        let longName = String(repeating: "n", count: FieldValue.maxFieldNameBytes)
        XCTAssertNoThrow(try parse(#"{"field": "\#(longName)", "eq": "\#(String(repeating: "v", count: 256))"}"#))
        assertRefused(#"{"field": "\#(longName)n", "eq": 1}"#, at: "filter.field", saying: "bytes")
    }

    /// Numbers at JSON's edges are values like any other (NaN is not JSON, so never reaches here).
    func testHugeNumbersAreOrdinaryValues() throws {
        for number in ["1e308", "-1e308", "9223372036854775807", "-9223372036854775808", "5e-324"] {
            let filter = try parse(#"{"field": "a", "range": {"lte": \#(number)}}"#)
            XCTAssertEqual(try Filter(json: filter.json), filter, number)
        }
    }

    /// Random byte soup of filter-shaped JSON is parsed or refused, never a trap.
    func testRandomFiltersAreParsedOrRefusedWithAPath() {
        let parts = [#"{"#, #"}"#, #"["#, #"]"#, #","#, #":"#, #""field""#, #""a""#, #""eq""#, #""in""#, #""range""#,
                     #""gte""#, #""and""#, #""not""#, #""glob""#, #""[""#, "1", "null", "true", #""x""#, "1e400"]
        var rng = SplitMix64(seed: 20)
        for _ in 0..<5_000 {
            let text = (0..<Int(rng.next() % 24)).map { _ in parts[Int(rng.next() % UInt64(parts.count))] }.joined()
            guard let json = try? JSON.parse(Array(text.utf8)) else { continue }
            do {
                _ = try Filter(json: json)
            } catch EngineError.invalidRequest(let field, _) {
                XCTAssertTrue(field.hasPrefix("filter"), "\(field) for \(text)")
            } catch {
                XCTFail("\(error) for \(text)")
            }
        }
    }
}
