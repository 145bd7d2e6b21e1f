import Engine
import Foundation

/// A small blocking HTTP/1.1 client over a Unix-domain socket, one keep-alive connection:
/// what the CLI uses to talk to the daemon, and the load generator's and tests' client.
///
/// ```swift
/// let client = try UnixHTTPClient(socketPath: "indexes/mrl.sock")
/// let reply = try client.request("POST", "/indexes/debian/search", json: ["query": "pdf viewer"])
/// print(reply.status, reply.json?["hits"] ?? [])
/// ```
public final class UnixHTTPClient {
    public struct Reply: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var json: JSON? { try? JSON.parse(body) }
        /// The daemon's error message for a non-2xx reply.
        public var errorMessage: String { json?["error"]?["message"]?.string ?? String(decoding: body, as: UTF8.self) }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public let socketPath: String
    private let timeout: TimeInterval
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    private var scratch = [UInt8](repeating: 0, count: 64 << 10)

    /// Connects to `socketPath`; throws `Failure` when nothing listens there.
    public init(socketPath: String, timeout: TimeInterval = 600) throws {
        self.socketPath = socketPath
        self.timeout = timeout
        try connectSocket()
    }

    deinit { if fd >= 0 { close(fd) } }

    public func request(_ method: String, _ path: String, json: JSON) throws -> Reply {
        try request(method, path, body: json.bytes)
    }

    /// Sends one request and reads its reply.
    public func request(_ method: String, _ path: String, body: [UInt8]? = nil) throws -> Reply {
        try exchange(Self.message(method, path, body: body))
    }

    /// A request's bytes, for `exchange`: the load generator builds them once, before timing.
    public static func message(_ method: String, _ path: String, body: [UInt8]? = nil) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: mrl\r\n"
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        return Array((head + "\r\n").utf8) + (body ?? [])
    }

    /// Sends a request built by `message` and reads its reply; reconnects once if the daemon
    /// had closed an idle connection.
    public func exchange(_ message: [UInt8]) throws -> Reply {
        do {
            try send(message)
            return try readReply()
        } catch let failure as Failure where failure.description.hasPrefix("connection closed") && buffer.isEmpty {
            try connectSocket()
            try send(message)
            return try readReply()
        }
    }

    private func connectSocket() throws {
        if fd >= 0 { close(fd) }
        fd = -1
        buffer.removeAll()
        do {
            fd = try UnixSocket.connect(to: socketPath)
        } catch {
            throw Failure(description: "\(error) (is `mrl serve` running?)")
        }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    private func send(_ bytes: [UInt8]) throws {
        if fd < 0 { try connectSocket() }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "connection closed while sending: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    /// Reads more bytes into `buffer`; false at end of stream. One receive area serves every
    /// read (a fresh 64 KB array per read was a fifth of the load generator's time).
    private func fill() throws -> Bool {
        while true {
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { throw Failure(description: "no reply from the daemon within \(Int(timeout)) s") }
            if n <= 0 { return false }
            buffer.append(contentsOf: scratch[0..<n])
            return true
        }
    }

    /// Where the blank line that ends the head starts, searching from `from`.
    private func headEnd(from: Int) -> Int? {
        guard buffer.count - 4 >= from else { return nil }
        return buffer.withUnsafeBufferPointer { bytes in
            (from...(bytes.count - 4)).first { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10 }
        }
    }

    private func readReply() throws -> Reply {
        var end: Int?, from = 0
        while true {
            end = headEnd(from: from)
            if end != nil { break }
            from = max(0, buffer.count - 3)  // a separator may straddle what is here and what comes
            guard try fill() else {
                close(fd)
                fd = -1
                throw Failure(description: "connection closed by the daemon before a reply")
            }
        }
        let head = try ReplyHead(buffer[0..<end!])
        buffer.removeFirst(end! + 4)
        while buffer.count < head.contentLength {
            guard try fill() else { throw Failure(description: "connection closed by the daemon in the middle of a reply") }
        }
        let body = Array(buffer[0..<head.contentLength])
        buffer.removeFirst(head.contentLength)
        if head.closes {
            close(fd)
            fd = -1
        }
        return Reply(status: head.status, body: body)
    }
}

/// What the client needs of a reply's head, read from its bytes without building strings
/// (the load generator reads one per search).
private struct ReplyHead {
    var status: Int
    var contentLength = 0
    var closes = false

    init(_ bytes: ArraySlice<UInt8>) throws {
        let lines = bytes.split(separator: 13, omittingEmptySubsequences: true).map { $0.first == 10 ? $0.dropFirst() : $0 }
        let statusLine = lines.first ?? []
        let parts = statusLine.split(separator: 32)
        guard parts.count >= 2, let status = Int(String(decoding: parts[1], as: UTF8.self)) else {
            throw UnixHTTPClient.Failure(description: "not an HTTP reply: \(String(decoding: statusLine.prefix(80), as: UTF8.self))")
        }
        self.status = status
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: 58) else { continue }
            let value = line[(colon + 1)...].drop { $0 == 32 || $0 == 9 }
            if Self.named(line[..<colon], "content-length") {
                contentLength = Int(String(decoding: value, as: UTF8.self).trimmingCharacters(in: .whitespaces)) ?? 0
            } else if Self.named(line[..<colon], "connection") {
                closes = value.prefix(5).map { $0 | 0x20 } == Array("close".utf8)
            }
        }
    }

    /// Whether a header's name is `lowercase`, in any case.
    private static func named(_ name: ArraySlice<UInt8>, _ lowercase: String) -> Bool {
        name.count == lowercase.utf8.count && zip(name, lowercase.utf8).allSatisfy { $0 | 0x20 == $1 }
    }
}
