/// A small backtracking regular-expression matcher over Unicode scalars, covering the syntax that tokenizer files
/// use: literals and escapes, `.`, `\s \S \d \D \w \W`, `\p{..}` / `\P{..}` (L, N, their two-letter subcategories,
/// Letter, Number), bracket classes with ranges and negation, alternation, `(?: )` / `( )` groups, `(?= )` / `(?! )`
/// look-aheads, the anchors `\A \z \Z ^ $`, and the quantifiers `? * + {n} {n,} {n,m}` (greedy or lazy).
///
/// Semantics follow Oniguruma as `tokenizers` uses it: the leftmost match wins, alternatives are tried in order,
/// quantifiers backtrack. Quantified groups are limited to `?` on a group.
///
/// Limits, as a pattern comes from a downloaded file: at most `maxElements` atoms and `maxNesting` levels of groups
/// and classes (else `PatternError`), and at most `stepBudget(textLength:)` backtracking steps per search of a text
/// (Oniguruma's retry limit plays this part): a pattern that backtracks catastrophically (`a*a*a*a*b`) stops
/// matching there, leaving the rest of the text unmatched, instead of running for hours.
struct Pattern: Sendable {
    indirect enum Atom: Sendable {
        case set(ScalarSet)
        case group([[Piece]])
        case lookahead(negative: Bool, [[Piece]])
        case anchor(Anchor)
    }

    /// Zero-width positions (Oniguruma's Ruby syntax: `^` / `$` are line anchors).
    enum Anchor: Sendable {
        case textStart, textEnd, textEndBeforeNewline, lineStart, lineEnd

        func holds(at pos: Int, in s: UnsafeBufferPointer<Unicode.Scalar>) -> Bool {
            switch self {
            case .textStart: return pos == 0
            case .textEnd: return pos == s.count
            case .textEndBeforeNewline: return pos == s.count || (pos == s.count - 1 && s[pos] == "\n")
            case .lineStart: return pos == 0 || s[pos - 1] == "\n"
            case .lineEnd: return pos == s.count || s[pos] == "\n"
            }
        }
    }

    struct Piece: Sendable {
        var atom: Atom
        var min: Int
        var max: Int
        var lazy: Bool
    }

    let source: String
    let alternatives: [[Piece]]

    /// Most atoms (literals, classes, groups, look-aheads, anchors) in one pattern; tokenizer patterns have tens.
    static let maxElements = 1_000
    /// Deepest nesting of groups, look-aheads and bracket classes.
    static let maxNesting = 32

    /// Backtracking steps allowed for one search of a text of `textLength` scalars: ample for linear patterns on
    /// any text (a few steps a scalar), bounded for catastrophic ones.
    static func stepBudget(textLength: Int) -> Int { 10_000_000 + 1_000 * textLength }

    /// What a search may still spend.
    final class Steps {
        var left: Int
        init(_ left: Int) { self.left = left }
        /// Spends one step; false once the budget is gone.
        @inline(__always) func spend() -> Bool {
            guard left > 0 else { return false }
            left -= 1
            return true
        }
    }

    init(_ source: String) throws(PatternError) {
        self.source = source
        var parser = PatternParser(Array(source.unicodeScalars))
        alternatives = try parser.parseAll()
    }

    /// Leftmost match at or after `from`, as a half-open range of scalar offsets.
    func firstMatch(in s: [Unicode.Scalar], from: Int) -> Range<Int>? {
        s.withUnsafeBufferPointer { firstMatch(in: $0, from: from, steps: Steps(Self.stepBudget(textLength: $0.count))) }
    }

    func firstMatch(in s: UnsafeBufferPointer<Unicode.Scalar>, from: Int, steps: Steps) -> Range<Int>? {
        var start = from
        while start <= s.count {
            for alt in alternatives {
                if let end = Pattern.match(alt, 0, start, nil, s, steps) { return start..<end }
                if steps.left <= 0 { return nil }
            }
            start += 1
        }
        return nil
    }

    /// All non-overlapping leftmost matches; after an empty match the search resumes one scalar later. Past the
    /// step budget, no further match is found.
    func matches(in s: [Unicode.Scalar]) -> [Range<Int>] {
        s.withUnsafeBufferPointer { buffer in
            var result: [Range<Int>] = []
            var pos = 0
            let steps = Steps(Self.stepBudget(textLength: buffer.count))
            while pos <= buffer.count, let r = firstMatch(in: buffer, from: pos, steps: steps) {
                result.append(r)
                pos = r.isEmpty ? r.upperBound + 1 : r.upperBound
            }
            return result
        }
    }

    final class Frame {
        let seq: [Piece]
        let index: Int
        let next: Frame?
        init(_ seq: [Piece], _ index: Int, _ next: Frame?) {
            self.seq = seq
            self.index = index
            self.next = next
        }
    }

    static func match(_ seq: [Piece], _ i: Int, _ pos: Int, _ k: Frame?, _ s: UnsafeBufferPointer<Unicode.Scalar>,
                      _ steps: Steps) -> Int? {
        guard steps.spend() else { return nil }
        if i == seq.count {
            guard let k else { return pos }
            return match(k.seq, k.index, pos, k.next, s, steps)
        }
        let piece = seq[i]
        switch piece.atom {
        case .set(let set):
            var n = 0
            while n < piece.max, pos + n < s.count, set.contains(s[pos + n]) { n += 1 }
            if n < piece.min { return nil }
            if piece.lazy {
                var c = piece.min
                while c <= n {
                    if let r = match(seq, i + 1, pos + c, k, s, steps) { return r }
                    c += 1
                }
            } else {
                var c = n
                while c >= piece.min {
                    if let r = match(seq, i + 1, pos + c, k, s, steps) { return r }
                    c -= 1
                }
            }
            return nil
        case .group(let alts):
            let frame = Frame(seq, i + 1, k)
            if piece.max == 0 { return match(seq, i + 1, pos, k, s, steps) }
            if piece.min == 0 && piece.lazy, let r = match(seq, i + 1, pos, k, s, steps) { return r }
            for alt in alts {
                if let r = match(alt, 0, pos, frame, s, steps) { return r }
            }
            if piece.min == 0 && !piece.lazy { return match(seq, i + 1, pos, k, s, steps) }
            return nil
        case .lookahead(let negative, let alts):
            let found = alts.contains { match($0, 0, pos, nil, s, steps) != nil }
            if steps.left <= 0 { return nil }
            return found != negative ? match(seq, i + 1, pos, k, s, steps) : nil
        case .anchor(let anchor):
            return anchor.holds(at: pos, in: s) ? match(seq, i + 1, pos, k, s, steps) : nil
        }
    }
}

struct PatternError: Error, Sendable {
    let reason: String
}

/// A set of scalars: the union of its items, possibly negated. Membership of ASCII scalars is precomputed.
struct ScalarSet: Sendable {
    enum Item: Sendable {
        case scalar(UInt32)
        case range(UInt32, UInt32)
        case letter, number, whitespace, word, digit
        case categories([Unicode.GeneralCategory])
        case anyButNewline
        indirect case not(Item)
        case nested(ScalarSet)
    }

    let items: [Item]
    let negated: Bool
    private let asciiLow: UInt64
    private let asciiHigh: UInt64

    init(items: [Item], negated: Bool) {
        self.items = items
        self.negated = negated
        var low: UInt64 = 0, high: UInt64 = 0
        for v in UInt32(0)..<128 where ScalarSet.slowContains(items, negated, Unicode.Scalar(v)!) {
            if v < 64 { low |= 1 << UInt64(v) } else { high |= 1 << UInt64(v - 64) }
        }
        asciiLow = low
        asciiHigh = high
    }

    @inline(__always)
    func contains(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 64 { return asciiLow & (1 << UInt64(v)) != 0 }
        if v < 128 { return asciiHigh & (1 << UInt64(v - 64)) != 0 }
        return ScalarSet.slowContains(items, negated, c)
    }

    static func slowContains(_ items: [Item], _ negated: Bool, _ c: Unicode.Scalar) -> Bool {
        var hit = false
        for item in items where matches(item, c) {
            hit = true
            break
        }
        return hit != negated
    }

    static func matches(_ item: Item, _ c: Unicode.Scalar) -> Bool {
        switch item {
        case .scalar(let v): return c.value == v
        case .range(let a, let b): return c.value >= a && c.value <= b
        case .letter: return UnicodeClass.isLetter(c)
        case .number: return UnicodeClass.isNumber(c)
        case .whitespace: return UnicodeClass.isWhitespace(c)
        case .word: return UnicodeClass.isWord(c)
        case .digit: return c.properties.generalCategory == .decimalNumber
        case .categories(let cats): return cats.contains(c.properties.generalCategory)
        case .anyButNewline: return c.value != 0x0A
        case .not(let inner): return !matches(inner, c)
        case .nested(let set): return set.contains(c)
        }
    }
}

struct PatternParser {
    let s: [Unicode.Scalar]
    var i = 0
    /// Atoms read so far and the current nesting depth (see `Pattern.maxElements`, `Pattern.maxNesting`).
    var elements = 0
    var depth = 0

    init(_ s: [Unicode.Scalar]) { self.s = s }

    mutating func parseAll() throws(PatternError) -> [[Pattern.Piece]] {
        let alts = try parseAlternation()
        if i < s.count { throw PatternError(reason: "unbalanced ')' at offset \(i)") }
        return alts
    }

    mutating func parseAlternation() throws(PatternError) -> [[Pattern.Piece]] {
        var alts: [[Pattern.Piece]] = [[]]
        while i < s.count {
            let c = s[i]
            if c == "|" {
                i += 1
                alts.append([])
            } else if c == ")" {
                break
            } else {
                elements += 1
                guard elements <= Pattern.maxElements else {
                    throw PatternError(reason: "more than \(Pattern.maxElements) elements")
                }
                let atom = try parseAtom()
                var piece = Pattern.Piece(atom: atom, min: 1, max: 1, lazy: false)
                try parseQuantifier(&piece)
                alts[alts.count - 1].append(piece)
            }
        }
        return alts
    }

    mutating func parseQuantifier(_ piece: inout Pattern.Piece) throws(PatternError) {
        guard i < s.count else { return }
        switch s[i] {
        case "?": piece.min = 0; piece.max = 1; i += 1
        case "*": piece.min = 0; piece.max = Int.max; i += 1
        case "+": piece.min = 1; piece.max = Int.max; i += 1
        case "{":
            guard let (lo, hi) = parseBraces() else { return }
            piece.min = lo
            piece.max = hi
        default: return
        }
        if i < s.count, s[i] == "?" {
            piece.lazy = true
            i += 1
        } else if i < s.count, s[i] == "+" {
            throw PatternError(reason: "possessive quantifiers are not supported")
        }
        switch piece.atom {
        case .lookahead: throw PatternError(reason: "quantified look-ahead")
        case .anchor: throw PatternError(reason: "quantified anchor")
        case .group where !(piece.min <= 1 && piece.max == 1) && !(piece.min == 0 && piece.max == 1):
            throw PatternError(reason: "only '?' is supported on a group")
        default: break
        }
    }

    /// `{n}`, `{n,}`, `{n,m}`; anything else leaves `{` to be read as a literal.
    mutating func parseBraces() -> (Int, Int)? {
        var j = i + 1
        func number(_ j: inout Int) -> Int? {
            var v = 0
            var any = false
            while j < s.count, let d = Int(String(s[j])), s[j].isASCII {
                v = v * 10 + d
                any = true
                j += 1
                if v > 100_000 { return nil }
            }
            return any ? v : nil
        }
        guard let lo = number(&j) else { return nil }
        var hi = lo
        if j < s.count, s[j] == "," {
            j += 1
            hi = number(&j) ?? Int.max
        }
        guard j < s.count, s[j] == "}", hi >= lo else { return nil }
        i = j + 1
        return (lo, hi)
    }

    mutating func enter() throws(PatternError) {
        depth += 1
        guard depth <= Pattern.maxNesting else {
            throw PatternError(reason: "groups or classes nested more than \(Pattern.maxNesting) deep")
        }
    }

    mutating func parseAtom() throws(PatternError) -> Pattern.Atom {
        let c = s[i]
        switch c {
        case "(":
            try enter()
            defer { depth -= 1 }
            i += 1
            var kind = 0  // 0 group, 1 positive look-ahead, 2 negative look-ahead
            if i < s.count, s[i] == "?" {
                guard i + 1 < s.count else { throw PatternError(reason: "truncated group") }
                switch s[i + 1] {
                case ":": kind = 0
                case "=": kind = 1
                case "!": kind = 2
                default: throw PatternError(reason: "unsupported group syntax '(?\(s[i + 1])'")
                }
                i += 2
            }
            let alts = try parseAlternation()
            guard i < s.count, s[i] == ")" else { throw PatternError(reason: "missing ')'") }
            i += 1
            return kind == 0 ? .group(alts) : .lookahead(negative: kind == 2, alts)
        case "[":
            return .set(try parseClass())
        case ".":
            i += 1
            return .set(ScalarSet(items: [.anyButNewline], negated: false))
        case "\\":
            if i + 1 < s.count, let anchor = [("A", Pattern.Anchor.textStart), ("z", .textEnd), ("Z", .textEndBeforeNewline)]
                .first(where: { $0.0 == s[i + 1] })?.1 {
                i += 2
                return .anchor(anchor)
            }
            let item = try parseEscape()
            return .set(ScalarSet(items: [item], negated: false))
        case "^", "$":
            i += 1
            return .anchor(c == "^" ? .lineStart : .lineEnd)
        case "*", "+", "?":
            throw PatternError(reason: "quantifier '\(c)' without an operand at offset \(i)")
        default:
            i += 1
            return .set(ScalarSet(items: [.scalar(c.value)], negated: false))
        }
    }

    /// Parses an escape at `s[i] == "\\"`.
    mutating func parseEscape() throws(PatternError) -> ScalarSet.Item {
        i += 1
        guard i < s.count else { throw PatternError(reason: "trailing backslash") }
        let c = s[i]
        i += 1
        switch c {
        case "s": return .whitespace
        case "S": return .not(.whitespace)
        case "d": return .digit
        case "D": return .not(.digit)
        case "w": return .word
        case "W": return .not(.word)
        case "n": return .scalar(0x0A)
        case "r": return .scalar(0x0D)
        case "t": return .scalar(0x09)
        case "f": return .scalar(0x0C)
        case "v": return .scalar(0x0B)
        case "p", "P":
            let negate = c == "P"
            guard i < s.count, s[i] == "{" else { throw PatternError(reason: "expected '{' after \\\(c)") }
            var name = ""
            i += 1
            while i < s.count, s[i] != "}" {
                name.unicodeScalars.append(s[i])
                i += 1
            }
            guard i < s.count else { throw PatternError(reason: "unterminated \\p{") }
            i += 1
            var inner = name
            var neg = negate
            if inner.hasPrefix("^") {
                inner.removeFirst()
                neg.toggle()
            }
            let item = try PatternParser.property(inner)
            return neg ? .not(item) : item
        case "x":
            var hex = ""
            if i < s.count, s[i] == "{" {
                i += 1
                while i < s.count, s[i] != "}" { hex.unicodeScalars.append(s[i]); i += 1 }
                i += 1
            } else {
                while i < s.count, hex.count < 2, s[i].properties.isASCIIHexDigit { hex.unicodeScalars.append(s[i]); i += 1 }
            }
            guard let v = UInt32(hex, radix: 16) else { throw PatternError(reason: "bad \\x escape") }
            return .scalar(v)
        case "u":
            var hex = ""
            while i < s.count, hex.count < 4, s[i].properties.isASCIIHexDigit { hex.unicodeScalars.append(s[i]); i += 1 }
            guard hex.count == 4, let v = UInt32(hex, radix: 16) else { throw PatternError(reason: "bad \\u escape") }
            return .scalar(v)
        default:
            if c.properties.isAlphabetic || c.properties.numericType != nil {
                throw PatternError(reason: "unsupported escape \\\(c)")
            }
            return .scalar(c.value)
        }
    }

    static func property(_ name: String) throws(PatternError) -> ScalarSet.Item {
        typealias G = Unicode.GeneralCategory
        switch name {
        case "L", "Letter": return .letter
        case "N", "Number": return .number
        case "Lu": return .categories([G.uppercaseLetter])
        case "Ll": return .categories([G.lowercaseLetter])
        case "Lt": return .categories([G.titlecaseLetter])
        case "Lm": return .categories([G.modifierLetter])
        case "Lo": return .categories([G.otherLetter])
        case "Nd": return .categories([G.decimalNumber])
        case "Nl": return .categories([G.letterNumber])
        case "No": return .categories([G.otherNumber])
        case "M", "Mark": return .categories([G.nonspacingMark, G.spacingMark, G.enclosingMark])
        case "Mn": return .categories([G.nonspacingMark])
        case "Mc": return .categories([G.spacingMark])
        case "Me": return .categories([G.enclosingMark])
        case "P", "Punctuation":
            return .categories([G.connectorPunctuation, G.dashPunctuation, G.openPunctuation, G.closePunctuation,
                                G.initialPunctuation, G.finalPunctuation, G.otherPunctuation])
        case "S", "Symbol": return .categories([G.mathSymbol, G.currencySymbol, G.modifierSymbol, G.otherSymbol])
        case "Z", "Separator": return .categories([G.spaceSeparator, G.lineSeparator, G.paragraphSeparator])
        case "Zs": return .categories([G.spaceSeparator])
        case "C", "Other": return .categories([G.control, G.format, G.surrogate, G.privateUse, G.unassigned])
        case "Cc": return .categories([G.control])
        case "Cf": return .categories([G.format])
        case "Co": return .categories([G.privateUse])
        case "Cn": return .categories([G.unassigned])
        default: throw PatternError(reason: "unsupported property \\p{\(name)}")
        }
    }

    /// Parses a bracket class at `s[i] == "["`.
    mutating func parseClass() throws(PatternError) -> ScalarSet {
        try enter()
        defer { depth -= 1 }
        i += 1
        var items: [ScalarSet.Item] = []
        var negated = false
        if i < s.count, s[i] == "^" {
            negated = true
            i += 1
        }
        var first = true
        while true {
            guard i < s.count else { throw PatternError(reason: "unterminated '['") }
            let c = s[i]
            if c == "]" && !first {
                i += 1
                break
            }
            first = false
            if c == "[" {
                items.append(.nested(try parseClass()))
                continue
            }
            if c == "&", i + 1 < s.count, s[i + 1] == "&" {
                throw PatternError(reason: "class intersection is not supported")
            }
            var low: ScalarSet.Item
            if c == "\\" {
                low = try parseEscape()
            } else {
                low = .scalar(c.value)
                i += 1
            }
            if case .scalar(let a) = low, i + 1 < s.count, s[i] == "-", s[i + 1] != "]" {
                i += 1
                var high: ScalarSet.Item
                if s[i] == "\\" {
                    high = try parseEscape()
                } else {
                    high = .scalar(s[i].value)
                    i += 1
                }
                guard case .scalar(let b) = high, b >= a else { throw PatternError(reason: "bad class range") }
                low = .range(a, b)
            }
            items.append(low)
        }
        return ScalarSet(items: items, negated: negated)
    }
}
