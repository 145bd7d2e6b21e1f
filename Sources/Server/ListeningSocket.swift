import Foundation
import NIOCore

/// The socket file the daemon listens on: checks before binding (a live daemon there is an
/// error, a stale file from a killed one is replaced, anything else is left alone) and
/// permissions (never world-writable).
enum ListeningSocket {
    enum Problem: Error, CustomStringConvertible {
        case live(String)
        case notASocket(String)
        case unknown(String, Int32)
        case tooLong(String)
        case worldWritable(String, mode_t)
        case unknownGroup(String)
        case system(String, String, Int32)

        var description: String {
            switch self {
            case .live(let path): "another mrl serve is listening on \(path): stop it first, or give --socket another path"
            case .notASocket(let path): "\(path) exists and is not a socket: remove it or give --socket another path"
            case .unknown(let path, let code):
                "cannot tell whether a daemon listens on \(path) (connect: \(String(cString: strerror(code)))): it is left alone; remove it if no daemon uses it, or give --socket another path"
            case .tooLong(let path): "socket path \(path) is \(path.utf8.count) bytes; Unix sockets allow 107 (and mrl needs 6 more while it creates the socket): use a shorter --socket"
            case .worldWritable(let path, let mode):
                "refusing to serve on \(path) with mode \(String(mode, radix: 8)): any local user could use the daemon. Use 600 or 660 (with --socket-group)"
            case .unknownGroup(let group): "no group named \(group) (--socket-group)"
            case .system(let what, let path, let code): "\(what) \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    /// Makes `path` free to bind: nothing there, or a stale socket, which is removed. Only
    /// ECONNREFUSED proves a socket stale (nobody listens); any other failure to connect
    /// (EACCES: another user's daemon; EAGAIN: a busy one) leaves the file alone and throws.
    static func prepare(_ path: String) throws {
        guard path.utf8.count <= 107 else { throw Problem.tooLong(path) }
        try FileManager.default.createDirectory(atPath: folder(of: path), withIntermediateDirectories: true)
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else { throw Problem.notASocket(path) }
        switch UnixSocket.probe(path) {
        case 0: throw Problem.live(path)
        case ECONNREFUSED: break
        case ENOENT: return
        case let code: throw Problem.unknown(path, code)
        }
        guard unlink(path) == 0 || errno == ENOENT else { throw Problem.system("cannot remove the stale socket", path, errno) }
    }

    /// Creates the socket file at `path` with `mode` and `group` by calling `bind` on a path in
    /// a fresh folder only this process may enter, then hard-links it into place.
    ///
    /// Why not chmod and chown after binding at `path`: those calls work by path, and anyone who
    /// may write the socket's folder (a group-writable one, with --socket-group) could swap the
    /// file for a link to one of ours between the bind and the chmod, which would then change
    /// that file. `fchmod`/`fchown` on the socket's descriptor do not reach the file bind
    /// creates (its group comes from the folder). In a private folder no one can swap
    /// anything, and `link` fails rather than replace a file that appeared at `path` meanwhile.
    static func create(_ path: String, mode: mode_t, group: String?, bind: (String) throws -> Channel) throws -> Channel {
        let gid = try group.map { name -> gid_t in
            guard let entry = getgrnam(name) else { throw Problem.unknownGroup(name) }
            return entry.pointee.gr_gid
        }
        var template = Array((folder(of: path) + "/.mrlXXXXXX").utf8CString)
        guard template.count - 1 + 2 <= 107 else { throw Problem.tooLong(path) }
        guard let made = mkdtemp(&template) else { throw Problem.system("cannot make a private folder beside", path, errno) }
        let privateFolder = String(cString: made)
        let temporary = privateFolder + "/s"
        defer {
            unlink(temporary)
            rmdir(privateFolder)
        }
        let listener = try bind(temporary)
        do {
            if let gid, chown(temporary, uid_t.max, gid) != 0 { throw Problem.system("cannot give group \(group ?? "") to", path, errno) }
            guard chmod(temporary, mode) == 0 else { throw Problem.system("cannot set the mode of", path, errno) }
            guard link(temporary, path) == 0 else { throw Problem.system("cannot create", path, errno) }
        } catch {
            try? listener.close().wait()
            throw error
        }
        return listener
    }

    private static func folder(of path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
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
