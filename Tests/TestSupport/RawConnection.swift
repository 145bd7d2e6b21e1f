import Foundation
import Server

/// One connection to a Unix socket that sends bytes exactly as given, malformed or not, and
/// reads what comes back: a whole HTTP response, the daemon closing, or nothing in time.
/// `UnixHTTPClient` writes well-formed requests only; fuzz tests need this.
///
/// ```swift
/// let connection = try RawConnection(socketPath: daemon.socket)
/// connection.send(Array("GET /health HTTP/1.1\r\nHost: mrl\r\n\r\n".utf8))
/// if case .response(let status, _) = connection.receive(within: 5) { print(status) }
/// ```
public final class RawConnection {
    public enum Outcome: Equatable, CustomStringConvertible {
        /// A complete response (read by the client's `ReplyReader`); status -1 with what came
        /// when that is not HTTP.
        case response(status: Int, body: [UInt8])
        /// The peer closed; `received` is whatever came before (empty for a plain close).
        case closed(received: [UInt8])
        /// Neither a whole response nor a close before the deadline.
        case timedOut(received: [UInt8])

        public var description: String {
            switch self {
            case .response(let status, let body): "\(status) \(RawConnection.printable(body, limit: 160))"
            case .closed(let received): received.isEmpty ? "closed" : "closed after \(received.count) bytes: \(RawConnection.printable(received, limit: 160))"
            case .timedOut(let received): "no answer in time (\(received.count) bytes: \(RawConnection.printable(received, limit: 160)))"
            }
        }
    }

    private var fd: Int32

    /// Connects; throws when nothing listens at `socketPath`.
    public init(socketPath: String) throws {
        fd = try UnixSocket.connect(to: socketPath)
        // Sends never block for long: a daemon that stopped reading (after a 413, say) must
        // not stall the test.
        var sendTimeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Writes `bytes`; stops quietly when the daemon has closed or stopped reading (it may
    /// answer before the whole request is sent). Returns how many bytes went out.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Int {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            sent += n
        }
        return sent
    }

    /// Tells the daemon no more bytes are coming (shutdown of the writing half).
    public func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

    /// Whether the daemon closes the connection within `seconds`, told without reading: the
    /// answers waiting unread stay unread.
    public func closedByPeer(within seconds: Double) -> Bool {
        let hangUp = Int16(0x2000 /* POLLRDHUP */) | Int16(POLLHUP) | Int16(POLLERR)
        var entry = pollfd(fd: fd, events: hangUp, revents: 0)
        let deadline = Date().addingTimeInterval(seconds)
        while case let left = deadline.timeIntervalSinceNow, left > 0 {
            let n = poll(&entry, 1, Int32(left * 1000) + 1)
            if n > 0, entry.revents & hangUp != 0 { return true }
            if n < 0, errno != EINTR { return false }
        }
        return false
    }

    /// Reads until a whole response arrives, the daemon closes, or `seconds` pass.
    public func receive(within seconds: Double) -> Outcome {
        let deadline = Date().addingTimeInterval(seconds)
        var received: [UInt8] = []
        var reader = ReplyReader()
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return .timedOut(received: received) }
            var slice = timeval(tv_sec: Int(left), tv_usec: min(999_999, Int((left - left.rounded(.down)) * 1e6) + 1))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &slice, socklen_t(MemoryLayout<timeval>.size))
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0, errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
            // A reset counts as a close: what matters is that the daemon let go.
            if n <= 0 { return .closed(received: received) }
            received += chunk[0..<n]
            chunk.withUnsafeBytes { reader.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            do {
                if let reply = try reader.next() { return .response(status: reply.status, body: reply.body) }
            } catch {
                return .response(status: -1, body: received)
            }
        }
    }

    /// `bytes` as text a person can read in a failure message: printable ASCII kept, the
    /// rest as \xNN, cut at `limit` bytes.
    public static func printable(_ bytes: some Collection<UInt8>, limit: Int = 400) -> String {
        var text = ""
        for byte in bytes.prefix(limit) {
            switch byte {
            case 0x0D: text += "\\r"
            case 0x0A: text += "\\n"
            case 0x5C: text += "\\\\"
            case 0x20..<0x7F: text.unicodeScalars.append(Unicode.Scalar(byte))
            default: text += String(format: "\\x%02x", byte)
            }
        }
        return bytes.count > limit ? text + "... (\(bytes.count) bytes)" : text
    }
}
