import Engine
import Foundation
import Server
import XCTest

/// A real `mrl serve` in a child process, on a socket in a scratch folder; stopped (SIGTERM)
/// when the test ends if still running.
public final class DaemonProcess {
    public let data: String
    public let socket: String
    public let process: Process
    private let errors: Pipe
    private var stderrText: String?

    /// Starts `mrl serve --data data --socket data/mrl.sock` plus `arguments` and waits until
    /// the socket answers HTTP (or fails the test after 60 s, with what the daemon said).
    public init(data: String, arguments: [String] = [], environment: [String: String] = [:], test: XCTestCase,
                file: StaticString = #filePath, line: UInt = #line) throws {
        self.data = data
        socket = (data as NSString).appendingPathComponent("mrl.sock")
        let (process, _, errors) = try launch(["serve", "--data", data, "--socket", socket] + arguments, environment: environment)
        self.process = process
        self.errors = errors
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let client = try? UnixHTTPClient(socketPath: socket), (try? client.request("GET", "/health")) != nil { break }
            guard process.isRunning else { break }
            usleep(20_000)
        }
        guard process.isRunning else {
            XCTFail("mrl serve exited: \(stderr)", file: file, line: line)
            throw UnixHTTPClient.Failure(description: "daemon did not start")
        }
        test.addTeardownBlock { [self] in if process.isRunning { _ = stop() } }
    }

    public func client() throws -> UnixHTTPClient { try UnixHTTPClient(socketPath: socket) }

    /// SIGTERM, then waits; returns the exit status.
    @discardableResult
    public func stop() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGKILL, then waits.
    public func kill9() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// What the daemon wrote to standard error (read once it has exited).
    public var stderr: String {
        if let stderrText { return stderrText }
        guard !process.isRunning else { return "(still running)" }
        stderrText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return stderrText!
    }
}

extension UnixHTTPClient {
    /// A request whose body is `json`'s text.
    public func send(_ method: String, _ path: String, _ json: JSON? = nil) throws -> Reply {
        try request(method, path, body: json?.bytes)
    }
}
