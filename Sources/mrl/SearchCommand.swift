import ArgumentParser
import Engine
import Foundation

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find the documents closest in meaning to a text or a vector.",
        discussion: """
            Exact cosine search over the first --dims coordinates of the stored vectors (all by default):
            fewer dimensions read fewer bytes and answer faster, at some cost in quality.
            Examples:
              mrl search --index debian "tiling window manager"
              mrl search --index debian --dims 64 -k 5 --json "pdf viewer"
              mrl search --index mine --vector-file q.json
            """)

    @OptionGroup var target: IndexOptions

    @Argument(help: "The query text (embedded by the model).")
    var query: String?

    @Option(help: "Read the query vector from a file: a JSON array of numbers, or an object with \"vector\".")
    var vectorFile: String?

    @Option(name: .short, help: "How many hits to return (1-10000).")
    var k = 10

    @Option(help: "Search with the first N dimensions (e.g. 32, 64, 128, 256, 384; default: all).")
    var dims: Int?

    @Flag(help: "Print the answer as JSON (the socket API's shape).")
    var json = false

    func validate() throws {
        guard (query == nil) != (vectorFile == nil) else {
            throw ValidationError("give a query text or --vector-file, not both and not neither")
        }
    }

    func run() throws {
        let index = try target.open(.read)
        let vector = try vectorFile.map(readVector)
        let result = try index.search(SearchRequest(query: query, vector: vector, k: k, dims: dims, includeText: true))
        if json {
            try printJSON(result.json)
            return
        }
        var table = Table(header: ["#", "score", "id", "text"], rightAligned: [0, 1])
        for (rank, hit) in result.hits.enumerated() {
            table.rows.append(["\(rank + 1)", String(format: "%.4f", hit.score), hit.id, (hit.text ?? "").snippet(72)])
        }
        print(table.render())
        let dimsUsed = result.plan.stages.last?.dims ?? 0
        print(String(format: "exact scan at %d dims over %@ vectors (%@ MB read) in %.2f ms",
                     dimsUsed, result.distanceComputations.formatted(),
                     String(format: "%.1f", Double(result.bytesTouched) / 1e6), result.tookMs))
    }

    private func readVector(_ path: String) throws -> [Float] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError.unreadable(path: path, reason: "no such file or not readable")
        }
        let parsed = try? JSONSerialization.jsonObject(with: data)
        guard let raw = (parsed as? [Any]) ?? ((parsed as? [String: Any])?["vector"]) else {
            throw EngineError.unreadable(path: path, reason: "expected a JSON array of numbers, or an object with \"vector\"")
        }
        do {
            return try DocumentParser.vector(from: raw).get()
        } catch {
            throw EngineError.unreadable(path: path, reason: "the vector \(error.message)")
        }
    }
}
