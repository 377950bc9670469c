/// Character classes of `tokenizers`' BERT normalizer and pre-tokenizers, with the Unicode tables `tokenizers` 0.23
/// was built with (Rust `unicode_categories`): a few characters assigned or re-categorised in later Unicode versions
/// are listed as exceptions to Swift's tables. Checked for every code point against `tokenizers`
/// (Tests/Fixtures/wordpiece/unicode.json).
enum BertUnicode {
    /// `char::is_whitespace` (the White_Space property).
    @inline(__always)
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool { UnicodeClass.isWhitespace(s) }

    /// BertNormalizer's `is_control`: general category Cc, Cf or Co (not Cn), except tab, newline and carriage
    /// return.
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09, 0x0A, 0x0D: return false
        case 0..<0x20, 0x7F: return true
        case 0x20..<0x7F: return false
        default: break
        }
        if contains(controlExceptions, s.value) { return !isControlInSwift(s) }
        return isControlInSwift(s)
    }

    @inline(__always)
    static func isControlInSwift(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .control, .format, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// BertNormalizer's `is_chinese_char`: the CJK Unified Ideographs blocks and their extensions, the
    /// compatibility ideographs (not every CJK character, e.g. not kana, Hangul or CJK punctuation).
    @inline(__always)
    static func isChinese(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// BertPreTokenizer's and `Punctuation`'s `is_punc`: ASCII punctuation or general category Pc, Pd, Ps, Pe, Pi,
    /// Pf or Po.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 {
            switch s.value {
            case 0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E: return true
            default: return false
            }
        }
        if contains(punctuationExceptions, s.value) { return !isPunctuationInSwift(s) }
        return isPunctuationInSwift(s)
    }

    @inline(__always)
    static func isPunctuationInSwift(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// StripAccents' filter: general category Mn.
    static func isNonspacingMark(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x300 { return false }
        let inSwift = s.properties.generalCategory == .nonspacingMark
        if contains(markExceptions, s.value) { return !inSwift }
        return inSwift
    }

    // Code points whose class differs between Swift's Unicode tables and `tokenizers`' (found by comparing every
    // code point; sorted, for the binary search).
    /// Cc/Cf/Co in one table only (mostly format characters added in Unicode 14-17).
    static let controlExceptions: [ClosedRange<UInt32>] = [
        0x890...0x891, 0x8e2...0x8e2, 0x110cd...0x110cd, 0x13430...0x1343f,
    ]
    /// Punctuation in one table only (mostly added in Unicode 10-17).
    static let punctuationExceptions: [ClosedRange<UInt32>] = [
        0x61d...0x61d, 0x9fd...0x9fd, 0xa76...0xa76, 0xc77...0xc77, 0xc84...0xc84, 0x166d...0x166d, 0x1b4e...0x1b4f,
        0x1b7d...0x1b7f, 0x2e43...0x2e4f, 0x2e52...0x2e5d, 0x10d6e...0x10d6e, 0x10ead...0x10ead, 0x10ed0...0x10ed0,
        0x10f55...0x10f59, 0x10f86...0x10f89, 0x111c9...0x111c9, 0x113d4...0x113d5, 0x113d7...0x113d8,
        0x1144b...0x1144f, 0x1145a...0x1145b, 0x1145d...0x1145d, 0x11660...0x1166c, 0x116b9...0x116b9,
        0x1183b...0x1183b, 0x11944...0x11946, 0x119e2...0x119e2, 0x11a3f...0x11a46, 0x11a9a...0x11a9c,
        0x11a9e...0x11aa2, 0x11b00...0x11b09, 0x11be1...0x11be1, 0x11c41...0x11c45, 0x11c70...0x11c71,
        0x11ef7...0x11ef8, 0x11f43...0x11f4f, 0x11fff...0x11fff, 0x12ff1...0x12ff2, 0x16d6d...0x16d6f,
        0x16e97...0x16e9a, 0x16fe2...0x16fe2, 0x1e5ff...0x1e5ff, 0x1e95e...0x1e95f,
    ]
    /// Mn in one table only (nonspacing marks added in Unicode 9-17): `tokenizers` keeps them.
    static let markExceptions: [ClosedRange<UInt32>] = [
        0x7fd...0x7fd, 0x897...0x89f, 0x8ca...0x8e1, 0x9fe...0x9fe, 0xafa...0xaff, 0xb55...0xb55, 0xc04...0xc04,
        0xc3c...0xc3c, 0xd00...0xd00, 0xd3b...0xd3c, 0xd81...0xd81, 0xeba...0xeba, 0xece...0xece, 0x1734...0x1734,
        0x180f...0x180f, 0x1885...0x1886, 0x1abf...0x1add, 0x1ae0...0x1aeb, 0x1df6...0x1dfb, 0xa82c...0xa82c,
        0xa8c5...0xa8c5, 0xa8ff...0xa8ff, 0xa9bd...0xa9bd, 0x10d24...0x10d27, 0x10d69...0x10d6d, 0x10eab...0x10eac,
        0x10efa...0x10eff, 0x10f46...0x10f50, 0x10f82...0x10f85, 0x11070...0x11070, 0x11073...0x11074,
        0x110c2...0x110c2, 0x111c9...0x111c9, 0x111cf...0x111cf, 0x1123e...0x1123e, 0x11241...0x11241,
        0x1133b...0x1133b, 0x113bb...0x113c0, 0x113ce...0x113ce, 0x113d0...0x113d0, 0x113d2...0x113d2,
        0x113e1...0x113e2, 0x11438...0x1143f, 0x11442...0x11444, 0x11446...0x11446, 0x1145e...0x1145e,
        0x1171e...0x1171e, 0x1182f...0x11837, 0x11839...0x1183a, 0x1193b...0x1193c, 0x1193e...0x1193e,
        0x11943...0x11943, 0x119d4...0x119d7, 0x119da...0x119db, 0x119e0...0x119e0, 0x11a01...0x11a0a,
        0x11a33...0x11a38, 0x11a3b...0x11a3e, 0x11a47...0x11a47, 0x11a51...0x11a56, 0x11a59...0x11a5b,
        0x11a8a...0x11a96, 0x11a98...0x11a99, 0x11b60...0x11b60, 0x11b62...0x11b64, 0x11b66...0x11b66,
        0x11c30...0x11c36, 0x11c38...0x11c3d, 0x11c3f...0x11c3f, 0x11c92...0x11ca7, 0x11caa...0x11cb0,
        0x11cb2...0x11cb3, 0x11cb5...0x11cb6, 0x11d31...0x11d36, 0x11d3a...0x11d3a, 0x11d3c...0x11d3d,
        0x11d3f...0x11d45, 0x11d47...0x11d47, 0x11d90...0x11d91, 0x11d95...0x11d95, 0x11d97...0x11d97,
        0x11ef3...0x11ef4, 0x11f00...0x11f01, 0x11f36...0x11f3a, 0x11f40...0x11f40, 0x11f42...0x11f42,
        0x11f5a...0x11f5a, 0x13440...0x13440, 0x13447...0x13455, 0x1611e...0x16129, 0x1612d...0x1612f,
        0x16f4f...0x16f4f, 0x16fe4...0x16fe4, 0x1cf00...0x1cf2d, 0x1cf30...0x1cf46, 0x1e000...0x1e006,
        0x1e008...0x1e018, 0x1e01b...0x1e021, 0x1e023...0x1e024, 0x1e026...0x1e02a, 0x1e08f...0x1e08f,
        0x1e130...0x1e136, 0x1e2ae...0x1e2ae, 0x1e2ec...0x1e2ef, 0x1e4ec...0x1e4ef, 0x1e5ee...0x1e5ef,
        0x1e6e3...0x1e6e3, 0x1e6e6...0x1e6e6, 0x1e6ee...0x1e6ef, 0x1e6f5...0x1e6f5, 0x1e944...0x1e94a,
    ]

    /// Whether sorted, disjoint `table` contains `v` (binary search).
    static func contains(_ table: [ClosedRange<UInt32>], _ v: UInt32) -> Bool {
        var lo = 0
        var hi = table.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if table[mid].upperBound < v {
                lo = mid + 1
            } else if table[mid].lowerBound > v {
                hi = mid
            } else {
                return true
            }
        }
        return false
    }

    /// NFD as `tokenizers` computes it (nothing below U+00C0 decomposes).
    static func nfd(_ text: String) -> String {
        if text.unicodeScalars.allSatisfy({ $0.value < 0xC0 }) { return text }
        return TokenizersNormalization.nfd(text)
    }
}

/// `BertNormalizer`: with `cleanText`, removes NUL, U+FFFD and control characters and turns whitespace into spaces;
/// with `handleChineseChars`, puts spaces around CJK ideographs; with `stripAccents` (when unset, it follows
/// `lowercase`, as in the original BERT), decomposes (NFD) and removes nonspacing marks; with `lowercase`,
/// lowercases. In that order, as `tokenizers` does.
public struct BertNormalizer: Normalizer {
    public let cleanText: Bool
    public let handleChineseChars: Bool
    public let stripAccents: Bool
    public let lowercase: Bool

    /// - Parameter stripAccents: nil follows `lowercase`.
    public init(cleanText: Bool = true, handleChineseChars: Bool = true, stripAccents: Bool? = nil,
                lowercase: Bool = true) {
        self.cleanText = cleanText
        self.handleChineseChars = handleChineseChars
        self.stripAccents = stripAccents ?? lowercase
        self.lowercase = lowercase
    }

    public func normalize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            var c = s
            if cleanText {
                if s.value == 0 || s.value == 0xFFFD || BertUnicode.isControl(s) { continue }
                if BertUnicode.isWhitespace(s) { c = " " }
            }
            if handleChineseChars && BertUnicode.isChinese(c) {
                out.append(" ")
                out.append(c)
                out.append(" ")
            } else {
                out.append(c)
            }
        }
        var result = String(out)
        if stripAccents, result.unicodeScalars.contains(where: { $0.value >= 0xC0 }) {
            var stripped = String.UnicodeScalarView()
            for s in BertUnicode.nfd(result).unicodeScalars where !BertUnicode.isNonspacingMark(s) {
                stripped.append(s)
            }
            result = String(stripped)
        }
        if lowercase { result = LowercaseNormalizer().normalize(result) }
        return result
    }
}

/// Splits at characters matching a predicate, each matching character being one delimiter, handled by `behavior`.
struct CharacterSplitter: Sendable {
    let isDelimiter: @Sendable (Unicode.Scalar) -> Bool
    let behavior: SplitBehavior

    func split(_ s: [Unicode.Scalar], into out: inout [[Unicode.Scalar]]) {
        var parts: [(Range<Int>, Bool)] = []
        var start = 0
        for (i, c) in s.enumerated() where isDelimiter(c) {
            if start < i { parts.append((start..<i, false)) }
            parts.append((i..<(i + 1), true))
            start = i + 1
        }
        if start < s.count { parts.append((start..<s.count, false)) }
        behavior.apply(parts, in: s, into: &out)
    }

    func preTokenize(_ pieces: [[Unicode.Scalar]]) -> [[Unicode.Scalar]] {
        var out: [[Unicode.Scalar]] = []
        out.reserveCapacity(pieces.count * 2)
        for piece in pieces { split(piece, into: &out) }
        return out
    }
}

/// `BertPreTokenizer`: splits on whitespace (removed) and isolates every punctuation character.
public struct BertPreTokenizer: PreTokenizer {
    static let whitespace = CharacterSplitter(isDelimiter: BertUnicode.isWhitespace, behavior: .removed)
    static let punctuation = CharacterSplitter(isDelimiter: BertUnicode.isPunctuation, behavior: .isolated)
    public init() {}
    public func preTokenize(_ pieces: [[Unicode.Scalar]]) -> [[Unicode.Scalar]] {
        Self.punctuation.preTokenize(Self.whitespace.preTokenize(pieces))
    }
}

/// `WhitespaceSplit`: splits on whitespace, which is removed.
public struct WhitespaceSplitPreTokenizer: PreTokenizer {
    public init() {}
    public func preTokenize(_ pieces: [[Unicode.Scalar]]) -> [[Unicode.Scalar]] {
        BertPreTokenizer.whitespace.preTokenize(pieces)
    }
}

/// `Punctuation`: every punctuation character is a delimiter, handled by `behavior` (default `Isolated`).
public struct PunctuationPreTokenizer: PreTokenizer {
    let splitter: CharacterSplitter
    public init(behavior: SplitBehavior = .isolated) {
        splitter = CharacterSplitter(isDelimiter: BertUnicode.isPunctuation, behavior: behavior)
    }
    public func preTokenize(_ pieces: [[Unicode.Scalar]]) -> [[Unicode.Scalar]] { splitter.preTokenize(pieces) }
}

/// `Digits`: numeric characters (general category N) split off, one by one with `individualDigits`, else as runs.
public struct DigitsPreTokenizer: PreTokenizer {
    let splitter: CharacterSplitter
    public init(individualDigits: Bool) {
        splitter = CharacterSplitter(isDelimiter: { s in
            switch s.properties.generalCategory {
            case .decimalNumber, .letterNumber, .otherNumber: return true
            default: return false
            }
        }, behavior: individualDigits ? .isolated : .contiguous)
    }
    public func preTokenize(_ pieces: [[Unicode.Scalar]]) -> [[Unicode.Scalar]] { splitter.preTokenize(pieces) }
}
