import ArgumentParser
import Engine
import Foundation
import Store

/// Options every index command takes.
struct IndexOptions: ParsableArguments {
    @Option(name: .long, help: "Name of the index (1-64 of A-Z a-z 0-9 _ -).")
    var index: String

    @Option(name: .long, help: "Folder holding the indexes (default: $MRL_DATA, or indexes/).")
    var data: String?

    @Option(name: .long, help: "Talk to the daemon on this socket (default: the daemon on the default socket when one runs and --data is not given).")
    var socket: String?

    var dataDirectory: DataDirectory { DataDirectory(path: data) }

    /// The daemon to send this command to, or nil to open the index here.
    func daemon() throws -> DaemonConnection? { try DaemonConnection.resolve(socket: socket, data: data) }

    func open(_ mode: IndexStore.Mode, options: IndexStore.Options = .init()) throws -> Index {
        try Index.open(name: index, in: dataDirectory, mode: mode, options: options)
    }
}

/// Prints a JSON value on standard output, keys sorted so output diffs cleanly.
func printJSON(_ object: Any) {
    print(JSON(any: object).serialized)
}

/// Writes a line to standard error.
func note(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Parses sizes like 512M, 64G, 1T or a plain byte count.
struct ByteSize: ExpressibleByArgument {
    let bytes: Int
    init?(argument: String) {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var text = argument.uppercased()
        if text.hasSuffix("B") || text.hasSuffix("I") { text.removeLast() }
        if text.hasSuffix("I") { text.removeLast() }
        var scale = 1
        if let unit = text.last, let factor = units[unit] {
            scale = factor
            text.removeLast()
        }
        guard let value = Double(text), value > 0 else { return nil }
        bytes = Int(value * Double(scale))
    }
}
