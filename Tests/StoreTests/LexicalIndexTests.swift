import CLMDB
import Foundation
import Store
import XCTest

final class LexicalIndexTests: XCTestCase {
    private static let words = ["zlib", "lzss", "python3-lzss", "compression", "the", "of", "game", "font", "kernel"]

    private func documents(_ count: Int) -> [DocumentWrite] {
        (0..<count).map { n in
            let text = (0..<(n % 13)).map { Self.words[(n * 7 + $0 * $0) % Self.words.count] }.joined(separator: " ")
            return write(n, dims: 8, text: text)
        }
    }

    /// Everything the lexical index answers for the test's words and ids: postings, row
    /// lengths and corpus statistics.
    private func contents(_ store: IndexStore, rows: Int) throws -> String {
        try store.read { snapshot in
            guard let lexical = try snapshot.lexical() else { return "none" }
            var out = "\(lexical.statistics)\n"
            for term in Self.words.flatMap({ LexicalTokenizer.terms($0) }) + ["doc", "7", "doc-7"] {
                out += term + ":"
                try lexical.forEachPosting(of: term) { row, count in out += " \(row)x\(count)" }
                out += "\n"
            }
            out += (0..<UInt32(rows)).map { String(lexical.length(of: $0)) }.joined(separator: " ")
            return out
        }
    }

    /// Removes the lexical index's databases, as an index made before it lacks them.
    private func dropLexicalDatabases(_ directory: String) throws {
        var env: OpaquePointer?
        XCTAssertEqual(mdb_env_create(&env), 0)
        defer { mdb_env_close(env) }
        XCTAssertEqual(mdb_env_set_maxdbs(env, 32), 0)
        XCTAssertEqual(mdb_env_open(env, directory, 0, 0o644), 0)
        var txn: OpaquePointer?
        XCTAssertEqual(mdb_txn_begin(env, nil, 0, &txn), 0)
        for name in ["lexical_postings", "lexical_rows"] {
            var dbi: MDB_dbi = 0
            XCTAssertEqual(mdb_dbi_open(txn, name, 0, &dbi), 0, name)
            XCTAssertEqual(mdb_drop(txn, dbi, 1), 0, name)
        }
        XCTAssertEqual(mdb_txn_commit(txn), 0)
    }

    func testAnOlderIndexBuildsItsLexicalIndexOnItsFirstWriteOpen() throws {
        let directory = temporaryDirectory(self)
        let docs = documents(5_000)
        let expected: String
        do {
            let store = try IndexStore.create(directory: directory, manifest: manifest(dims: 8))
            _ = try store.upsert(Array(docs.prefix(3_000)))
            _ = try store.upsert(Array(docs.suffix(2_000)))
            _ = try store.delete(ids: ["doc-7", "doc-4100"])
            expected = try contents(store, rows: 5_000)
        }
        XCTAssertTrue(expected.contains("doc: 0x1 1x1"), expected.prefix(300) + "")
        try dropLexicalDatabases(directory)
        do {
            let reader = try IndexStore.open(directory: directory, mode: .read)
            XCTAssertEqual(try contents(reader, rows: 5_000), "none", "opened for reading, it lacks the lexical index")
        }
        let writer = try IndexStore.open(directory: directory, mode: .write)
        XCTAssertEqual(try contents(writer, rows: 5_000), expected)
    }
}
