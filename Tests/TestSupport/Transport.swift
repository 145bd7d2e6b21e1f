import Foundation
import XCTest

/// Where a CLI test's commands find their indexes: the data folder itself (`--data DIR`), or a
/// daemon serving that folder (`--socket`), so that one test body checks both transports.
public final class Transport {
    public enum Kind: Sendable { case local, daemon }

    public let kind: Kind
    private let test: XCTestCase
    private let serveArguments: [String]
    private var daemons: [String: DaemonProcess] = [:]

    /// `serveArguments` are given to each daemon started (e.g. `--max-size 1M`).
    public init(_ kind: Kind, test: XCTestCase, serveArguments: [String] = []) {
        self.kind = kind
        self.test = test
        self.serveArguments = serveArguments
    }

    /// The options that point a command at the indexes in `folder`: a daemon serving it is
    /// started on first use and stopped when the test ends.
    public func at(_ folder: String) throws -> [String] {
        switch kind {
        case .local:
            return ["--data", folder]
        case .daemon:
            if let daemon = daemons[folder] { return ["--socket", daemon.socket] }
            let daemon = try DaemonProcess(data: folder, arguments: serveArguments, test: test)
            daemons[folder] = daemon
            return ["--socket", daemon.socket]
        }
    }
}
