import ArgumentParser
import Engine
import Foundation
import Terminal

struct QueriesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queries",
        abstract: "Show, export, clear or switch off an index's query log.",
        discussion: """
            Searches a user sends (through the daemon, or `mrl search`) are logged per index so that \
            plans can be calibrated on real queries: a sample of at most 20,000, biased to recent ones, \
            kept in the index's own files. Each entry is the query's vector in the model's raw space, \
            its k and its time; its text only after --keep-text. `mrl eval` and `mrl tune` are never \
            logged. Logging is on for new indexes; --disable-logging stops it (what is logged stays until --clear).
            Examples:
              mrl queries --index debian
              mrl queries --index debian --export log.jsonl      # usable as --queries
              mrl queries --index debian --disable-logging --clear
            """)

    @OptionGroup var target: IndexOptions

    @Option(help: "Write the logged queries as JSONL to this file (- for standard output).")
    var export: String?

    @Flag(help: "Empty the log.")
    var clear = false

    @Flag(inversion: .prefixedEnableDisable, exclusivity: .exclusive, help: "Log this index's searches from now on (--enable-logging), or stop (--disable-logging).")
    var logging: Bool?

    @Flag(inversion: .prefixedNo, exclusivity: .exclusive, help: "Keep each query's text too (--keep-text), or only its vector (--no-keep-text, the default).")
    var keepText: Bool?

    @Flag(help: "Print the log's state as JSON.")
    var json = false

    func run() throws {
        let index = try target.service(writing: logging != nil || keepText != nil || clear)
        if logging != nil || keepText != nil || clear {
            _ = try index.changeQueryLog(enabled: logging, includeText: keepText, clear: clear)
        }
        if let export { try write(index, to: export) }
        let page = try index.queryLog(offset: 0, limit: 0)
        if json {
            print(page.json.serialized)
        } else if export != "-" {
            let state = page.state
            print("\(target.index): query log \(state.enabled ? "on" : "off")\(state.includeText ? ", keeping texts" : ", vectors only"); \(page.count.formatted()) queries kept of \(state.seen.formatted()) seen")
        }
    }

    /// Every logged query as a JSONL line, page by page.
    private func write(_ index: IndexService, to path: String) throws {
        let output: FileHandle
        if path == "-" {
            output = .standardOutput
        } else {
            guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path) else {
                throw ValidationError("cannot write \(path)")
            }
            output = file
        }
        var offset = 0
        while true {
            let page = try index.queryLog(offset: offset, limit: 1_000)
            guard !page.queries.isEmpty else { break }
            output.write(Data(page.queries.map { $0.json.serialized + "\n" }.joined().utf8))
            offset += page.queries.count
        }
        if path != "-" { note("wrote \(offset) queries to \(path)") }
    }
}
