/// Porter's English stemmer (M. F. Porter, "An algorithm for suffix stripping", 1980), so that
/// a query's `parsing` finds a document's `parses` and `parser`: known-item queries (a package's
/// one-line title against its description) rarely repeat the description's word forms.
/// It works on lowercase ASCII letters only; other words are left as they are.
enum EnglishStemmer {
    /// The stem of `word`, a lowercase ASCII word (words of one or two letters are kept).
    static func stem(_ word: [UInt8]) -> [UInt8] {
        guard word.count > 2, word.allSatisfy({ (0x61...0x7A).contains($0) }) else { return word }
        var w = Word(letters: word)
        w.step1a()
        w.step1b()
        w.step1c()
        w.replaceFirst(of: step2, when: { $0 > 0 })
        w.replaceFirst(of: step3, when: { $0 > 0 })
        w.step4()
        w.step5()
        return w.letters
    }

    private static func rules(_ pairs: [(String, String)]) -> [(suffix: [UInt8], replacement: [UInt8])] {
        pairs.map { (Array($0.0.utf8), Array($0.1.utf8)) }
    }

    // Longer suffixes first where one ends another, so the longest that matches is the one tried.
    private static let step2 = rules([
        ("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"), ("bli", "ble"),
        ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"), ("ization", "ize"), ("ation", "ate"),
        ("ator", "ate"), ("alism", "al"), ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous"), ("aliti", "al"),
        ("iviti", "ive"), ("biliti", "ble"), ("logi", "log"),
    ])
    private static let step3 = rules([
        ("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""), ("ness", ""),
    ])
    private static let step4 = rules([
        ("al", ""), ("ance", ""), ("ence", ""), ("er", ""), ("ic", ""), ("able", ""), ("ible", ""), ("ant", ""),
        ("ement", ""), ("ment", ""), ("ent", ""), ("ion", ""), ("ou", ""), ("ism", ""), ("ate", ""), ("iti", ""),
        ("ous", ""), ("ive", ""), ("ize", ""),
    ]).sorted { $0.suffix.count > $1.suffix.count }

    private struct Word {
        var letters: [UInt8]

        func isConsonant(_ i: Int) -> Bool {
            switch letters[i] {
            case UInt8(ascii: "a"), UInt8(ascii: "e"), UInt8(ascii: "i"), UInt8(ascii: "o"), UInt8(ascii: "u"): return false
            case UInt8(ascii: "y"): return i == 0 || !isConsonant(i - 1)
            default: return true
            }
        }

        /// Porter's m: the number of vowel-consonant sequences in the first `length` letters.
        func measure(_ length: Int) -> Int {
            var m = 0, i = 0
            while i < length, isConsonant(i) { i += 1 }
            while i < length {
                while i < length, !isConsonant(i) { i += 1 }
                guard i < length else { break }
                m += 1
                while i < length, isConsonant(i) { i += 1 }
            }
            return m
        }

        func hasVowel(_ length: Int) -> Bool { (0..<length).contains { !isConsonant($0) } }

        func endsWithDoubleConsonant(_ length: Int) -> Bool {
            length >= 2 && letters[length - 1] == letters[length - 2] && isConsonant(length - 1)
        }

        /// Consonant, vowel, consonant at the end of the first `length` letters, the last not w, x or y.
        func endsCVC(_ length: Int) -> Bool {
            guard length >= 3, isConsonant(length - 3), !isConsonant(length - 2), isConsonant(length - 1) else { return false }
            return ![UInt8(ascii: "w"), UInt8(ascii: "x"), UInt8(ascii: "y")].contains(letters[length - 1])
        }

        func ends(with suffix: [UInt8]) -> Bool {
            letters.count >= suffix.count && letters[(letters.count - suffix.count)...].elementsEqual(suffix)
        }

        func ends(with suffix: String) -> Bool { ends(with: Array(suffix.utf8)) }

        mutating func replace(_ suffixLength: Int, with replacement: [UInt8]) {
            letters.removeLast(suffixLength)
            letters += replacement
        }

        /// The rule of the longest matching suffix, applied when its stem's measure passes.
        mutating func replaceFirst(of rules: [(suffix: [UInt8], replacement: [UInt8])], when condition: (Int) -> Bool) {
            guard let rule = rules.first(where: { ends(with: $0.suffix) }) else { return }
            if condition(measure(letters.count - rule.suffix.count)) { replace(rule.suffix.count, with: rule.replacement) }
        }

        mutating func step1a() {
            if ends(with: "sses") || ends(with: "ies") {
                letters.removeLast(2)
            } else if ends(with: "s"), !ends(with: "ss") {
                letters.removeLast()
            }
        }

        mutating func step1b() {
            if ends(with: "eed") {
                if measure(letters.count - 3) > 0 { letters.removeLast() }
                return
            }
            let suffix = ends(with: "ed") ? 2 : ends(with: "ing") ? 3 : 0
            guard suffix > 0, hasVowel(letters.count - suffix) else { return }
            letters.removeLast(suffix)
            if ends(with: "at") || ends(with: "bl") || ends(with: "iz") {
                letters.append(UInt8(ascii: "e"))
            } else if endsWithDoubleConsonant(letters.count), ![UInt8(ascii: "l"), UInt8(ascii: "s"), UInt8(ascii: "z")].contains(letters[letters.count - 1]) {
                letters.removeLast()
            } else if measure(letters.count) == 1, endsCVC(letters.count) {
                letters.append(UInt8(ascii: "e"))
            }
        }

        mutating func step1c() {
            if ends(with: "y"), hasVowel(letters.count - 1) { letters[letters.count - 1] = UInt8(ascii: "i") }
        }

        mutating func step4() {
            guard let rule = EnglishStemmer.step4.first(where: { ends(with: $0.suffix) }) else { return }
            let stem = letters.count - rule.suffix.count
            if rule.suffix == Array("ion".utf8), !(stem > 0 && [UInt8(ascii: "s"), UInt8(ascii: "t")].contains(letters[stem - 1])) { return }
            if measure(stem) > 1 { letters.removeLast(rule.suffix.count) }
        }

        mutating func step5() {
            if ends(with: "e") {
                let m = measure(letters.count - 1)
                if m > 1 || (m == 1 && !endsCVC(letters.count - 1)) { letters.removeLast() }
            }
            if ends(with: "ll"), measure(letters.count) > 1 { letters.removeLast() }
        }
    }
}
