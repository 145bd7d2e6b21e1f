import Foundation
import Server
import TestSupport
import XCTest

/// Without $MRL_MODEL_DIR, $MRL_SOCKET or $XDG_RUNTIME_DIR, the CLI finds its model above its
/// executable and a daemon only on a socket of the user's own: never whatever the working
/// directory happens to hold.
final class DefaultPathsTests: XCTestCase {
    private let unset = ["MRL_MODEL_DIR": "", "MRL_SOCKET": "", "XDG_RUNTIME_DIR": "", "MRL_DATA": "indexes"]

    func testAModelsFolderInTheWorkingDirectoryIsNotUsed() throws {
        let folder = scratchFolder(self)
        let decoy = folder + "/models/all-MiniLM-L6-v2"
        try FileManager.default.createDirectory(atPath: decoy, withIntermediateDirectories: true)
        try "{ not a model".write(toFile: decoy + "/config.json", atomically: true, encoding: .utf8)
        try (#"{"id": "a", "text": "a note about gardening"}"# + "\n").write(toFile: folder + "/docs.jsonl", atomically: true, encoding: .utf8)
        let run = try mrl(["index", "--data", folder + "/data", "--index", "t", "docs.jsonl"], environment: unset, directory: folder)
        XCTAssertEqual(run.status, 0, "the model in the working directory was used: \(run.stderr)")
    }

    func testASocketOfAnotherUserInTheWorkingDirectoryIsNotUsed() throws {
        guard geteuid() == 0 else { throw XCTSkip("giving a socket to another user needs root") }
        let folder = scratchFolder(self)
        let stranger = try DaemonProcess(data: folder + "/stranger", test: self)
        XCTAssertEqual(try stranger.client().send("PUT", "/indexes/theirs", ["dimensions": 4]).status, 201)
        // Another user's daemon, listening where the default data folder puts the socket.
        try FileManager.default.createDirectory(atPath: folder + "/indexes", withIntermediateDirectories: true)
        let planted = folder + "/indexes/mrl.sock"
        XCTAssertEqual(link(stranger.socket, planted), 0)
        XCTAssertEqual(chown(planted, 65534, 65534), 0)

        let info = try mrl(["info", "--index", "theirs"], environment: unset, directory: folder)
        XCTAssertNotEqual(info.status, 0, "the CLI talked to another user's daemon: \(info.stdout)")
        XCTAssertTrue(info.stderr.contains("not using the socket indexes/mrl.sock: it belongs to uid 65534"), info.stderr)
        let chosen = try mrl(["info", "--index", "theirs", "--socket", planted], environment: unset, directory: folder)
        XCTAssertEqual(chosen.status, 0, chosen.stderr)
    }
}
