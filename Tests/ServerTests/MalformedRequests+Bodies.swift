/// The kinds of `MalformedRequests` that are well-formed HTTP carrying a bad JSON body:
/// not JSON, wrong types for each field, huge numbers, deep nesting, invalid UTF-8, too many
/// items; and documents that are odd but valid.
extension MalformedRequests {
    // MARK: Values that are wrong for a field

    static let notNumbers = ["\"5\"", "true", "false", "[]", "{}", "[5]", "{\"n\":5}", "\"\""]
    static let badCounts = ["0", "-1", "1.5", "-0", "10001", "1e300", "9007199254740993", "4.9e-324", "-1e-300", "2147483648000000000"]
    static let badMilliseconds = ["\"1\"", "true", "[]", "{}", "0", "-1", "-0", "-1e308", "1e400", "-1e400"]
    static let badBools = ["\"true\"", "1", "0", "[]", "{}", "\"yes\"", "\"\"", "[true]"]

    func filled(_ value: String) -> String { "[" + Array(repeating: value, count: dimensions).joined(separator: ",") + "]" }

    /// Vectors no request may carry (an all-zero one is refused by searches only, so it is not here).
    mutating func badVectors() -> [String] {
        ["\"abc\"", "1", "true", "{}", "[]", "[\"a\"]", "[[1]]", "[1,2]", vectorText(dimensions + 1), vectorText(dimensions - 1),
         filled("null"), filled("true"), filled("\"1\""), filled("1e39"), filled("-1e39"), filled("1e400"),
         vectorText(3_000), "[" + vectorText() + "]", "{\"0\":1}"]
    }

    mutating func notJSON() -> FuzzCase {
        let bodies = [
            "[]", "\"x\"", "1", "null", "true", "{", "}", "{\"k\":1} x", "{\"k\":1,}", "{'k':1}", "{k:1}", "{\"k\":01}", "{\"k\":+1}",
            "{\"k\":.5}", "{\"k\":1.}", "{\"k\":0x10}", "{\"k\":NaN}", "{\"k\":Infinity}", "{\"k\":-Infinity}", "{\"k\":1 /* c */}",
            "\u{FEFF}{\"k\":1}", "{\"k\":1,\"k\":2}", "{\"vector\":[1,2,]}", "{\"a\"}", "{\"a\":}", "{,}", "{\"vector\":[1 2]}",
            "\"unterminated", "{\"k\":tru}", "{\"k\":nul}", " \n\t", "\0", "{\"k\":1}\0", "{\"k\":-}", "{\"k\":1e}", "{\"k\":1e+}",
            "{\"k\":--1}", "{\"k\":\"\\q\"}", "{\"k\" 1}", "{\"k\":[}", "{\"k\":]}", "{}}", "{\"documents\":[{\"id\":\"x\"]}",
        ]
        let body = pick(bodies)
        let path = pick([searchPath, documentsPath, searchPath + "/batch", "/indexes/\(index)"])
        let method = path == "/indexes/\(index)" ? "PUT" : "POST"
        return FuzzCase(kind: "not JSON or not an object", bytes: MalformedRequests.http(method, path, body: Array(body.utf8)), expectation: .jsonError)
    }

    mutating func searchField(_ name: String) -> String {
        switch name {
        case "k", "ef": pick(MalformedRequests.notNumbers + MalformedRequests.badCounts)
        case "dims": pick(MalformedRequests.notNumbers + ["0", "-1", "1.5", String(dimensions + 1), "1e300", "4.9e-324"])
        case "budget_ms", "deadline_ms": pick(MalformedRequests.badMilliseconds)
        case "include_text": pick(MalformedRequests.badBools)
        case "query": pick(["1", "true", "[]", "{}", "\"text\"", "\"\"", "[\"a\"]"])
        case "preset": pick(["\"no-such-preset\"", "1", "[]", "{}", "true"])
        default: pick(badVectors() + [filled("0"), filled("-0")])
        }
    }

    /// One field of a search, wrong (the query always has a vector, so a "query" is one too many).
    mutating func badSearch() -> [(String, String)] {
        let fields = searchFields()
        switch int(0...12) {
        case 0: return replacing(fields, pick(["kk", "K", "vectors", "", "k ", "Vector"]), with: "1")
        case 1: return replacing(fields, "vector", with: nil)
        case 2: return fields + [("dims", "4"), (pick(["ef", "budget_ms"]), "10")]
        default:
            let name = pick(["k", "ef", "dims", "budget_ms", "deadline_ms", "include_text", "query", "preset", "vector"])
            return replacing(fields, name, with: searchField(name))
        }
    }

    mutating func wrongSearchField() -> FuzzCase { post(searchPath, object(badSearch()), "wrong search field") }

    mutating func wrongDocumentField() -> FuzzCase {
        var documents = (0..<int(0...2)).map { _ in object(documentFields()) }
        var fields = documentFields()
        switch int(0...7) {
        case 0: fields = replacing(fields, pick(["id", "vector"]), with: nil)
        case 1: fields = replacing(fields, "id", with: pick(["1.5", "true", "false", "[]", "{}", "\"\"", "null", "1e16", "-1e300", "[\"a\"]"]))
        case 2: fields = replacing(fields, "text", with: pick(["1", "true", "[]", "{}", "[\"t\"]"]))
        case 3: fields = replacing(fields, "meta", with: pick(["1", "\"x\"", "[]", "true", "[1]"]))
        case 4:
            let top = pick(["\"x\"", "1", "{}", "[]", "[1]", "[[]]", "[null]", "true", "null", "[\"fz\"]"])
            return post(documentsPath, object([("documents", top)]), "wrong documents field")
        case 5:
            let extra = pick([("document", "[]"), ("index", "\"\(index)\""), ("", "1"), ("documents ", "[]")])
            return post(documentsPath, object([("documents", "[" + object(fields) + "]"), extra]), "unknown documents field")
        default: fields = replacing(fields, "vector", with: pick(badVectors() + ["null"]))
        }
        documents.insert(object(fields), at: int(0...documents.count))
        return post(documentsPath, object([("documents", "[" + documents.joined(separator: ",") + "]")]), "wrong document field")
    }

    mutating func wrongBatchField() -> FuzzCase {
        if int(0...2) == 0 {
            let top = pick(["\"x\"", "1", "{}", "[]", "[1]", "[[]]", "[null]", "[{}]", "true"])
            return post(searchPath + "/batch", object([("queries", top)]), "wrong batch field")
        }
        var queries = (0..<int(0...3)).map { _ in validSearch() }
        queries.insert(object(badSearch()), at: int(0...queries.count))
        return post(searchPath + "/batch", object([("queries", "[" + queries.joined(separator: ",") + "]")]), "wrong batch query field")
    }

    /// PUT of a fresh, valid name with a bad body: refused, and no index appears.
    mutating func wrongIndexCreation() -> FuzzCase {
        let fields: [(String, String)]
        if int(0...3) == 0 {
            fields = [("dimensions", "8"), (pick(["x", "name", "", "Dimensions"]), "1")]
        } else {
            fields = [("dimensions", pick(["\"8\"", "0", "-1", "4097", "1.5", "true", "[]", "{}", "1e300", "-1e400", "[8]", "99999999999999999999"]))]
        }
        return FuzzCase(kind: "wrong index creation", bytes: MalformedRequests.http("PUT", "/indexes/fz-new-\(serial)", body: Array(object(fields).utf8)),
                        expectation: .jsonError)
    }

    mutating func hugeNumber() -> FuzzCase {
        let numbers = ["1e400", "-1e400", "1e308", "-1e308", "123456789012345678901234567890", String(repeating: "9", count: 20_000),
                       "1e99999999999999999999", "-" + String(repeating: "9", count: 5_000) + ".5", "0." + String(repeating: "0", count: 5_000) + "1",
                       "-9223372036854775809", "18446744073709551616"]
        let number = pick(numbers)
        switch int(0...3) {
        case 0:
            return post(searchPath, object(replacing(searchFields(), pick(["k", "ef", "dims"]), with: number)), "huge number in a search")
        case 1:
            // Not all of these overflow a Float (1.2e29 does not): one element that does is enough to refuse.
            var elements = (0..<dimensions).map { _ in number }
            elements[int(0...(dimensions - 1))] = "1e39"
            return post(searchPath, object(replacing(searchFields(), "vector", with: "[" + elements.joined(separator: ",") + "]")),
                        "huge number in a vector")
        case 2:
            // None is a whole number under 1e15, the largest a numeric id may be (0.00...01 is 0).
            let fields = replacing(documentFields(), "id", with: number.hasPrefix("0.") ? "1e15" : number)
            return post(documentsPath, object([("documents", "[" + object(fields) + "]")]), "huge number as an id")
        default:
            return FuzzCase(kind: "huge number of dimensions", bytes: MalformedRequests.http("PUT", "/indexes/fz-new-\(serial)", body: Array("{\"dimensions\":\(number)}".utf8)),
                            expectation: .jsonError)
        }
    }

    mutating func deepNesting() -> FuzzCase {
        let depth = pick([33, 64, 1_000, 10_000])
        let arrays = String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth)
        let objects = String(repeating: "{\"a\":", count: depth) + "1" + String(repeating: "}", count: depth)
        let (path, body): (String, String)
        switch int(0...5) {
        case 0: (path, body) = (searchPath, arrays)
        case 1: (path, body) = (searchPath, String(repeating: "[", count: depth * 3))
        case 2: (path, body) = (searchPath, objects)
        case 3: (path, body) = (searchPath, object(replacing(searchFields(), "vector", with: arrays)))
        case 4: (path, body) = (documentsPath, object([("documents", "[" + object(replacing(documentFields(), "meta", with: objects)) + "]")]))
        default: (path, body) = (searchPath + "/batch", object([("queries", "[" + arrays + "]")]))
        }
        return post(path, body, "deep nesting")
    }

    mutating func invalidUTF8() -> FuzzCase {
        let raw: [[UInt8]] = [[0xFF], [0xFE], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
                              [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE2, 0x82], [0x80], [0xC3], [0x00], [0x01], [0x1F], [0x0A]]
        let escapes = ["\\ud800", "\\udc00", "\\ud800\\u0041", "\\udbff\\udbff", "\\u12", "\\uZZZZ", "\\x41", "\\U0041", "\\u", "\\ud800\\"]
        let bad = int(0...1) == 0 ? pick(raw) : Array(pick(escapes).utf8)
        func string(_ prefix: String) -> String { "\"\(prefix)\u{1}BAD\u{1}z\"" }
        let (path, body): (String, String)
        switch int(0...5) {
        case 0: (path, body) = (searchPath, object(searchFields() + [("query", string("q"))]))
        case 1: (path, body) = (documentsPath, object([("documents", "[" + object(replacing(documentFields(), "id", with: string("fz-\(serial)"))) + "]")]))
        case 2: (path, body) = (documentsPath, object([("documents", "[" + object(replacing(documentFields(), "text", with: string("t"))) + "]")]))
        case 3: (path, body) = (documentsPath, object([("documents", "[" + object(replacing(documentFields(), "meta", with: "{\(string("key")):1}")) + "]")]))
        case 4: (path, body) = (documentsPath, object([("documents", "[" + object(replacing(documentFields(), "meta", with: "{\"k\":\(string("v"))}")) + "]")]))
        default: (path, body) = (searchPath, "{\(string("vec")):1}")
        }
        // The two \u{1} marks stand where the bad bytes go.
        let text = Array(body.utf8)
        let first = text.firstIndex(of: 1)!, last = text.lastIndex(of: 1)!
        let bytes = Array(text[..<first]) + bad + Array(text[(last + 1)...])
        return FuzzCase(kind: "invalid UTF-8 or escape in a string", bytes: MalformedRequests.http("POST", path, body: bytes), expectation: .jsonError)
    }

    mutating func tooManyItems() -> FuzzCase {
        if int(0...1) == 0 {
            let body = "{\"documents\":[" + Array(repeating: "{}", count: 10_001).joined(separator: ",") + "]}"
            return post(documentsPath, body, "too many documents")
        }
        let body = "{\"queries\":[" + Array(repeating: "{}", count: 1_025).joined(separator: ",") + "]}"
        return post(searchPath + "/batch", body, "too many queries")
    }

    /// Unusual but well-formed: ids at and past LMDB's key size ("fz-" and 508 bytes is 511), a NUL in an id,
    /// surrogate pairs, a huge text, all-zero and extreme vectors. Accepted or refused, never a 5xx.
    mutating func oddButValid() -> FuzzCase {
        let id = pick([String(repeating: "i", count: 508), String(repeating: "i", count: 509), String(repeating: "i", count: 1_000),
                       String(repeating: "é", count: 300), String(repeating: "i", count: 30_000), "\\u0000-\(serial)",
                       "\\ud83d\\ude00-\(serial)", "\(serial)"])
        let text = int(0...3) == 0 ? String(repeating: "t", count: 40_000) : "odd \(serial)"
        let vector = int(0...3) == 0 ? filled(pick(["0", "-0", "1e-45", "3.4e38"])) : vectorText()
        let fields = [("id", "\"fz-\(id)\""), ("text", "\"\(text)\""), ("vector", vector)]
        return post(documentsPath, object([("documents", "[" + object(fields) + "]")]), "odd but valid document", .noServerError)
    }
}
