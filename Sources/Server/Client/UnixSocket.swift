import Foundation

/// Connecting to a Unix-domain stream socket by path: for the client, the daemon's check
/// for a live socket, and tests that send raw bytes.
public enum UnixSocket {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// A connected socket's descriptor (the caller closes it); throws when nothing accepts at `path`.
    public static func connect(to path: String) throws -> Int32 {
        let (fd, code) = try attempt(path)
        guard code == 0 else { throw Failure(description: "cannot connect to \(path): \(String(cString: strerror(code)))") }
        return fd
    }

    /// 0 when something accepts connections at `path`, else connect's errno (ECONNREFUSED:
    /// a socket nobody listens on).
    public static func probe(_ path: String) -> Int32 {
        guard let (fd, code) = try? attempt(path) else { return ENAMETOOLONG }
        if code == 0 { close(fd) }
        return code
    }

    /// A connected descriptor and 0, or -1 and connect's errno.
    private static func attempt(_ path: String) throws -> (Int32, Int32) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw Failure(description: "socket path \(path) is \(path.utf8.count) bytes; Unix sockets allow 107")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return (-1, errno) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
        }
        guard connected else {
            let code = errno
            close(fd)
            return (-1, code)
        }
        return (fd, 0)
    }
}
