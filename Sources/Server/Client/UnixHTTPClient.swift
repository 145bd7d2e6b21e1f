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
    var status = 0
    var contentLength = 0
    var closes = false

    init(_ bytes: ArraySlice<UInt8>) throws {
        var lines = bytes.split(separator: 13).map { $0.first == 10 ? $0.dropFirst() : $0 }.makeIterator()
        let statusLine = lines.next() ?? []
        let parts = statusLine.split(separator: 32, maxSplits: 2)
        guard parts.count >= 2, let status = Self.integer(parts[1]) else {
            throw UnixHTTPClient.Failure(description: "not an HTTP reply: \(String(decoding: statusLine.prefix(80), as: UTF8.self))")
        }
        self.status = status
        while let line = lines.next() {
            guard let colon = line.firstIndex(of: 58) else { continue }
            let name = line[..<colon], value = line[(colon + 1)...].drop { $0 == 32 || $0 == 9 }
            if Self.named(name, "content-length") {
                contentLength = Self.integer(value) ?? 0
            } else if Self.named(name, "connection") {
                closes = Self.named(value.prefix(5), "close")
            }
        }
    }

    /// Whether `bytes` spell `lowercase`, in any case.
    private static func named(_ bytes: ArraySlice<UInt8>, _ lowercase: StaticString) -> Bool {
        bytes.count == lowercase.utf8CodeUnitCount
            && zip(bytes, UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)).allSatisfy { $0 | 0x20 == $1 }
    }

    /// The decimal number `bytes` start with (trailing blanks allowed), or nil.
    private static func integer(_ bytes: ArraySlice<UInt8>) -> Int? {
        let digits = bytes.prefix { $0 >= 0x30 && $0 <= 0x39 }
        guard !digits.isEmpty, digits.count <= 18, bytes.dropFirst(digits.count).allSatisfy({ $0 == 32 || $0 == 9 }) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }
}
