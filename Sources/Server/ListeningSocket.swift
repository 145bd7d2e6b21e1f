import Foundation

/// The socket file the daemon listens on: checks before binding (a live daemon there is an
/// error, a stale file from a killed one is replaced, anything else is left alone) and
/// permissions after (never world-writable).
enum ListeningSocket {
    enum Problem: Error, CustomStringConvertible {
        case live(String)
        case notASocket(String)
        case tooLong(String)
        case worldWritable(String, mode_t)
        case unknownGroup(String)
        case system(String, String)

        var description: String {
            switch self {
            case .live(let path): "another mrl serve is listening on \(path): stop it first, or give --socket another path"
            case .notASocket(let path): "\(path) exists and is not a socket: remove it or give --socket another path"
            case .tooLong(let path): "socket path \(path) is \(path.utf8.count) bytes; Unix sockets allow 107: use a shorter --socket"
            case .worldWritable(let path, let mode):
                "refusing to serve on \(path) with mode \(String(mode, radix: 8)): any local user could use the daemon. Use 600 or 660 (with --socket-group)"
            case .unknownGroup(let group): "no group named \(group) (--socket-group)"
            case .system(let what, let path): "\(what) \(path): \(String(cString: strerror(errno)))"
            }
        }
    }

    /// Makes `path` free to bind: nothing there, or a stale socket (nobody accepts on it),
    /// which is removed. Throws `.live` or `.notASocket` otherwise.
    static func prepare(_ path: String) throws {
        guard path.utf8.count <= 107 else { throw Problem.tooLong(path) }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent.isEmpty ? "."
                                                : (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else { throw Problem.notASocket(path) }
        if accepts(path) { throw Problem.live(path) }
        guard unlink(path) == 0 || errno == ENOENT else { throw Problem.system("cannot remove the stale socket", path) }
    }

    /// Whether a process accepts connections on the socket at `path`.
    static func accepts(_ path: String) -> Bool {
        guard let fd = try? UnixSocket.connect(to: path) else { return false }
        close(fd)
        return true
    }

    /// The umask that makes a new socket file get `mode`.
    static func umask(for mode: mode_t) -> mode_t { 0o777 & ~mode }

    /// After binding: gives the file its group and mode, and checks no one else can write it.
    static func secure(_ path: String, mode: mode_t, group: String?) throws {
        if let group {
            guard let entry = getgrnam(group) else { throw Problem.unknownGroup(group) }
            guard chown(path, uid_t.max, entry.pointee.gr_gid) == 0 else { throw Problem.system("cannot give group \(group) to", path) }
        }
        guard chmod(path, mode) == 0 else { throw Problem.system("cannot set the mode of", path) }
        var info = stat()
        guard stat(path, &info) == 0 else { throw Problem.system("cannot stat", path) }
        if info.st_mode & 0o002 != 0 { throw Problem.worldWritable(path, info.st_mode & 0o777) }
    }

    /// The listening socket systemd passed (socket activation: LISTEN_PID is this process,
    /// LISTEN_FDS ≥ 1, the first is fd 3), or nil.
    static func inherited() -> Int32? {
        let environment = ProcessInfo.processInfo.environment
        guard let pid = environment["LISTEN_PID"].flatMap(Int32.init), pid == getpid(),
              let count = environment["LISTEN_FDS"].flatMap(Int.init), count >= 1 else { return nil }
        unsetenv("LISTEN_PID")
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_FDNAMES")
        return 3
    }
}
