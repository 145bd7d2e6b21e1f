import Foundation
import Server
import TestSupport
import XCTest

/// The socket file's life cycle: its group and mode are set where no one else can reach it,
/// only a socket nobody listens on (ECONNREFUSED) counts as stale and is replaced, and one
/// the daemon cannot probe is left alone.
final class SocketFileTests: XCTestCase {
    /// No chmod or chown names the socket's own path (another member of a group-writable
    /// folder could swap the file for a link there): they act on the file in a private folder,
    /// and the finished file is linked into place.
    func testGroupAndModeAreSetInAPrivateFolder() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") else {
            throw XCTSkip("needs root (for a group of our choosing) and strace")
        }
        let data = scratchFolder(self)
        let socket = data + "/mrl.sock"
        let trace = data + "/trace.txt"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/strace")
        process.arguments = ["-f", "-qq", "-o", trace, "-e", "trace=chmod,fchmodat,chown,fchownat,lchown,link,linkat",
                             mrlExecutable.path, "serve", "--data", data, "--socket", socket, "--socket-group", "nogroup"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        addTeardownBlock { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        var health: UnixHTTPClient.Reply?
        for _ in 0..<500 where health == nil && process.isRunning {
            health = try? UnixHTTPClient(socketPath: socket).send("GET", "/health")
            if health == nil { usleep(20_000) }
        }
        var info = stat()
        XCTAssertEqual(lstat(socket, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFSOCK)
        XCTAssertEqual(info.st_mode & 0o777, 0o660)
        XCTAssertEqual(info.st_gid, 65534, "the socket belongs to group nogroup")
        // The daemon is strace's child: stopping strace would leave it running.
        let daemon = try XCTUnwrap(health?.json?["pid"]?.int, "the daemon did not start")
        kill(pid_t(daemon), SIGTERM)
        process.waitUntilExit()

        let calls = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
        let permissions = calls.filter { $0.contains("chmod") || $0.contains("chown") }
        XCTAssertFalse(permissions.isEmpty, "strace saw the daemon's calls")
        for call in permissions where call.contains("\"\(socket)\"") || !call.contains("/.mrl") {
            XCTFail("a permission change outside the private folder: \(call)")
        }
        XCTAssertTrue(calls.contains { $0.contains("link") && $0.contains("\"\(socket)\"") }, calls.joined(separator: "\n"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: data).filter { $0.hasPrefix(".mrl") }, [],
                       "the private folder is removed")
    }

    /// A socket that another user's daemon listens on refuses us with EACCES: the daemon says
    /// so and leaves the file alone (it used to take any failure to connect for a stale socket).
    func testASocketThatRefusesUsByPermissionIsLeftAlone() throws {
        let folder = scratchFolder(self)
        let owner = try DaemonProcess(data: folder, test: self)
        // nobody may write the folder (so could remove the socket) but not connect to it.
        XCTAssertEqual(chown(folder, 65534, 65534), 0)
        let elsewhere = scratchFolder(self)
        XCTAssertEqual(chown(elsewhere, 65534, 65534), 0)
        guard let said = try asNobody([mrlExecutable.path, "serve", "--data", elsewhere, "--socket", owner.socket]) else {
            throw XCTSkip("needs root, to run a second daemon as another user")
        }
        XCTAssertTrue(said.contains("cannot tell whether a daemon listens on \(owner.socket)") && said.contains("Permission denied"), said)
        XCTAssertTrue(FileManager.default.fileExists(atPath: owner.socket))
        XCTAssertEqual(try owner.client().send("GET", "/health").status, 200)
    }

    /// A socket bound but not listening (ECONNREFUSED) is stale: it is replaced.
    func testABoundSocketNobodyListensOnIsReplaced() throws {
        let data = scratchFolder(self)
        let path = data + "/mrl.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        XCTAssertEqual(UnixSocket.probe(path), ECONNREFUSED)
        let daemon = try DaemonProcess(data: data, test: self)
        XCTAssertEqual(try daemon.client().send("GET", "/health").status, 200)
    }
}
