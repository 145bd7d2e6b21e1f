import ArgumentParser
import Engine
import Foundation

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the indexes in the data folder.")

    @Option(help: "Folder holding the indexes (default: $MRL_DATA, or indexes/).")
    var data: String?

    @Flag(help: "Print as JSON.")
    var json = false

    func run() throws {
        let directory = DataDirectory(path: data)
        let infos = try directory.indexNames().map { try Index.open(name: $0, in: directory, mode: .read).info() }
        if json {
            printJSON(["indexes": infos.map(\.json)])
            return
        }
        guard !infos.isEmpty else {
            print("no indexes in \(directory.path): create one with `mrl index --index NAME FILE`")
            return
        }
        var table = Table(header: ["index", "documents", "dims", "size"], rightAligned: [1, 2, 3])
        for info in infos {
            table.rows.append([info.name, info.documents.formatted(), "\(info.manifest.dimensions)",
                               String(format: "%.1f MB", Double(info.fileBytes) / 1e6)])
        }
        print(table.render())
    }
}
