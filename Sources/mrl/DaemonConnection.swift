import ArgumentParser
import Engine
import Foundation
import Server
import Store

/// A running `mrl serve` that a command talks to instead of opening the index itself:
/// the one named by --socket, else the default socket when a daemon answers there and no
/// --data was given (a given --data means "this folder, directly"). Without $MRL_SOCKET or
/// $XDG_RUNTIME_DIR the default socket is in the data folder, by default `indexes/` of the
/// working directory: there it is used only when it is the user's own, so that a socket
/// someone else left in a shared folder never receives the user's documents.
struct DaemonConnection {
    let client: UnixHTTPClient

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func resolve(socket: String?, data: String?) throws -> DaemonConnection? {
        if let socket {
            do {
                return DaemonConnection(client: try UnixHTTPClient(socketPath: socket))
            } catch {
                throw Failure(description: "\(error)")
            }
        }
        guard data == nil else { return nil }
        let path = ServerConfiguration.defaultSocketPath(data: DataDirectory(path: nil))
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else { return nil }
        if info.st_uid != geteuid(), ProcessInfo.processInfo.environment["MRL_SOCKET"]?.isEmpty ?? true {
            note("not using the socket \(path): it belongs to uid \(info.st_uid), not you (give --socket \(path) to use it)")
            return nil
        }
        return (try? UnixHTTPClient(socketPath: path)).map(DaemonConnection.init)
    }

    /// Sends a request; a non-2xx answer throws the daemon's message. `notFound` is thrown
    /// as `StoreError.indexNotFound`-like `Failure` unless the caller handles 404 itself.
    func call(_ method: String, _ path: String, _ body: JSON? = nil) throws -> (status: Int, json: JSON) {
        let reply: UnixHTTPClient.Reply
        do {
            reply = try client.request(method, path, body: body?.bytes)
        } catch {
            throw Failure(description: "\(error)")
        }
        guard let json = reply.json else {
            throw Failure(description: "the daemon at \(client.socketPath) sent a reply that is not JSON (status \(reply.status))")
        }
        return (reply.status, json)
    }

    /// `call`, requiring a 2xx answer.
    func expect(_ method: String, _ path: String, _ body: JSON? = nil) throws -> JSON {
        let (status, json) = try call(method, path, body)
        guard (200..<300).contains(status) else {
            throw Failure(description: json["error"]?["message"]?.string ?? "the daemon answered \(status)")
        }
        return json
    }
}

/// An ingest's batches sent to the daemon (`POST /indexes/NAME/documents`), which commits
/// each durably before answering.
final class DaemonSink: DocumentSink {
    let name: String
    let dimensions: Int
    let acceptsText: Bool
    private let daemon: DaemonConnection

    /// The daemon's index `name`, created there (like `mrl index` does) when missing, with
    /// the dimensions of `first`'s vector or the model's.
    init(daemon: DaemonConnection, name: String, first: DocumentInput) throws {
        self.daemon = daemon
        self.name = name
        var (status, info) = try daemon.call("GET", "/indexes/\(name)")
        if status == 404 {
            let dimensions = first.vector?.count ?? Model.defaultDimensions
            let body: JSON = dimensions == Model.defaultDimensions ? [:] : ["dimensions": JSON(dimensions)]
            info = try daemon.expect("PUT", "/indexes/\(name)", body)
        } else if status != 200 {
            throw DaemonConnection.Failure(description: info["error"]?["message"]?.string ?? "the daemon answered \(status)")
        }
        dimensions = info["dimensions"]?.int ?? Model.defaultDimensions
        acceptsText = info["model"]?["name"]?.string == Model.defaultName
    }

    func upsert(_ documents: [DocumentInput]) throws -> WriteReport {
        let items: [JSON] = documents.map { doc in
            var object: [String: JSON] = ["id": .string(doc.id), "text": .string(doc.text)]
            if let meta = doc.meta { object["meta"] = (try? JSON.parse(meta)) ?? .null }
            if let vector = doc.vector { object["vector"] = .array(vector.map(JSON.float)) }
            return .object(object)
        }
        let reply = try daemon.expect("POST", "/indexes/\(name)/documents", ["documents": .array(items)])
        var report = WriteReport()
        report.added = reply["added"]?.int ?? 0
        report.changed = reply["changed"]?.int ?? 0
        report.unchanged = reply["unchanged"]?.int ?? 0
        return report
    }
}
