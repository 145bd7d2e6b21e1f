/// Where and why JSON text could not be read.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Byte offset, and 1-based line and column, of the problem.
    public var offset: Int
    public var line: Int
    public var column: Int
    public var message: String

    public var description: String { "line \(line), column \(column): \(message)" }
}

extension JSON {
    /// Parses one JSON value (RFC 8259) from UTF-8 bytes, surrounding whitespace allowed.
    /// Rejects invalid UTF-8, nesting deeper than `maxDepth`, duplicate object keys, and
    /// numbers beyond Double's range, with the position of the problem.
    public static func parse(_ bytes: some Collection<UInt8>, maxDepth: Int = 64) throws(JSONSyntaxError) -> JSON {
        let contiguous = Array(bytes)
        return try contiguous.withUnsafeBufferPointer { (buffer) throws(JSONSyntaxError) -> JSON in
            var parser = JSONParser(input: buffer, maxDepth: maxDepth)
            return try parser.parseDocument()
        }
    }

    public static func parse(_ text: String, maxDepth: Int = 64) throws(JSONSyntaxError) -> JSON {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }
}

/// A recursive-descent parser over a byte buffer; one per document.
struct JSONParser {
    let input: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var position = 0
    var depth = 0

    init(input: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.input = input
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONSyntaxError) -> JSON {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard position == input.count else { throw error("unexpected \(describe(position)) after the value") }
        return value
    }

    private mutating func parseValue() throws(JSONSyntaxError) -> JSON {
        guard position < input.count else { throw error("unexpected end of input: expected a value") }
        switch input[position] {
        case UInt8(ascii: "{"): return try nested { (p: inout JSONParser) throws(JSONSyntaxError) in try p.parseObject() }
        case UInt8(ascii: "["): return try nested { (p: inout JSONParser) throws(JSONSyntaxError) in try p.parseArray() }
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected \(describe(position)): expected a value")
        }
    }

    private mutating func nested(_ body: (inout JSONParser) throws(JSONSyntaxError) -> JSON) throws(JSONSyntaxError) -> JSON {
        depth += 1
        guard depth <= maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
        defer { depth -= 1 }
        return try body(&self)
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSON {
        position += 1  // {
        var members: [String: JSON] = [:]
        skipWhitespace()
        if peek == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else { throw error("unexpected \(describe(position)): expected a key in quotes") }
            let keyStart = position
            let key = try parseString()
            skipWhitespace()
            try expect(":")
            skipWhitespace()
            let value = try parseValue()
            guard members.updateValue(value, forKey: key) == nil else {
                position = keyStart
                throw error("duplicate key \"\(key)\"")
            }
            skipWhitespace()
            if peek == UInt8(ascii: ",") {
                position += 1
                continue
            }
            try expect("}")
            return .object(members)
        }
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> JSON {
        position += 1  // [
        var items: [JSON] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") {
            position += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            if peek == UInt8(ascii: ",") {
                position += 1
                continue
            }
            try expect("]")
            return .array(items)
        }
    }

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        position += 1  // opening quote
        let start = position
        // Fast path: no escapes. Validate the bytes as UTF-8 once.
        while position < input.count {
            let byte = input[position]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: input[start..<position])
                position += 1
                return try decode(slice, at: start)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("control character (byte \(byte)) inside a string: escape it") }
            position += 1
        }
        var bytes = Array(input[start..<position])
        while position < input.count {
            let byte = input[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return try bytes.withUnsafeBufferPointer { (b) throws(JSONSyntaxError) -> String in try decode(b, at: start) }
            case UInt8(ascii: "\\"):
                position += 1
                guard position < input.count else { break }
                let escaped = input[position]
                position += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(escaped)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "u"): bytes.append(contentsOf: String(try parseUnicodeEscape()).utf8)
                default:
                    position -= 2
                    throw error("invalid escape \\\(Character(Unicode.Scalar(escaped)))")
                }
            default:
                if byte < 0x20 { throw error("control character (byte \(byte)) inside a string: escape it") }
                bytes.append(byte)
                position += 1
            }
        }
        throw error("unterminated string (it starts at byte \(start - 1))")
    }

    /// After `\u`: four hex digits, and a second escape for a surrogate pair.
    private mutating func parseUnicodeEscape() throws(JSONSyntaxError) -> Unicode.Scalar {
        let high = try hex4()
        if (0xD800..<0xDC00).contains(high) {
            guard position + 1 < input.count, input[position] == UInt8(ascii: "\\"), input[position + 1] == UInt8(ascii: "u") else {
                throw error("lone high surrogate \\u\(String(high, radix: 16)): a low surrogate must follow")
            }
            position += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw error("invalid low surrogate \\u\(String(low, radix: 16))") }
            return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
        }
        guard let scalar = Unicode.Scalar(high) else { throw error("lone low surrogate \\u\(String(high, radix: 16))") }
        return scalar
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard position + 4 <= input.count else { throw error("\\u needs four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = input[position]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw error("\\u needs four hex digits")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    private func decode(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) throws(JSONSyntaxError) -> String {
        if let string = String(validating: bytes, as: UTF8.self) { return string }
        var offset = start
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: break loop
            case .error: break loop
            }
        }
        var at = self
        at.position = offset
        throw at.error("invalid UTF-8 in a string: send text as UTF-8")
    }

    /// RFC 8259 number grammar. A whole number without fraction or exponent that fits Int64
    /// is an `.integer`, exactly; any other a Double, by the exact fast path (up to 15
    /// significant digits, power of ten up to 22) or else the standard library's parser.
    private mutating func parseNumber() throws(JSONSyntaxError) -> JSON {
        let start = position
        var negative = false
        if peek == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        var mantissa: UInt64 = 0, digits = 0, exponent = 0
        func isDigit(_ c: UInt8?) -> Bool { c.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
        guard isDigit(peek) else { throw error("invalid number: expected a digit") }
        if peek == UInt8(ascii: "0") {
            position += 1
            if isDigit(peek) { throw error("invalid number: leading zero") }
        } else {
            while let c = peek, isDigit(c) {
                if digits < 19 { mantissa = mantissa * 10 + UInt64(c - 0x30) } else { exponent += 1 }
                if mantissa != 0 { digits += 1 }
                position += 1
            }
        }
        var whole = true
        if peek == UInt8(ascii: ".") {
            whole = false
            position += 1
            guard isDigit(peek) else { throw error("invalid number: expected a digit after the point") }
            while let c = peek, isDigit(c) {
                if digits < 19 {
                    mantissa = mantissa * 10 + UInt64(c - 0x30)
                    exponent -= 1
                    if mantissa != 0 { digits += 1 }
                }
                position += 1
            }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            whole = false
            position += 1
            var expNegative = false
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") {
                expNegative = peek == UInt8(ascii: "-")
                position += 1
            }
            guard isDigit(peek) else { throw error("invalid number: expected a digit in the exponent") }
            var e = 0
            while let c = peek, isDigit(c) {
                if e < 100_000 { e = e * 10 + Int(c - 0x30) }
                position += 1
            }
            exponent += expNegative ? -e : e
        }
        // Up to 19 digits the mantissa holds them all (exponent 0): exact when in range.
        if whole, exponent == 0 {
            if !negative, mantissa <= UInt64(Int64.max) { return .integer(Int64(mantissa)) }
            if negative, mantissa <= UInt64(Int64.max) + 1 { return .integer(Int64(truncatingIfNeeded: 0 &- mantissa)) }
        }
        if digits <= 15, (-22...22).contains(exponent) {
            let value = exponent >= 0 ? Double(mantissa) * JSONParser.powersOfTen[exponent]
                                      : Double(mantissa) / JSONParser.powersOfTen[-exponent]
            return .number(negative ? -value : value)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: input[start..<position]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            position = start
            throw error("number \(text.prefix(40)) is out of range")
        }
        return .number(value)
    }

    /// Exactly representable, so a mantissa of up to 15 digits times or over one rounds once.
    private static let powersOfTen: [Double] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                                1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]

    private mutating func literal(_ word: StaticString, _ value: JSON) throws(JSONSyntaxError) -> JSON {
        let count = word.utf8CodeUnitCount
        guard position + count <= input.count,
              UnsafeBufferPointer(start: word.utf8Start, count: count).elementsEqual(input[position..<position + count]) else {
            throw error("unexpected \(describe(position)): expected a value")
        }
        position += count
        return value
    }

    private var peek: UInt8? { position < input.count ? input[position] : nil }

    private mutating func skipWhitespace() {
        while let c = peek, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { position += 1 }
    }

    private mutating func expect(_ char: Character) throws(JSONSyntaxError) {
        guard peek == char.asciiValue else { throw error("unexpected \(describe(position)): expected '\(char)'") }
        position += 1
    }

    private func describe(_ offset: Int) -> String {
        guard offset < input.count else { return "end of input" }
        let byte = input[offset]
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16))"
    }

    private func error(_ message: String) -> JSONSyntaxError {
        var line = 1, lineStart = 0
        for i in 0..<min(position, input.count) where input[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        return JSONSyntaxError(offset: position, line: line, column: position - lineStart + 1, message: message)
    }
}
