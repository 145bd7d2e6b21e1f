import ArgumentParser
import Engine
import Foundation
import Server
import Terminal

/// Which running `mrl serve` a command talks to instead of opening the index itself: the one
/// named by --socket, else the default socket when a daemon answers there and no --data was
/// given (a given --data means "this folder, directly"). Without $MRL_SOCKET or
/// $XDG_RUNTIME_DIR the default socket is in the data folder, by default `indexes/` of the
/// working directory: there it is used only when it is the user's own, so that a socket
/// someone else left in a shared folder never receives the user's documents.
enum DaemonSocket {
    /// Where a command finds its indexes: the daemon (`resolve`), else the data folder, each
    /// index in it capped at `maxIndexBytes`.
    static func catalog(socket: String?, data: String?, maxIndexBytes: Int? = nil) throws -> IndexCatalog {
        guard let daemon = try resolve(socket: socket, data: data) else { return DataDirectory(path: data, maxIndexBytes: maxIndexBytes) }
        if maxIndexBytes != nil {
            throw ValidationError("--max-size caps an index where it is opened, and \(daemon.place) holds it: start `mrl serve --max-size`, or stop the daemon")
        }
        return daemon
    }

    static func resolve(socket: String?, data: String?) throws -> DaemonCatalog? {
        if let socket { return try DaemonCatalog(socket: socket) }
        guard data == nil else { return nil }
        let path = ServerConfiguration.defaultSocketPath(data: DataDirectory(path: nil))
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else { return nil }
        if info.st_uid != geteuid(), ProcessInfo.processInfo.environment["MRL_SOCKET"]?.isEmpty ?? true {
            note("not using the socket \(path): it belongs to uid \(info.st_uid), not you (give --socket \(path) to use it)")
            return nil
        }
        return try? DaemonCatalog(socket: path)
    }
}
