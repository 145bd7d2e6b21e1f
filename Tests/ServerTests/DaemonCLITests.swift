import Engine
import Foundation
import Server
import TestSupport
import XCTest

/// `mrl index`, `mrl search` and `mrl info` through a running daemon give what they give
/// on their own; texts are embedded by the real model on both paths.
final class DaemonCLITests: XCTestCase {
    /// A head saved from one index is installed through the daemon (PUT /indexes/{name}/head)
    /// by `mrl index --head-from` and read back (GET) by `mrl head --save`, unchanged.
    func testHeadsAreInstalledAndSavedThroughTheDaemon() throws {
        let folder = scratchFolder(self)
        writeCorpus(folder + "/docs.jsonl", count: 2_100, dims: 48)
        XCTAssertEqual(try mrl(["index", "--data", folder + "/fit", "--index", "a", folder + "/docs.jsonl"]).status, 0)
        XCTAssertEqual(try mrl(["head", "--data", folder + "/fit", "--index", "a", "--save", folder + "/head.json"]).status, 0)
        let daemon = try DaemonProcess(data: folder + "/data", test: self)

        let indexed = try mrl(["index", "--socket", daemon.socket, "--index", "b", "--head-from", folder + "/head.json", folder + "/docs.jsonl"])
        XCTAssertEqual(indexed.status, 0, indexed.stderr)
        XCTAssertTrue(indexed.stderr.contains("b: installed the pca head"), indexed.stderr)
        let saved = try mrl(["head", "--socket", daemon.socket, "--index", "b", "--save", "-"])
        XCTAssertEqual(saved.stdout, try String(contentsOfFile: folder + "/head.json", encoding: .utf8))
        let wrong = try mrl(["head", "--socket", daemon.socket, "--index", "b", "--from", folder + "/docs.jsonl"])
        XCTAssertTrue(wrong.stderr.contains("not JSON"), wrong.stderr)
        XCTAssertEqual(daemon.stop(), 0, daemon.stderr)
        let info = try mrl(["info", "--data", folder + "/data", "--index", "b"])
        XCTAssertTrue(info.stdout.contains("pca v1, fitted on 2,100 documents (chosen by hand)"), info.stdout)
    }

    func testCommandsGiveTheSameAnswersThroughTheDaemon() throws {
        let folder = scratchFolder(self)
        let corpus = folder + "/docs.jsonl"
        let texts = ["a tiling window manager for X11", "PDF document viewer", "a fast C compiler", "an e-mail client for the terminal",
                     "tools to burn CD and DVD images", "a spreadsheet program", "secure shell server", "a library for parsing JSON"]
        let lines = texts.enumerated().map { #"{"id": "t\#($0.offset)", "text": "\#($0.element)", "title": "title \#($0.offset)"}"# }
        try (lines.joined(separator: "\n") + "\n").write(toFile: corpus, atomically: true, encoding: .utf8)
        let data = folder + "/data"
        let daemon = try DaemonProcess(data: data, test: self)

        let indexed = try mrl(["index", "--socket", daemon.socket, "--index", "t", corpus])
        XCTAssertEqual(indexed.status, 0, indexed.stderr)
        XCTAssertTrue(indexed.stdout.contains("8 added"), indexed.stdout)
        let again = try mrl(["index", "--socket", daemon.socket, "--index", "t", corpus])
        XCTAssertTrue(again.stdout.contains("0 added, 0 changed, 8 unchanged"), again.stdout)

        let queries = ["view a pdf", "compile C code", "ssh"]
        let viaDaemon = try queries.map { try search($0, ["--socket", daemon.socket]) }
        let infoViaDaemon = try mrl(["info", "--socket", daemon.socket, "--index", "t"])
        XCTAssertEqual(infoViaDaemon.status, 0, infoViaDaemon.stderr)
        // A direct open while the daemon holds the index for writing still reads.
        XCTAssertEqual(daemon.stop(), 0, daemon.stderr)

        let direct = try queries.map { try search($0, ["--data", data]) }
        XCTAssertEqual(viaDaemon, direct)
        XCTAssertEqual(viaDaemon.map { $0["hits"]?.array?.first?["id"] }, ["t1", "t2", "t6"])
        let infoDirect = try mrl(["info", "--data", data, "--index", "t"])
        let firstLines = { (text: String) in text.split(separator: "\n").filter { !$0.contains("on disk") } }
        XCTAssertEqual(firstLines(infoViaDaemon.stdout), firstLines(infoDirect.stdout))
    }

    /// `mrl search --json`'s answer, without the timings that differ run to run.
    private func search(_ query: String, _ arguments: [String]) throws -> JSON {
        let run = try mrl(["search", "--index", "t", "--json", "-k", "3", query] + arguments)
        XCTAssertEqual(run.status, 0, run.stderr)
        guard case .object(var answer) = try JSON.parse(run.stdout) else { throw UnixHTTPClient.Failure(description: run.stdout) }
        answer["took_ms"] = nil
        return .object(answer)
    }
}
