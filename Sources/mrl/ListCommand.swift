import ArgumentParser
import Engine
import Foundation
import Terminal

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the indexes in the data folder, or a daemon's.")

    @Option(help: "Folder holding the indexes (default: $MRL_DATA, or indexes/).")
    var data: String?

    @Option(help: "Ask the daemon on this socket (default: the daemon on the default socket when one runs and --data is not given).")
    var socket: String?

    @Flag(help: "Print as JSON.")
    var json = false

    func run() throws {
        let catalog = try DaemonSocket.catalog(socket: socket, data: data)
        let infos = try catalog.infoDocuments()
        if json {
            print(JSON.object(["indexes": .array(infos)]).serialized)
            return
        }
        guard !infos.isEmpty else {
            print("no indexes in \(catalog.place): create one with `mrl index --index NAME FILE`")
            return
        }
        var table = Table(header: ["index", "documents", "dims", "size"], rightAligned: [1, 2, 3])
        for info in infos {
            table.rows.append([info["name"]?.string ?? "?", (info["documents"]?.int ?? 0).formatted(), "\(info["dimensions"]?.int ?? 0)",
                               String(format: "%.1f MB", (info["file_bytes"]?.number ?? 0) / 1e6)])
        }
        print(table.render())
    }
}
