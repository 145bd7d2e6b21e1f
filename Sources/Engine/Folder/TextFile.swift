import Foundation
import Store

/// Reads a file as lines of text, by kind: plain text of any extension (Markdown,
/// reStructuredText, logs, READMEs...), HTML (text only), PDF through `pdftotext`, each
/// possibly gzip-compressed (`.gz`). Binary files are recognised and refused; bytes that are
/// not UTF-8 are read as Latin-1. Plain text streams line by line in bounded memory.
public enum TextFile {
    public enum Refusal: Error, CustomStringConvertible {
        case binary
        case needsPdftotext
        case unreadable(String)

        public var description: String {
            switch self {
            case .binary: "binary file"
            case .needsPdftotext: "a PDF, and pdftotext is not installed (apt-get install poppler-utils)"
            case .unreadable(let reason): reason
            }
        }
    }

    /// What reading found beside the lines.
    public struct Outcome {
        /// Some lines were not UTF-8 and were read as Latin-1.
        public var latin1 = false
        /// FNV-1a 64 of the text read, to tell a touched file from a changed one.
        public var hash: UInt64 = 0
    }

    static let binaryExtensions: Set<String> = ["png", "jpg", "jpeg", "gif", "ico", "bmp", "webp", "zip", "jar", "xz", "bz2", "zst",
                                                "7z", "tar", "so", "o", "a", "dylib", "exe", "dll", "class", "pyc", "woff", "woff2",
                                                "ttf", "otf", "mp3", "mp4", "wav", "ogg", "flac", "mkv", "avi", "sqlite", "db", "mdb",
                                                "npy", "safetensors", "bin", "deb", "rpm", "iso", "gpg"]

    enum Kind { case text, html, pdf }

    static func kind(of path: String) -> Kind? {
        var name = (path as NSString).lastPathComponent.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        let ext = (name as NSString).pathExtension
        if binaryExtensions.contains(ext) { return nil }
        switch ext {
        case "html", "htm", "xhtml": return .html
        case "pdf": return .pdf
        default: return .text
        }
    }

    /// Calls `line` with each line's text, number (from 1) and byte offset in the text read.
    public static func read(_ path: String, line: (String, Int, Int) throws -> Void) throws -> Outcome {
        guard let kind = kind(of: path) else { throw Refusal.binary }
        var outcome = Outcome()
        var hash = ContentHash()
        var offset = 0
        func emit(_ bytes: some Collection<UInt8>, _ number: Int) throws {
            let text: String
            if let utf8 = String(validating: bytes, as: UTF8.self) {
                text = utf8
            } else {
                outcome.latin1 = true
                text = String(bytes.map { Character(Unicode.Scalar($0)) })
            }
            hash.add(text)
            try line(text, number, offset)
            offset += bytes.count + 1
        }
        switch kind {
        case .text:
            let reader: LineReader
            do { reader = try LineReader(path: path, maxLineBytes: 1 << 20) } catch { throw Refusal.unreadable("\(error)") }
            var first = true
            while let next = try nextLine(reader) {
                guard case .text(let number, let bytes) = next else { continue }  // over 1 MB: not prose
                if first {
                    first = false
                    if bytes.prefix(8_192).contains(0) { throw Refusal.binary }
                }
                if bytes.contains(0) { throw Refusal.binary }
                try emit(bytes, number)
            }
        case .html, .pdf:
            let text = kind == .html ? HTMLText.extract(try wholeText(path)) : try pdfText(path)
            for (i, textLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                try emit(Array(textLine.utf8), i + 1)
            }
        }
        outcome.hash = hash.value
        return outcome
    }

    private static func nextLine(_ reader: LineReader) throws -> LineReader.Line? {
        do { return try reader.next() } catch { throw Refusal.unreadable("\(error)") }
    }

    private static func wholeText(_ path: String) throws -> String {
        let reader: LineReader
        do { reader = try LineReader(path: path, maxLineBytes: 64 << 20) } catch { throw Refusal.unreadable("\(error)") }
        var bytes: [UInt8] = []
        while let next = try nextLine(reader) {
            guard case .text(_, let line) = next else { continue }
            if line.contains(0) { throw Refusal.binary }
            bytes += line
            bytes.append(0x0A)
        }
        return String(validating: bytes, as: UTF8.self) ?? String(bytes.map { Character(Unicode.Scalar($0)) })
    }

    private static func pdfText(_ path: String) throws -> String {
        guard let tool = ["/usr/bin/pdftotext", "/usr/local/bin/pdftotext"].first(where: FileManager.default.isExecutableFile) else {
            throw Refusal.needsPdftotext
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-enc", "UTF-8", "-q", path, "-"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Refusal.unreadable("pdftotext failed (status \(process.terminationStatus))") }
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\u{0C}", with: "\n\n")
    }
}

/// The text of an HTML page: scripts, styles and comments dropped, tags removed (block
/// tags become line breaks, so paragraphs stay paragraphs), character references decoded.
enum HTMLText {
    static let blockTags: Set<String> = ["p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header", "footer",
                                         "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "dd", "dt", "hr", "title"]

    static func extract(_ html: String) -> String {
        var out = ""
        var rest = Substring(html)
        while let open = rest.firstIndex(of: "<") {
            out += decode(rest[..<open])
            rest = rest[open...]
            if rest.hasPrefix("<!--") {
                rest = rest.range(of: "-->").map { rest[$0.upperBound...] } ?? ""
                continue
            }
            guard let close = rest.firstIndex(of: ">") else { rest = ""; break }
            let tag = rest[rest.index(after: rest.startIndex)..<close]
            let name = tag.drop { $0 == "/" }.prefix { $0.isLetter || $0.isNumber }.lowercased()
            rest = rest[rest.index(after: close)...]
            if (name == "script" || name == "style"), !tag.hasPrefix("/") {
                rest = rest.range(of: "</\(name)", options: .caseInsensitive).map { rest[$0.upperBound...] } ?? ""
                if let end = rest.firstIndex(of: ">") { rest = rest[rest.index(after: end)...] }
                continue
            }
            if blockTags.contains(name) { out += "\n" }
        }
        out += decode(rest)
        // Collapse runs of spaces; keep at most one blank line between paragraphs.
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).joined(separator: " ")
        }
        var result: [String] = []
        for line in lines where !(line.isEmpty && (result.last?.isEmpty ?? true)) { result.append(line) }
        return result.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let entities: [String: String] = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ",
                                             "mdash": "—", "ndash": "–", "hellip": "…", "copy": "©", "rsquo": "’", "lsquo": "‘",
                                             "rdquo": "”", "ldquo": "“"]

    static func decode(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var out = ""
        var rest = text
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            rest = rest[amp...]
            guard let semi = rest.prefix(12).firstIndex(of: ";") else {
                out += "&"
                rest = rest.dropFirst()
                continue
            }
            let name = rest[rest.index(after: rest.startIndex)..<semi]
            var scalar: String?
            if name.hasPrefix("#x") || name.hasPrefix("#X") {
                scalar = UInt32(name.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String($0) }
            } else if name.hasPrefix("#") {
                scalar = UInt32(name.dropFirst()).flatMap(Unicode.Scalar.init).map { String($0) }
            } else {
                scalar = entities[String(name)]
            }
            if let scalar {
                out += scalar
                rest = rest[rest.index(after: semi)...]
            } else {
                out += "&"
                rest = rest.dropFirst()
            }
        }
        return out + rest
    }
}
