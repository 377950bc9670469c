import Foundation

/// Unicode normalization forms as `tokenizers` 0.23 computes them. Its tables predate a few mappings Swift's have:
/// the characters in `keptWhole` (compatibility characters of Unicode 12-15 such as U+32FF SQUARE ERA NAME REIWA,
/// modifier letters, segmented digits, and U+11938, whose canonical decomposition came in Unicode 13) stay as they
/// are in every form, and U+11935 U+11930 is not composed into U+11938. Found by comparing every code point against
/// `tokenizers` (Tests/Fixtures/wordpiece/unicode.json).
enum TokenizersNormalization {
    static let keptWhole: [ClosedRange<UInt32>] = [
        0x32ff...0x32ff, 0xa7f2...0xa7f4, 0xab69...0xab69, 0x10781...0x10785, 0x10787...0x107b0, 0x107b2...0x107ba,
        0x11938...0x11938, 0x1e030...0x1e06d, 0x1f16c...0x1f16c, 0x1fbf0...0x1fbf9,
    ]

    @inline(__always)
    static func isKeptWhole(_ v: UInt32) -> Bool {
        v >= 0x32ff && BertUnicode.contains(keptWhole, v)
    }

    /// `form` applied as `tokenizers` applies it: the text is cut before and after each character `tokenizers`
    /// leaves whole, and before U+11930 after U+11935 (all have canonical combining class 0, so no reordering or
    /// composition crosses the cuts in `tokenizers` either); the pieces are normalized on their own.
    static func apply(_ text: String, _ form: (String) -> String) -> String {
        guard text.unicodeScalars.contains(where: { isKeptWhole($0.value) || $0.value == 0x11930 }) else {
            return form(text)
        }
        var out = ""
        var piece = String.UnicodeScalarView()
        var previous: UInt32 = 0
        for s in text.unicodeScalars {
            if isKeptWhole(s.value) {
                out += form(String(piece))
                out.unicodeScalars.append(s)
                piece = String.UnicodeScalarView()
            } else {
                if s.value == 0x11930 && previous == 0x11935 {
                    out += form(String(piece))
                    piece = String.UnicodeScalarView()
                }
                piece.append(s)
            }
            previous = s.value
        }
        return out + form(String(piece))
    }

    static func nfd(_ text: String) -> String { apply(text) { $0.decomposedStringWithCanonicalMapping } }
    static func nfc(_ text: String) -> String { apply(text) { $0.precomposedStringWithCanonicalMapping } }
    static func nfkd(_ text: String) -> String { apply(text) { $0.decomposedStringWithCompatibilityMapping } }
    static func nfkc(_ text: String) -> String { apply(text) { $0.precomposedStringWithCompatibilityMapping } }
}
