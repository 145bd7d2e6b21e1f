import Foundation
import Search

/// One request the fuzz test sends, and what the daemon may answer.
struct FuzzCase {
    enum Expectation {
        /// A 4xx, or the connection closed without an answer.
        case clientError
        /// A 4xx with the daemon's JSON error body: the route read the request and refused it.
        case jsonError
        /// Anything but a 5xx or a hang: a mutated request may still be a valid one.
        case noServerError
    }

    var kind: String
    var bytes: [UInt8]
    var expectation: Expectation
    /// Half-close after sending: the request may be incomplete, and the end of input must end it.
    var finish = false
}

/// Malformed, truncated and oversized requests for an index of `dimensions`-d vectors,
/// drawn from a seeded generator (the same seed gives the same requests). Documents it
/// writes have ids starting "fz-"; it never deletes or creates an index by a valid request.
struct MalformedRequests {
    let index: String
    let dimensions: Int
    let maxBody: Int
    private var rng: SplitMix64
    private(set) var serial = 0

    init(seed: UInt64, index: String, dimensions: Int, maxBody: Int) {
        rng = SplitMix64(seed: seed)
        self.index = index
        self.dimensions = dimensions
        self.maxBody = maxBody
    }

    /// The next case; kinds are weighted so the cheap ones (wrong types, mutations) dominate
    /// and the costly ones (bodies over the cap) stay a few percent.
    mutating func next() -> FuzzCase {
        serial += 1
        let kinds: [(Int, (inout MalformedRequests) -> FuzzCase)] = [
            (6, { $0.randomBytes() }), (4, { $0.brokenRequestLine() }), (4, { $0.brokenHeaders() }),
            (4, { $0.badContentLength() }), (2, { $0.chunked() }), (2, { $0.oversized() }),
            (6, { $0.truncated() }), (6, { $0.notJSON() }), (10, { $0.wrongSearchField() }),
            (10, { $0.wrongDocumentField() }), (4, { $0.wrongBatchField() }), (3, { $0.wrongIndexCreation() }),
            (5, { $0.hugeNumber() }), (4, { $0.deepNesting() }), (6, { $0.invalidUTF8() }), (6, { $0.badPath() }),
            (3, { $0.wrongMethod() }), (10, { $0.mutated() }), (1, { $0.tooManyItems() }), (2, { $0.oddButValid() }),
        ]
        var roll = Int(rng.next() % UInt64(kinds.reduce(0) { $0 + $1.0 }))
        for (weight, make) in kinds {
            if roll < weight { return make(&self) }
            roll -= weight
        }
        fatalError("unreachable")
    }

    // MARK: Building blocks

    mutating func pick<T>(_ choices: [T]) -> T { choices[Int(rng.next() % UInt64(choices.count))] }
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(rng.next() % UInt64(range.count)) }
    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }

    mutating func vectorText(_ count: Int? = nil) -> String {
        "[" + (0..<(count ?? dimensions)).map { _ in String(format: "%.4f", Double(Int(rng.next() % 20_001) - 10_000) / 1e4 + 0.00005) }
            .joined(separator: ",") + "]"
    }

    /// A JSON object from fields already serialized, in order (so a seed gives the same bytes).
    func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    func replacing(_ fields: [(String, String)], _ name: String, with value: String?) -> [(String, String)] {
        var out = fields.filter { $0.0 != name }
        if let value { out.append((name, value)) }
        return out
    }

    static func http(_ method: String, _ path: String, body: [UInt8]? = nil, headers: [String] = [], length: String? = nil) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: mrl\r\n"
        for header in headers { head += header + "\r\n" }
        if let body {
            head += "Content-Type: application/json\r\nContent-Length: \(length ?? String(body.count))\r\n"
        }
        return Array((head + "\r\n").utf8) + (body ?? [])
    }

    var searchPath: String { "/indexes/\(index)/search" }
    var documentsPath: String { "/indexes/\(index)/documents" }

    mutating func searchFields() -> [(String, String)] { [("vector", vectorText()), ("k", String(int(1...20)))] }
    mutating func documentFields() -> [(String, String)] {
        [("id", "\"fz-\(serial)-\(int(0...999))\""), ("text", "\"fuzz \(serial)\""), ("vector", vectorText()), ("meta", "{\"n\":\(serial)}")]
    }
    mutating func validSearch() -> String { object(searchFields()) }
    mutating func validDocuments() -> String {
        var documents: [String] = []
        for _ in 0..<int(1...3) { documents.append(object(documentFields())) }
        return object([("documents", "[" + documents.joined(separator: ",") + "]")])
    }
    mutating func validBatch() -> String { object([("queries", "[" + validSearch() + "," + validSearch() + "]")]) }

    /// A valid request to a route that reads a JSON body.
    mutating func validRequest() -> (path: String, body: String) {
        switch int(0...2) {
        case 0: (searchPath, validSearch())
        case 1: (documentsPath, validDocuments())
        default: (searchPath + "/batch", validBatch())
        }
    }

    func post(_ path: String, _ body: String, _ kind: String, _ expectation: FuzzCase.Expectation = .jsonError) -> FuzzCase {
        FuzzCase(kind: kind, bytes: MalformedRequests.http("POST", path, body: Array(body.utf8)), expectation: expectation)
    }

    // MARK: Kinds on the wire: bytes, request lines, headers, lengths, paths

    mutating func randomBytes() -> FuzzCase {
        FuzzCase(kind: "random bytes", bytes: bytes(int(1...2_048)), expectation: .clientError, finish: true)
    }

    mutating func brokenRequestLine() -> FuzzCase {
        let lines: [[UInt8]] = [
            Array("GET\r\n\r\n".utf8), Array("GET /no-such-route\r\n\r\n".utf8), Array("GET /no-such-route HTTP/9.9\r\n\r\n".utf8),
            Array("GET /no-such-route HTTP/1.1 extra\r\n\r\n".utf8), Array("GET  /no-such-route  HTTP/1.1\r\n\r\n".utf8),
            Array("get /no-such-route HTTP/1.1\r\nHost: mrl\r\n\r\n".utf8), Array("FOO /no-such-route HTTP/1.1\r\n\r\n".utf8),
            Array("GET no-such-route HTTP/1.1\r\n\r\n".utf8), Array("GET /no-such-route HTTP/1.1\n\n".utf8),
            Array("\r\n\r\nGET /no-such-route HTTP/1.1\r\n\r\n".utf8), Array(" GET /no-such-route HTTP/1.1\r\n\r\n".utf8),
            Array("GET /no such route HTTP/1.1\r\n\r\n".utf8), Array("GET /no-such-route\0 HTTP/1.1\r\n\r\n".utf8),
            Array("GET /no-such-route HTTP/1.1\r\n".utf8), Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8),
            Array("GET * HTTP/1.1\r\n\r\n".utf8), Array("GET http://mrl/no-such-route HTTP/1.1\r\n\r\n".utf8),
            Array("GET /\(String(repeating: "a", count: 70_000)) HTTP/1.1\r\n\r\n".utf8),
            Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8), [0x16, 0x03, 0x01, 0x00, 0xA5, 0x01, 0x00, 0x00, 0xA1, 0x03, 0x03],
            Array("GET /no-such-route HTTP/1.1\r\r\r\r".utf8), Array("GET /no-such-route HTTP/1.\r\n\r\n".utf8),
            Array("GET /no-such-route HTTP/1.1\r\n\r\n".utf8).map { $0 == 0x20 ? 0x09 : $0 },
            Array("GET /no-such-route HTTP/01.01\r\n\r\n".utf8), Array("GET /no-such-route HTTP/1.1".utf8),
        ]
        return FuzzCase(kind: "broken request line", bytes: pick(lines), expectation: .clientError, finish: true)
    }

    mutating func brokenHeaders() -> FuzzCase {
        let headers: [String] = [
            "Host mrl", "X: y\r\n\0Bad: z", " Folded: start", "Bad Name: x", "X: \u{7F}", "X: \(String(repeating: "v", count: 100_000))",
            (0..<3_000).map { "X-\($0): y" }.joined(separator: "\r\n"), "Content-Length: 0\r\nContent-Length: 5",
            "Transfer-Encoding: chunked\r\nContent-Length: 5", "Transfer-Encoding: gzip", "Transfer-Encoding: chunked, chunked",
            "Transfer-Encoding: identity", "Expect: 100-continue\r\nContent-Length: 10", "Connection: upgrade\r\nUpgrade: websocket",
            "Host: a\r\nHost: b", ": empty name", "X:\r\n continued", "Content-Length:", "X: a\rY: b", "\u{1}: ctl",
        ]
        var bytes = Array("GET /no-such-route HTTP/1.1\r\n\(pick(headers))\r\n\r\n".utf8)
        if int(0...4) == 0 { bytes.insert(contentsOf: self.bytes(int(1...8)).map { $0 | 0x80 }, at: int(30...(bytes.count - 4))) }
        return FuzzCase(kind: "broken headers", bytes: bytes, expectation: .clientError, finish: true)
    }

    mutating func badContentLength() -> FuzzCase {
        let body = Array(validSearch().utf8)
        let lengths = ["abc", "-1", "1e3", "99999999999999999999999", "", "0x10", "+5", " 12 ", "5, 5", "0", "1", String(body.count - 1),
                       String(body.count + 50), "18446744073709551616", "12\0"]
        let length = pick(lengths)
        if int(0...5) == 0 {
            // Announced over the cap: refused from the head alone, before any body.
            return FuzzCase(kind: "content-length over the cap", bytes: MalformedRequests.http("POST", searchPath, body: [], length: String(maxBody * int(2...1_000))),
                            expectation: .jsonError)
        }
        return FuzzCase(kind: "bad content-length", bytes: MalformedRequests.http("POST", searchPath, body: body, length: length),
                        expectation: .clientError, finish: true)
    }

    mutating func chunked() -> FuzzCase {
        let head = "POST \(documentsPath) HTTP/1.1\r\nHost: mrl\r\nTransfer-Encoding: chunked\r\n\r\n"
        switch int(0...4) {
        case 0:
            // Chunks past the cap: no Content-Length to refuse early, so the running total must.
            let piece = "{\"documents\":[" + String(repeating: " ", count: 16_000)
            var text = head
            for _ in 0..<(maxBody / piece.utf8.count + 2) { text += String(piece.utf8.count, radix: 16) + "\r\n" + piece + "\r\n" }
            return FuzzCase(kind: "chunked body over the cap", bytes: Array((text + "0\r\n\r\n").utf8), expectation: .jsonError)
        case 1: return FuzzCase(kind: "bad chunk size", bytes: Array((head + "zz\r\nabc\r\n0\r\n\r\n").utf8), expectation: .clientError, finish: true)
        case 2: return FuzzCase(kind: "huge chunk size", bytes: Array((head + "ffffffffffffffffffff\r\nabc\r\n").utf8), expectation: .clientError, finish: true)
        case 3: return FuzzCase(kind: "unfinished chunks", bytes: Array((head + "5\r\n{\"do\r\n").utf8), expectation: .clientError, finish: true)
        default:
            let body = String(validDocuments().dropLast(int(1...5)))
            let text = head + String(body.utf8.count, radix: 16) + "\r\n" + body + "\r\n0\r\n\r\n"
            return FuzzCase(kind: "chunked broken JSON", bytes: Array(text.utf8), expectation: .jsonError)
        }
    }

    mutating func oversized() -> FuzzCase {
        let size = maxBody + int(1...(2 * maxBody))
        let body = Array(("{\"documents\":[{\"id\":\"fz-big\",\"text\":\"" + String(repeating: "x", count: size) + "\"}]}").utf8)
        if int(0...2) == 0 {
            // Announces a small body, then keeps sending: the extra bytes are a next "request".
            return FuzzCase(kind: "body longer than its content-length", bytes: MalformedRequests.http("POST", documentsPath, body: body, length: "1000"),
                            expectation: .clientError)
        }
        return FuzzCase(kind: "body over the cap", bytes: MalformedRequests.http("POST", documentsPath, body: body), expectation: .jsonError)
    }

    mutating func truncated() -> FuzzCase {
        let (path, body) = validRequest()
        let bytes = Array(body.utf8)
        if int(0...1) == 0 {
            // A strict prefix of a JSON object is never valid JSON (the closing brace is last).
            let cut = Array(bytes.prefix(int(0...(bytes.count - 1))))
            return FuzzCase(kind: "truncated JSON", bytes: MalformedRequests.http("POST", path, body: cut), expectation: .jsonError)
        }
        let message = MalformedRequests.http("POST", path, body: bytes)
        return FuzzCase(kind: "truncated request", bytes: Array(message.prefix(int(1...(message.count - 1)))), expectation: .clientError, finish: true)
    }


    /// Index names that must never name a folder: traversal, absolute paths, encodings of
    /// both, and names the validator refuses. At most three levels up (the test keeps its
    /// data folder four levels down its scratch folder).
    static let evilNames = [
        "..", ".", "%2e%2e", "%2E%2E", "%2e", "%2e%2e%2f%2e%2e", "..%2f..%2fescape", "%2e%2e%2f%2e%2e%2f%2e%2e%2fescape",
        "%2fescape", "%2ftmp%2fmrl-fuzz-escape", "fuzz%2f..%2f..%2fescape", "%00", "a%00b", "%ff", "%c0%ae%c0%ae", "%", "%zz",
        "%2", "backups", String(repeating: "a", count: 65), "a%20b", "fuzz%2e", ".fuzz", "..%5c..%5cescape", "%252e%252e", "fuzz%0a",
    ]

    mutating func badPath() -> FuzzCase {
        let name = int(0...5) == 0 ? "\u{1}" : pick(MalformedRequests.evilNames)
        let documents = Array(validDocuments().utf8)
        var (method, path, body): (String, String, [UInt8]?)
        switch int(0...9) {
        case 0: (method, path, body) = ("PUT", "/indexes/\(name)", Array("{\"dimensions\":8}".utf8))
        case 1: (method, path, body) = ("GET", "/indexes/\(name)", nil)
        case 2: (method, path, body) = ("DELETE", "/indexes/\(name)", nil)
        case 3: (method, path, body) = ("POST", "/indexes/\(name)/documents", documents)
        case 4: (method, path, body) = ("POST", "/indexes/\(name)/search", Array(validSearch().utf8))
        case 5: (method, path, body) = ("POST", "/indexes/\(name)/backup", nil)
        case 6: (method, path, body) = ("GET", "/indexes/\(index)/documents/\(pick(["..%2f..%2fdata.mdb", "%ff%fe", "..", "%2e%2e", "kept-0%00"]))", nil)
        case 7: (method, path, body) = ("GET", pick(["/indexes/\(index)/../../health", "/../../indexes/\(index)", "/indexes/\(index)/documents/../search"]), nil)
        case 8: (method, path, body) = ("PUT", "/indexes/\(name)/../\(name)", Array("{\"dimensions\":8}".utf8))
        default: (method, path, body) = ("POST", "/indexes/\(index)/search?\(pick(["%%", "a=%ff", "&&==", "k=%00"]))", nil)
        }
        var bytes = MalformedRequests.http(method, path, body: body)
        // \u{1} stands for raw bytes that are not UTF-8, in the request line itself.
        if let mark = bytes.firstIndex(of: 1) { bytes.replaceSubrange(mark...mark, with: pick([[0xFF, 0xFE], [0xC0, 0xAE, 0xC0, 0xAE], [0x80]])) }
        return FuzzCase(kind: "bad path", bytes: bytes, expectation: .clientError)
    }

    mutating func wrongMethod() -> FuzzCase {
        let requests = [("POST", "/health"), ("DELETE", "/indexes"), ("PUT", "/indexes/\(index)/search"), ("GET", searchPath),
                        ("PATCH", "/indexes/\(index)"), ("OPTIONS", documentsPath), ("PUT", documentsPath + "/x"), ("GET", "/indexes/\(index)/backup"),
                        ("TRACE", "/"), ("CONNECT", "mrl:80"), ("POST", searchPath + "/batch/extra"), ("GET", searchPath + "/batch"),
                        ("M-SEARCH", "/health"), ("PROPFIND", "/indexes"), ("DELETE", "/health"), ("POST", "/metrics")]
        let (method, path) = pick(requests)
        return FuzzCase(kind: "wrong method", bytes: MalformedRequests.http(method, path), expectation: .clientError)
    }

    /// A valid request with a few bytes changed, inserted, deleted or cut: anything may come
    /// of it but a 5xx. Four edits cannot turn a POST into a DELETE or an "fz-" id into a "kept-" one.
    mutating func mutated() -> FuzzCase {
        let (path, body) = validRequest()
        var bytes = MalformedRequests.http("POST", path, body: Array(body.utf8))
        for _ in 0..<int(1...4) {
            let at = int(0...(bytes.count - 1))
            switch int(0...3) {
            case 0: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
            case 1: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
            case 2: bytes.remove(at: at)
            default: bytes[at] = pick(Array("{}[]\",:\\0.-e \r\n".utf8))
            }
        }
        return FuzzCase(kind: "mutated request", bytes: bytes, expectation: .noServerError, finish: true)
    }
}
