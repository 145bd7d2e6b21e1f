import ArgumentParser
import Engine
import Foundation
import Terminal

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show an index's size, dimensions, model and format.")

    @OptionGroup var target: IndexOptions

    @Flag(help: "Print as JSON.")
    var json = false

    func run() throws {
        let info = try target.service().infoDocument()
        if json {
            print(info.serialized)
            return
        }
        let mb = { (key: String) in String(format: "%.1f MB", (info[key]?.number ?? 0) / 1e6) }
        let segments = (info["prefix_segments"]?.array ?? []).dropFirst().compactMap(\.int).map(String.init).joined(separator: "/")
        let model = info["model"].flatMap { model in
            model["name"]?.string.map { "\($0) (\(model["fingerprint"]?.string ?? "?")), texts embedded at \(model["precision"]?.string ?? "fp32")" }
        }
        var table = Table(header: nil)
        table.rows = [
            ["index", info["name"]?.string ?? target.index],
            ["documents", (info["documents"]?.int ?? 0).formatted()],
            ["dimensions", "\(info["dimensions"]?.int ?? 0) (\(info["vector_type"]?.string ?? "?"); prefix segments at \(segments))"],
            ["model", model ?? "none (your own vectors)"],
            ["head", info["description"]?["head"]?.string ?? "?"],
            ["graph", info["description"]?["graph"]?.string ?? "?"],
            ["presets", info["description"]?["presets"]?.string ?? "?"],
            ["hybrid fusion", info["description"]?["fusion"]?.string ?? "?"],
        ] + (info["description"]?["monitor"]?.string.map { [["recall monitor", $0]] } ?? []) + [
            ["format", "\(info["format"]?.int ?? 0)"],
            ["on disk", "\(mb("file_bytes")) file, \(mb("used_bytes")) in use"],
            ["created", info["created_at"]?.string ?? "?"],
            ["scan kernels", info["kernel_isa"]?.string ?? "?"],
        ]
        print(table.render())
    }
}
