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
        /// The daemon closes the connection after this reply.
        public var closes = false
        public var json: JSON? { try? JSON.parse(body) }
        /// The daemon's error message for a non-2xx reply.
        public var errorMessage: String { json?["error"]?["message"]?.string ?? String(decoding: body, as: UTF8.self) }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// The daemon closed the connection before any of the reply came (an idle connection
        /// it had dropped): the request may be sent again on a new one.
        public var beforeReply = false
        public init(description: String, beforeReply: Bool = false) {
            self.description = description
            self.beforeReply = beforeReply
        }
    }

    public let socketPath: String
    private let timeout: TimeInterval
    private var fd: Int32 = -1
    private var reader = ReplyReader()
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
            return try sendAndRead(message)
        } catch let failure as Failure where failure.beforeReply {
            try connectSocket()
            return try sendAndRead(message)
        }
    }

    private func sendAndRead(_ message: [UInt8]) throws -> Reply {
        do {
            try send(message)
        } catch {
            // The daemon may answer and close before it reads a request (a connection it
            // refuses when it accepts it, a body over the limit): that answer is still there.
            if fd >= 0, let reply = try? readReply() { return reply }
            throw error
        }
        return try readReply()
    }

    private func connectSocket() throws {
        if fd >= 0 { close(fd) }
        fd = -1
        reader = ReplyReader()
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
            guard n > 0 else { throw Failure(description: "connection closed while sending: \(String(cString: strerror(errno)))", beforeReply: true) }
            sent += n
        }
    }

    /// Reads more bytes into the reader; false at end of stream. One receive area serves
    /// every read (a fresh 64 KB array per read was a fifth of the load generator's time).
    private func fill() throws -> Bool {
        while true {
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { throw Failure(description: "no reply from the daemon within \(Int(timeout)) s") }
            if n <= 0 { return false }
            scratch.withUnsafeBytes { reader.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            return true
        }
    }

    private func readReply() throws -> Reply {
        while true {
            if let reply = try reader.next() {
                if reply.closes {
                    close(fd)
                    fd = -1
                }
                return reply
            }
            guard try fill() else {
                let midway = reader.isMidway
                close(fd)
                fd = -1
                throw Failure(description: midway ? "connection closed by the daemon in the middle of a reply"
                                                  : "connection closed by the daemon before a reply", beforeReply: !midway)
            }
        }
    }
}
