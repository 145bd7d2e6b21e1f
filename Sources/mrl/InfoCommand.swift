import ArgumentParser
import Engine
import Foundation

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show an index's size, dimensions, model and format.")

    @OptionGroup var target: IndexOptions

    @Flag(help: "Print as JSON.")
    var json = false

    func run() throws {
        let info = try target.open(.read).info()
        if json {
            printJSON(info.json)
            return
        }
        let m = info.manifest
        let mb = { (bytes: Int) in String(format: "%.1f MB", Double(bytes) / 1e6) }
        var table = Table(header: nil)
        table.rows = [
            ["index", info.name],
            ["documents", info.documents.formatted()],
            ["dimensions", "\(m.dimensions) (\(m.vectorType); prefix segments at \(m.segmentBoundaries.dropFirst().map(String.init).joined(separator: "/")))"],
            ["model", m.model.map { "\($0.name) (\($0.fingerprint))" } ?? "none (your own vectors)"],
            ["head", info.headDescription],
            ["graph", info.graphDescription],
            ["format", "\(m.format)"],
            ["on disk", "\(mb(info.fileBytes)) file, \(mb(info.usedBytes)) in use"],
            ["created", m.createdAt],
            ["scan kernels", info.kernelISA],
        ]
        print(table.render())
    }
}
