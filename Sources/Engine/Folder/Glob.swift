/// A gitignore glob (gitignore(5)), matched byte by byte against the names of a path as git
/// does: `*`, `?` and `[...]` stay within one name; `**` as a whole name matches any number
/// of folders (at the end, anything inside); `\` takes the next character literally. A glob
/// with a `/` (but at its end, which the caller has taken off) is matched against the whole
/// path from the root; one without, against the last name at any depth. A `**` within a name
/// is a `*`, as gitignore(5) says (git itself reads `a**/b` as `a/**/b`: a quirk not copied).
struct Glob: Sendable {
    enum Token: Sendable, Equatable {
        case byte(UInt8)
        case anyByte
        case anyBytes
        case set(ByteSet)
    }

    enum Segment: Sendable {
        case name([Token])
        /// `**`: any number of names, or none.
        case anyFolders
    }

    /// `[...]`: the bytes listed, or with `!`/`^` first, the bytes not listed.
    struct ByteSet: Sendable, Equatable {
        var members: Set<UInt8> = []
        var negated = false

        func contains(_ byte: UInt8) -> Bool { members.contains(byte) != negated }
    }

    let anchored: Bool
    /// nil when the glob is malformed (an unclosed `[`, a trailing `\`): like git, it then
    /// matches nothing.
    let segments: [Segment]?

    init(_ text: ArraySlice<UInt8>) {
        let anchored = text.contains(slash)
        self.anchored = anchored
        let body = anchored && text.first == slash ? text.dropFirst() : text
        guard let tokens = Glob.tokens(body) else {
            segments = nil
            return
        }
        let names = tokens.split(separator: nil, omittingEmptySubsequences: false).map { $0.compactMap { $0 } }
        var segments = names.map { name -> Segment in
            anchored && name.count >= 2 && name.allSatisfy({ $0 == .anyBytes }) ? .anyFolders : .name(name)
        }
        // `a/**` is everything inside a, not a itself: one name more, then any number.
        if case .anyFolders = segments.last { segments.insert(.name([.anyBytes]), at: segments.count - 1) }
        self.segments = segments
    }

    init(_ text: String) { self.init(Array(text.utf8)[...]) }

    /// Whether the path `names` (from the root) matches.
    func matches(_ names: ArraySlice<[UInt8]>) -> Bool {
        guard let segments, let last = names.last else { return false }
        if !anchored, case .name(let tokens) = segments.first { return Glob.matches(tokens[...], last[...]) }
        return Glob.matches(segments, names)
    }

    /// The path against the segments, name by name, keeping every segment the next name may
    /// meet (so that several `**` cost no more than one).
    private static func matches(_ segments: [Segment], _ names: ArraySlice<[UInt8]>) -> Bool {
        /// Adds the segments that follow a `**` matching no name.
        func passingFolders(_ states: Set<Int>) -> Set<Int> {
            var all = states
            for start in states {
                var next = start
                while next < segments.count, case .anyFolders = segments[next] {
                    next += 1
                    all.insert(next)
                }
            }
            return all
        }
        var states = passingFolders([0])
        for name in names {
            states = passingFolders(Set(states.compactMap { state -> Int? in
                guard state < segments.count else { return nil }
                switch segments[state] {
                case .anyFolders: return state
                case .name(let tokens): return matches(tokens[...], name[...]) ? state + 1 : nil
                }
            }))
        }
        return states.contains(segments.count)
    }

    /// One name against one name's tokens: on a mismatch, the last `*` takes one byte more.
    private static func matches(_ tokens: ArraySlice<Token>, _ name: ArraySlice<UInt8>) -> Bool {
        var t = tokens.startIndex, n = name.startIndex
        var lastStar: (token: Int, name: Int)?
        while n < name.endIndex {
            if t < tokens.endIndex, tokens[t] == .anyBytes {
                lastStar = (t, n)
                t += 1
            } else if t < tokens.endIndex, tokens[t].matches(name[n]) {
                t += 1
                n += 1
            } else if let star = lastStar {
                lastStar = (star.token, star.name + 1)
                t = star.token + 1
                n = star.name + 1
            } else {
                return false
            }
        }
        return tokens[t...].allSatisfy { $0 == .anyBytes }
    }

    /// The tokens of `text`, nil standing for `/`; nil when malformed.
    private static func tokens(_ text: ArraySlice<UInt8>) -> [Token?]? {
        var tokens: [Token?] = []
        var i = text.startIndex
        while i < text.endIndex {
            switch text[i] {
            case backslash:
                i += 1
                guard i < text.endIndex else { return nil }
                tokens.append(text[i] == slash ? nil : .byte(text[i]))
            case UInt8(ascii: "?"): tokens.append(.anyByte)
            case UInt8(ascii: "*"): tokens.append(.anyBytes)
            case UInt8(ascii: "["):
                guard let (set, end) = byteSet(text, from: i + 1) else { return nil }
                tokens.append(.set(set))
                i = end
            case slash: tokens.append(nil)
            default: tokens.append(.byte(text[i]))
            }
            i += 1
        }
        return tokens
    }

    /// The set that starts at `start` (just after `[`) and the index of its `]`. As in git, a
    /// `]` first is a member, `a-z` is a range, `\` escapes, and `[:alpha:]` and its kin
    /// name ASCII classes.
    private static func byteSet(_ text: ArraySlice<UInt8>, from start: Int) -> (ByteSet, Int)? {
        var set = ByteSet(), i = start
        if i < text.endIndex, text[i] == UInt8(ascii: "!") || text[i] == UInt8(ascii: "^") {
            set.negated = true
            i += 1
        }
        var previous: UInt8?  // the last single member, which a `-` may start a range from
        var first = true
        while i < text.endIndex, first || text[i] != UInt8(ascii: "]") {
            first = false
            var byte = text[i]
            if byte == backslash {
                i += 1
                guard i < text.endIndex else { return nil }
                byte = text[i]
            } else if byte == UInt8(ascii: "-"), let low = previous, i + 1 < text.endIndex, text[i + 1] != UInt8(ascii: "]") {
                i += 1
                if text[i] == backslash { i += 1 }
                guard i < text.endIndex else { return nil }
                if low <= text[i] { set.members.formUnion(low...text[i]) }
                previous = nil
                i += 1
                continue
            } else if byte == UInt8(ascii: "["), i + 1 < text.endIndex, text[i + 1] == UInt8(ascii: ":"),
                      let close = text[(i + 2)...].firstIndex(of: UInt8(ascii: "]")), text[close - 1] == UInt8(ascii: ":"),
                      close - 1 >= i + 2 {
                guard let members = posixClasses[String(decoding: text[(i + 2)..<(close - 1)], as: UTF8.self)] else { return nil }
                set.members.formUnion(members)
                previous = nil
                i = close + 1
                continue
            }
            set.members.insert(byte)
            previous = byte
            i += 1
        }
        return i < text.endIndex ? (set, i) : nil
    }

    /// The ASCII classes `[:name:]` may name inside a set.
    private static let posixClasses: [String: Set<UInt8>] = {
        func bytes(_ first: Unicode.Scalar, _ last: Unicode.Scalar) -> Set<UInt8> { Set(UInt8(ascii: first)...UInt8(ascii: last)) }
        let upper = bytes("A", "Z"), lower = bytes("a", "z"), digit = bytes("0", "9"), graph = bytes("!", "~")
        return ["alnum": upper.union(lower).union(digit), "alpha": upper.union(lower), "blank": [32, 9],
                "cntrl": Set(0...31).union([127]), "digit": digit, "graph": graph, "lower": lower,
                "print": graph.union([32]), "punct": graph.subtracting(upper).subtracting(lower).subtracting(digit),
                "space": bytes("\t", "\r").union([32]), "upper": upper,
                "xdigit": digit.union(bytes("a", "f")).union(bytes("A", "F"))]
    }()
}

private let slash = UInt8(ascii: "/")
private let backslash = UInt8(ascii: "\\")

extension Glob.Token {
    func matches(_ byte: UInt8) -> Bool {
        switch self {
        case .byte(let b): b == byte
        case .anyByte: true
        case .anyBytes: false
        case .set(let set): set.contains(byte)
        }
    }
}
