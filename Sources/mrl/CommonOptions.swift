import ArgumentParser
import Engine
import Foundation
import Terminal

/// Options every index command takes.
struct IndexOptions: ParsableArguments {
    @Option(name: .long, help: "Name of the index (1-64 of A-Z a-z 0-9 _ -).")
    var index: String

    @Option(name: .long, help: "Folder holding the indexes (default: $MRL_DATA, or indexes/).")
    var data: String?

    @Option(name: .long, help: "Talk to the daemon on this socket (default: the daemon on the default socket when one runs and --data is not given).")
    var socket: String?

    var dataDirectory: DataDirectory { DataDirectory(path: data) }

    /// Where the command finds the index (see `DaemonSocket.catalog`).
    func catalog(maxIndexBytes: Int? = nil) throws -> IndexCatalog {
        try DaemonSocket.catalog(socket: socket, data: data, maxIndexBytes: maxIndexBytes)
    }

    /// The index, through the daemon that holds it or opened here.
    func service(writing: Bool = false) throws -> IndexService { try catalog().index(index, writing: writing) }

    /// The index opened in this process, for the commands that change it wholesale (head,
    /// graph, tune: refused while a daemon holds it) or read it at length (eval reads
    /// beside a daemon).
    func open(_ mode: Index.OpenMode) throws -> Index {
        if mode == .write, let daemon = try DaemonSocket.resolve(socket: socket, data: data),
           (try? daemon.index(index, writing: false)) != nil {
            throw ValidationError("\(daemon.place) holds index \(index), and this command changes it in this process: stop the daemon first (or give --data to use another folder)")
        }
        return try Index.open(name: index, in: dataDirectory, mode: mode)
    }
}

/// `--filter JSON`: the API's filter language, for search and eval.
struct FilterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only documents whose meta passes this filter (JSON).", discussion: """
        A test of one meta field, {"field": NAME, OP: VALUE}, with OP one of eq, ne, in, range \
        (gt, gte, lt, lte), prefix, glob, exists; or {"and": [...]}, {"or": [...]}, {"not": ...}. \
        Nested meta fields are named a.b; folder indexes have path, ext and mtime. Examples:
          '{"field": "ext", "in": ["md", "txt"]}'
          '{"and": [{"field": "path", "glob": "**/docs/**"}, {"field": "mtime", "range": {"gte": 1735689600}}]}'
        """))
    var filter: String?

    /// The filter, checked as the API checks it; nil when none was given.
    func parsed() throws -> Filter? { try filter.map { try Filter(text: $0, path: "--filter") } }

    /// A bad filter is a usage error, before any work.
    func validate() throws {
        do {
            _ = try parsed()
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

/// A size option like 512M, 64G, 1T or a plain byte count (`ByteCount`).
struct ByteSize: ExpressibleByArgument {
    let bytes: Int
    init?(argument: String) {
        guard let bytes = ByteCount.parse(argument) else { return nil }
        self.bytes = bytes
    }

    /// How --help shows a default: 16M, not a byte count.
    var defaultValueDescription: String {
        let units = [(1 << 40, "T"), (1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")]
        return units.first { bytes >= $0.0 && bytes % $0.0 == 0 }.map { "\(bytes / $0.0)\($0.1)" } ?? "\(bytes)"
    }
}

/// Refuses a numeric option outside `range` (NaN included), naming the option: ArgumentParser
/// takes any Int or Double, and values past the range overflow or wait forever further on.
/// Each command checks its numeric options this way in `validate()`.
func check<Value: Comparable>(_ option: String, _ value: Value?, in range: ClosedRange<Value>, _ unit: String = "") throws {
    guard let value, !range.contains(value) else { return }
    let suffix = unit.isEmpty ? "" : " " + unit
    throw ValidationError("\(option) must be from \(range.lowerBound) to \(range.upperBound)\(suffix), got \(value)")
}

/// The queries of a `--queries` file (`mrl tune`, `mrl graph`), a relevant document not
/// needed: their vectors given, or their texts, which `Index.queryVectors` embeds as the index
/// embeds them. A file of none is a usage error.
func queriesFile(_ path: String) throws -> [KnownItemQuery] {
    let known = try KnownItemQuery.read(path: path, requiringRelevant: false)
    guard !known.isEmpty else { throw ValidationError("\(path) holds no queries") }
    return known
}
