/// Cuts HTTP/1.1 replies out of the bytes a connection receives, as they come: the blocking
/// client and the load generator's event loop both feed it. Reads a reply's head as bytes,
/// without building strings (the load generator reads one per search).
public struct ReplyReader {
    private var buffer: [UInt8] = []
    /// Where to look for the end of the head next (what was searched holds no separator).
    private var searched = 0
    private var head: (status: Int, length: Int, closes: Bool, bodyStart: Int)?

    public init() {}

    public mutating func append(_ bytes: UnsafeRawBufferPointer) { buffer.append(contentsOf: bytes) }

    /// Part of a reply has come, not all of it.
    public var isMidway: Bool { !buffer.isEmpty }

    /// The next whole reply, or nil until more bytes come; throws on what is not HTTP.
    public mutating func next() throws -> UnixHTTPClient.Reply? {
        if head == nil {
            guard let end = headEnd() else { return nil }
            let parsed = try Self.parseHead(buffer[0..<end])
            head = (parsed.status, parsed.length, parsed.closes, end + 4)
        }
        let (status, length, closes, start) = head!
        guard buffer.count - start >= length else { return nil }
        let reply = UnixHTTPClient.Reply(status: status, body: Array(buffer[start..<(start + length)]), closes: closes)
        buffer.removeFirst(start + length)
        head = nil
        searched = 0
        return reply
    }

    /// Where the blank line that ends the head starts, if it has come.
    private mutating func headEnd() -> Int? {
        guard buffer.count - 4 >= searched else { return nil }
        let found = buffer.withUnsafeBufferPointer { bytes in
            (searched...(bytes.count - 4)).first { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10 }
        }
        searched = found ?? buffer.count - 3  // a separator may straddle what is here and what comes
        return found
    }

    private static func parseHead(_ bytes: ArraySlice<UInt8>) throws -> (status: Int, length: Int, closes: Bool) {
        var lines = bytes.split(separator: 13).map { $0.first == 10 ? $0.dropFirst() : $0 }.makeIterator()
        let statusLine = lines.next() ?? []
        let parts = statusLine.split(separator: 32, maxSplits: 2)
        guard parts.count >= 2, parts[0].starts(with: "HTTP/".utf8), let status = integer(parts[1]) else {
            throw UnixHTTPClient.Failure(description: "not an HTTP reply: \(String(decoding: statusLine.prefix(80), as: UTF8.self))")
        }
        var length = 0, closes = false
        while let line = lines.next() {
            guard let colon = line.firstIndex(of: 58) else { continue }
            let name = line[..<colon], value = line[(colon + 1)...].drop { $0 == 32 || $0 == 9 }
            if named(name, "content-length") {
                length = integer(value) ?? 0
            } else if named(name, "connection") {
                closes = named(value.prefix(5), "close")
            }
        }
        return (status, length, closes)
    }

    /// Whether `bytes` spell `lowercase`, in any case.
    private static func named(_ bytes: ArraySlice<UInt8>, _ lowercase: StaticString) -> Bool {
        bytes.count == lowercase.utf8CodeUnitCount
            && zip(bytes, UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)).allSatisfy { $0 | 0x20 == $1 }
    }

    /// The decimal number `bytes` hold (trailing blanks allowed), or nil.
    private static func integer(_ bytes: ArraySlice<UInt8>) -> Int? {
        let digits = bytes.prefix { $0 >= 0x30 && $0 <= 0x39 }
        guard !digits.isEmpty, digits.count <= 18, bytes.dropFirst(digits.count).allSatisfy({ $0 == 32 || $0 == 9 }) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }
}
