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
func printJSON(_ value: JSON) {
    print(value.serialized)
}

@available(*, deprecated, message: "build a JSON value and call printJSON(_: JSON)")
func printJSON(_ object: Any) {
    print(JSON(any: object).serialized)
}

/// Writes a line to standard error.
func note(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Parses sizes like 512M, 64G, 1T or a plain byte count, up to `ByteSize.largest`.
struct ByteSize: ExpressibleByArgument {
    /// 1 PiB: past any disk, and far from where a byte count overflows.
    static let largest = 1 << 50

    let bytes: Int
    init?(argument: String) {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50]
        var text = argument.uppercased()
        if text.hasSuffix("B") || text.hasSuffix("I") { text.removeLast() }
        if text.hasSuffix("I") { text.removeLast() }
        var scale = 1
        if let unit = text.last, let factor = units[unit] {
            scale = factor
            text.removeLast()
        }
        guard let value = Double(text), value > 0, value * Double(scale) <= Double(ByteSize.largest) else { return nil }
        bytes = Int(value * Double(scale))
    }

    /// The size in environment variable `name`, nil when it is unset or empty.
    static func environment(_ name: String) throws -> ByteSize? {
        guard let text = ProcessInfo.processInfo.environment[name], !text.isEmpty else { return nil }
        guard let size = ByteSize(argument: text) else {
            throw ValidationError("\(name) must be a size like 512M or 64G (at most 1P), got \"\(text)\"")
        }
        return size
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
