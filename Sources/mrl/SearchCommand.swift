import ArgumentParser
import Engine
import Foundation
import Terminal

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find the documents closest in meaning to a text or a vector.",
        discussion: """
            With a graph (built by `mrl index` from 5,000 documents on, or `mrl graph`), the search walks \
            it at a short prefix and rescores the candidates at full dimensions, with the plan the planner \
            picks for --budget-ms (or a default reaching recall 0.95). --dims N scans the first N \
            dimensions exactly instead: fewer dimensions read fewer bytes, at some cost in quality. \
            A hybrid search (the default for a query text) fuses the semantic and the BM25 ranking as \
            `mrl tune --queries LABELLED.jsonl` fitted for the index (`mrl info` shows it): by reciprocal \
            rank, w / (60 + semantic rank) + (1 − w) / (60 + lexical rank), or by relative score, \
            w × semantic score + (1 − w) × BM25 score, each scaled to 0..1 over its ranking; untuned, by \
            reciprocal rank at w = 0.5. --fusion-weight sets w for one search.
            Examples:
              mrl search --index debian "tiling window manager"
              mrl search --index debian --budget-ms 0.5 "pdf viewer"
              mrl search --index debian --preset fast "pdf viewer"
              mrl search --index debian --dims 64 -k 5 --json "pdf viewer"
              mrl search --index debian --mode hybrid "LZSS"
              mrl search --index debian --fusion-weight 0.3 "LZSS"
              mrl search --index mine --vector-file q.json
              mrl search --index notes --filter '{"field": "ext", "eq": "md"}' "release checklist"
            """)

    @OptionGroup var target: IndexOptions

    @Argument(help: "The query text (embedded by the model).")
    var query: String?

    @Option(help: "Read the query vector from a file: a JSON array of numbers, or an object with \"vector\".")
    var vectorFile: String?

    @Option(name: .short, help: "How many hits to return (1-10000).")
    var k = 10

    @Option(help: "Scan the first N dimensions exactly (e.g. 32, 64, 128, 256, 384), without the graph.")
    var dims: Int?

    @Option(help: "Latency budget in ms for the search itself: the planner picks the best plan predicted to fit.")
    var budgetMs: Double?

    @Option(help: "\"parent\": only the best chunk of each file (or chunked document).")
    var groupBy: String?

    @Option(help: "A preset measured by `mrl tune`: fast, balanced, accurate, or one you named.")
    var preset: String?

    @Option(help: "Hard stop in ms: past it, answer with the best found so far (marked partial).")
    var deadlineMs: Double?

    @Option(help: "Beam width of the graph walk, overriding the planner.")
    var ef: Int?

    @Option(help: "semantic (by meaning), lexical (BM25 over the words and identifiers) or hybrid (both, fused; the default for a query text, which it ranks best on every set measured); lexical and hybrid need a query text.")
    var mode: SearchMode?

    @Option(help: "Hybrid only: the semantic ranking's weight, 0 (lexical only) to 1 (semantic only); default: the weight `mrl tune` fitted, else 0.5.")
    var fusionWeight: Double?

    @OptionGroup var filter: FilterOptions

    @Flag(help: "Print the answer as JSON (the socket API's shape).")
    var json = false

    func validate() throws {
        if let groupBy, groupBy != "parent" { throw ValidationError("--group-by takes \"parent\"") }
        guard (query == nil) != (vectorFile == nil) else {
            throw ValidationError("give a query text or --vector-file, not both and not neither")
        }
        if let mode, mode != .semantic, query == nil { throw ValidationError("--mode \(mode.rawValue) needs a query text: vectors are searched semantically") }
        if let fusionWeight {
            guard SearchRequest.fusionWeights.contains(fusionWeight) else { throw ValidationError("--fusion-weight must be a number from 0 to 1, got \(fusionWeight)") }
            guard query != nil, (mode ?? .hybrid) == .hybrid else { throw ValidationError("--fusion-weight weighs a hybrid search's two rankings: give it with a query text in --mode hybrid") }
        }
    }

    func run() throws {
        let vector = try vectorFile.map(readVector)
        var request = SearchRequest(query: query, vector: vector, k: k, dims: dims, ef: ef, budgetMs: budgetMs,
                                    preset: preset, deadlineMs: deadlineMs, includeText: true)
        request.groupByParent = groupBy == "parent"
        request.mode = mode ?? (query == nil ? .semantic : .hybrid)
        request.filter = try filter.parsed()
        request.fusionWeight = fusionWeight
        let result = try target.service().answer(request)
        if json {
            print(result.json.serialized)
            return
        }
        let metas = result.hits.map { hit in hit.meta.flatMap { try? JSON.parse($0) } }
        if metas.contains(where: { $0?["lines"] != nil }) {
            // Chunks of files or long documents: where each is, and the passage that matched.
            let highlight = isatty(STDOUT_FILENO) != 0
            for (rank, (hit, meta)) in zip(result.hits, metas).enumerated() {
                var place = meta?["path"]?.string ?? meta?["parent"]?.string ?? hit.id
                if let lines = meta?["lines"]?.array?.compactMap(\.int), lines.count == 2 { place += ":\(lines[0])-\(lines[1])" }
                print(String(format: "%3d  %.4f  %@", rank + 1, hit.score, place))
                print("     " + Snippet(text: hit.text ?? "", query: query ?? "").render(width: 150, highlight: highlight))
            }
        } else {
            var table = Table(header: ["#", "score", "id", "text"], rightAligned: [0, 1])
            for (rank, hit) in result.hits.enumerated() {
                table.rows.append(["\(rank + 1)", String(format: "%.4f", hit.score), hit.id, (hit.text ?? "").snippet(72)])
            }
            print(table.render())
        }
        let promises = [result.predictedMs.map { String(format: "%.2f ms", $0) },
                        result.predictedRecall.map { String(format: "recall@10 %.3f", $0) }].compactMap { $0 }
        let predicted = promises.isEmpty ? "" : " (predicted " + promises.joined(separator: ", ") + ")"
        let lexical = result.lexicalCost.map { "BM25 over \($0.terms.formatted()) terms, \($0.postings.formatted()) postings read" }
        guard result.mode != .lexical else { return print("\(lexical ?? "BM25"), \(String(format: "%.2f", result.tookMs)) ms") }
        print(String(format: "%@: %@ distances, %@ MB read, %.2f ms%@%@", result.plan.summary,
                     result.distanceComputations.formatted(), String(format: "%.2f", Double(result.bytesTouched) / 1e6),
                     result.tookMs, predicted, result.partial ? "; partial: the deadline cut it short" : ""))
        if let lexical {
            print("fused with \(lexical)" + (result.fusion.map { " (\($0.description))" } ?? ""))
        }
    }

    private func readVector(_ path: String) throws -> [Float] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError.unreadable(path: path, reason: "no such file or not readable")
        }
        let parsed = try? JSON.parse(data)
        guard let raw = parsed.flatMap({ $0.array != nil ? $0 : $0["vector"] }) else {
            throw EngineError.unreadable(path: path, reason: "expected a JSON array of numbers, or an object with \"vector\"")
        }
        do {
            return try DocumentParser.vector(from: raw).get()
        } catch {
            throw EngineError.unreadable(path: path, reason: "the vector \(error.message)")
        }
    }
}

extension SearchMode: ExpressibleByArgument {}
