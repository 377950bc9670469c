/// Character classes with the meaning Oniguruma gives them in the Unicode patterns of `tokenizers`.
enum UnicodeClass {
    /// `\p{L}`: general category Lu, Ll, Lt, Lm or Lo.
    @inline(__always)
    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 {
            let v = s.value | 0x20
            return v >= 0x61 && v <= 0x7A
        }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return !isNewerThanPatternTables(s.value, lettersAddedLater)
        default: return false
        }
    }

    /// `\p{N}`: general category Nd, Nl or No.
    @inline(__always)
    static func isNumber(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 { return s.value >= 0x30 && s.value <= 0x39 }
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber:
            return !isNewerThanPatternTables(s.value, numbersAddedLater)
        default: return false
        }
    }

    /// `\s` in Oniguruma's Unicode mode: the White_Space property (U+0009-U+000D, U+0020, U+0085, U+00A0, U+1680,
    /// U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000).
    @inline(__always)
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `\w`: Oniguruma's Unicode word class: Alphabetic, marks (Mn, Mc, Me), decimal digits (Nd), connector
    /// punctuation (Pc) and Join_Control (ZWNJ, ZWJ); not other numbers (No, Nl) unless alphabetic.
    static func isWord(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 {
            let v = s.value | 0x20
            return (v >= 0x61 && v <= 0x7A) || (s.value >= 0x30 && s.value <= 0x39) || s.value == 0x5F
        }
        let p = s.properties
        let word: Bool
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
            word = true
        default:
            word = p.isAlphabetic || p.isJoinControl
        }
        return word && !isNewerThanPatternTables(s.value, wordCharactersAddedLater)
    }

    /// Letters, numbers and word characters that Swift's Unicode tables know but the Oniguruma tables inside
    /// `tokenizers` 0.23 do not (characters assigned in Unicode 16/17): there they are unassigned, so `\p{L}` /
    /// `\p{N}` / `\w` do not match them. Found by comparing every code point against `tokenizers`.
    static let lettersAddedLater: [ClosedRange<UInt32>] = [
        0x88f...0x88f, 0xc5c...0xc5c, 0xcdc...0xcdc, 0xa7ce...0xa7cf,
        0xa7d2...0xa7d2, 0xa7d4...0xa7d4, 0xa7f1...0xa7f1, 0x10940...0x10959,
        0x10ec5...0x10ec7, 0x11db0...0x11ddb, 0x16ea0...0x16eb8, 0x16ebb...0x16ed3,
        0x16ff2...0x16ff3, 0x187f8...0x187ff, 0x18d09...0x18d1e, 0x18d80...0x18df2,
        0x1e6c0...0x1e6de, 0x1e6e0...0x1e6e2, 0x1e6e4...0x1e6e5, 0x1e6e7...0x1e6ed,
        0x1e6f0...0x1e6f4, 0x1e6fe...0x1e6ff, 0x2b73a...0x2b73f, 0x2cea2...0x2cead,
        0x323b0...0x33479,
    ]
    static let numbersAddedLater: [ClosedRange<UInt32>] = [0x11de0...0x11de9, 0x16ff4...0x16ff6]
    static let wordCharactersAddedLater: [ClosedRange<UInt32>] = [
        0x88f...0x88f, 0xc5c...0xc5c, 0xcdc...0xcdc, 0x1acf...0x1add, 0x1ae0...0x1aeb, 0xa7ce...0xa7cf,
        0xa7d2...0xa7d2, 0xa7d4...0xa7d4, 0xa7f1...0xa7f1, 0x10940...0x10959, 0x10ec5...0x10ec7, 0x10efa...0x10efb,
        0x11b60...0x11b67, 0x11db0...0x11ddb, 0x11de0...0x11de9, 0x16ea0...0x16eb8, 0x16ebb...0x16ed3,
        0x16ff2...0x16ff6, 0x187f8...0x187ff, 0x18d09...0x18d1e, 0x18d80...0x18df2, 0x1e6c0...0x1e6de,
        0x1e6e0...0x1e6f5, 0x1e6fe...0x1e6ff, 0x2b73a...0x2b73f, 0x2cea2...0x2cead, 0x323b0...0x33479,
    ]

    @inline(__always)
    static func isNewerThanPatternTables(_ v: UInt32, _ table: [ClosedRange<UInt32>]) -> Bool {
        guard v >= 0x88F else { return false }
        for r in table where r.contains(v) { return true }
        return false
    }
}
