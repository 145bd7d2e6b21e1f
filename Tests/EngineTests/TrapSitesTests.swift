import Foundation
import XCTest

/// Every place in Sources/ that can stop the process (see `TrapSiteScanner`) is listed in
/// Tests/trap-sites.tsv with a reason why no request, JSONL line, file, environment variable or
/// option reaches it. A new site fails this test until it is listed (or made a validation error);
/// a listed site that is gone fails it too, so the list stays true.
final class TrapSitesTests: XCTestCase {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    private static let listPath = "Tests/trap-sites.tsv"
    static let missingReason = "REASON?"

    func testEverySiteIsListedWithAReason() throws {
        let found = try sourceSites()
        let (listed, reasons) = try allowList()
        let missing = found.subtracting(listed), stale = listed.subtracting(found)

        let unexplained = reasons.filter { $0.value.isEmpty || $0.value == Self.missingReason }.keys.sorted()
        XCTAssert(unexplained.isEmpty, "\(Self.listPath): give these a reason:\n"
                  + unexplained.map { "\($0.path)\t\($0.kind)\t\($0.text)" }.joined(separator: "\n"))
        XCTAssert(missing.isEmpty, """
            \(missing.count) trap sites in Sources/ are not in \(Self.listPath). Make each a validation \
            error if input reaches it; otherwise add these lines (path, kind, text, reason) with a reason:
            \(lines(missing).map { $0 + "\t" + Self.missingReason }.joined(separator: "\n"))
            """)
        XCTAssert(stale.isEmpty, """
            \(stale.count) lines of \(Self.listPath) name sites that are no longer in Sources/; remove \
            one copy of each:
            \(lines(stale).joined(separator: "\n"))
            """)
    }

    /// The scanner's rules on the cases they exist for.
    func testScannerSeesCodeOnly() {
        let source = ##"""
            let a = x! + y[0]! + f()!
            if a != b, !c { }
            // precondition(false) in a comment
            /* fatalError() /* nested */ try! */ let s = "x! as! \(z!) fatalError()"
            let r = #"raw \#(w!) "quoted" "#; let t = """
              multi ! line \(try! g())
              """
            let n = Int(seconds * 1e9), m = UInt64(ms.rounded()), e = Int(exactly: d * 1e9), c = Int(count)
            let w = Int32(quiet * 1000)
            """##
        let found = TrapSiteScanner.sites(in: source, path: "p").map { "\($0.kind): \($0.text.prefix(12))" }
        XCTAssertEqual(found, [
            "force-unwrap: let a = x! +",
            "force-unwrap: /* fatalErro",
            "force-unwrap: let r = #\"ra",
            "try!: multi ! line",
            "int-conversion: let n = Int(",
            "int-conversion: let w = Int3",
        ])
    }

    private func sourceSites() throws -> Multiset {
        let sources = Self.root.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        XCTAssertGreaterThan(files.count, 50, "Sources/ should be at \(sources.path)")
        var sites = Multiset()
        for file in files {
            let path = String(file.standardizedFileURL.path.dropFirst(Self.root.standardizedFileURL.path.count + 1))
            for site in TrapSiteScanner.sites(in: try String(contentsOf: file, encoding: .utf8), path: path) {
                sites.add(site)
            }
        }
        return sites
    }

    private func allowList() throws -> (Multiset, [TrapSite: String]) {
        let text = try String(contentsOf: Self.root.appendingPathComponent(Self.listPath), encoding: .utf8)
        var sites = Multiset(), reasons: [TrapSite: String] = [:]
        for (number, line) in text.split(separator: "\n").enumerated() where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 4 else {
                XCTFail("\(Self.listPath):\(number + 1): expected path, kind, text and reason separated by tabs")
                continue
            }
            let site = TrapSite(path: fields[0], kind: fields[1], text: fields[2])
            sites.add(site)
            reasons[site] = fields[3].trimmingCharacters(in: .whitespaces)
        }
        return (sites, reasons)
    }

    private func lines(_ sites: Multiset) -> [String] {
        sites.counts.keys.sorted().flatMap { site in
            Array(repeating: "\(site.path)\t\(site.kind)\t\(site.text)", count: sites.counts[site]!)
        }
    }
}

/// Sites with their number of occurrences: one line may appear several times in a file.
private struct Multiset {
    var counts: [TrapSite: Int] = [:]
    var isEmpty: Bool { counts.isEmpty }
    var count: Int { counts.values.reduce(0, +) }

    mutating func add(_ site: TrapSite) { counts[site, default: 0] += 1 }

    func subtracting(_ other: Multiset) -> Multiset {
        var result = Multiset()
        for (site, n) in counts where n > other.counts[site, default: 0] {
            result.counts[site] = n - other.counts[site, default: 0]
        }
        return result
    }
}
