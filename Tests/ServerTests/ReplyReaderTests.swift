import Server
import XCTest

/// Replies cut out of bytes however they arrive: split anywhere, several in one read, empty
/// bodies, and a head that is not HTTP.
final class ReplyReaderTests: XCTestCase {
    private let replies = Array(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-LENGTH: 7\r\n\r\n{\"a\":1}"
        + "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
        + "HTTP/1.1 503 Service Unavailable\r\nConnection: Close\r\nContent-Length:2\r\n\r\nno").utf8)

    func testRepliesSplitAtEveryByteComeOutWhole() throws {
        for cut in 0...replies.count {
            var reader = ReplyReader()
            var got: [UnixHTTPClient.Reply] = []
            for part in [replies[..<cut], replies[cut...]] {
                part.withUnsafeBytes { reader.append($0) }
                while let reply = try reader.next() { got.append(reply) }
                XCTAssertNil(try reader.next(), "asked again with nothing new")
            }
            XCTAssertEqual(got.map(\.status), [200, 204, 503], "cut at \(cut)")
            XCTAssertEqual(got.map { String(decoding: $0.body, as: UTF8.self) }, ["{\"a\":1}", "", "no"], "cut at \(cut)")
            XCTAssertEqual(got.map(\.closes), [false, false, true], "cut at \(cut)")
            XCTAssertFalse(reader.isMidway)
        }
    }

    func testAHeadThatIsNotHTTPIsAnError() {
        for head in ["SSH-2.0-OpenSSH\r\n\r\n", "ICY 200 OK\r\nContent-Length: 0\r\n\r\n"] {
            var reader = ReplyReader()
            Array(head.utf8).withUnsafeBytes { reader.append($0) }
            XCTAssertThrowsError(try reader.next(), head) { error in
                XCTAssertTrue("\(error)".contains("not an HTTP reply"), "\(error)")
            }
        }
    }
}
