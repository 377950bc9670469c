import Foundation

/// A text normalizer, as the `normalizer` entry of `tokenizer.json` declares it.
public protocol Normalizer: Sendable {
    func normalize(_ text: String) -> String
    /// The normalized text and whether its first character still maps to the start of the original text, given
    /// whether the input's does (as `tokenizers`' alignments give `offsets_original().0 == 0`; what Metaspace's
    /// prepend_scheme "first" tests). Normalizers that never drop a leading character keep the flag.
    func normalize(_ text: String, startsAtOrigin: Bool) -> (String, Bool)
}

extension Normalizer {
    public func normalize(_ text: String, startsAtOrigin: Bool) -> (String, Bool) {
        (normalize(text), startsAtOrigin)
    }
}

/// Unicode canonical composition (`NFC`).
public struct NFCNormalizer: Normalizer {
    public init() {}
    public func normalize(_ text: String) -> String {
        text.unicodeScalars.allSatisfy { $0.value < 0x300 } ? text : TokenizersNormalization.nfc(text)
    }
}

/// Unicode canonical decomposition (`NFD`).
public struct NFDNormalizer: Normalizer {
    public init() {}
    public func normalize(_ text: String) -> String { TokenizersNormalization.nfd(text) }
}

/// Unicode compatibility composition (`NFKC`).
public struct NFKCNormalizer: Normalizer {
    public init() {}
    public func normalize(_ text: String) -> String { TokenizersNormalization.nfkc(text) }
}

/// Unicode compatibility decomposition (`NFKD`).
public struct NFKDNormalizer: Normalizer {
    public init() {}
    public func normalize(_ text: String) -> String { TokenizersNormalization.nfkd(text) }
}

/// Lowercases each Unicode scalar on its own with its full lowercase mapping (no context rules, as
/// Rust's `char::to_lowercase`, which `tokenizers` uses: `Σ` always becomes `σ`).
public struct LowercaseNormalizer: Normalizer {
    public init() {}
    public func normalize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if s.value < 0x80 {
                out.append((s.value >= 0x41 && s.value <= 0x5A) ? Unicode.Scalar(s.value + 32)! : s)
            } else if s.properties.changesWhenLowercased {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            } else {
                out.append(s)
            }
        }
        return String(out)
    }
}

/// Replaces every match of a literal string or of a regular expression by `content`.
public struct ReplaceNormalizer: Normalizer {
    let pattern: Pattern
    let content: [Unicode.Scalar]

    /// - Throws: `PatternError` when the expression uses syntax outside the supported subset.
    init(regex: String, content: String) throws(PatternError) {
        pattern = try Pattern(regex)
        self.content = Array(content.unicodeScalars)
    }

    init(literal: String, content: String) throws(PatternError) {
        var escaped = ""
        for s in literal.unicodeScalars {
            if s.properties.isAlphabetic || s.properties.numericType != nil || s == " " || s.value > 0x7F {
                escaped.unicodeScalars.append(s)
            } else {
                escaped += "\\" + String(s)
            }
        }
        try self.init(regex: escaped, content: content)
    }

    /// A match at the start removed, or replaced after more than one character, moves the first character off
    /// the start (`tokenizers` aligns a replacement with the match's last character).
    public func normalize(_ text: String, startsAtOrigin: Bool) -> (String, Bool) {
        let scalars = Array(text.unicodeScalars)
        var keeps = startsAtOrigin
        if let first = pattern.matches(in: scalars).first, first.lowerBound == 0, !first.isEmpty {
            keeps = startsAtOrigin && !content.isEmpty && first.count == 1
        }
        return (normalize(text), keeps)
    }

    public func normalize(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        let ranges = pattern.matches(in: scalars)
        if ranges.isEmpty { return text }
        var out = String.UnicodeScalarView()
        var pos = 0
        for r in ranges {
            out.append(contentsOf: scalars[pos..<r.lowerBound])
            out.append(contentsOf: content)
            pos = r.upperBound
        }
        out.append(contentsOf: scalars[pos...])
        return String(out)
    }
}

/// Removes leading and/or trailing whitespace (Unicode White_Space).
public struct StripNormalizer: Normalizer {
    let left: Bool
    let right: Bool
    public init(left: Bool, right: Bool) {
        self.left = left
        self.right = right
    }
    public func normalize(_ text: String, startsAtOrigin: Bool) -> (String, Bool) {
        let out = normalize(text)
        let removedLeading = left && text.unicodeScalars.first.map { $0.properties.isWhitespace } == true
        return (out, startsAtOrigin && !removedLeading)
    }

    public func normalize(_ text: String) -> String {
        var s = Substring(text).unicodeScalars
        if left { while let f = s.first, f.properties.isWhitespace { s.removeFirst() } }
        if right { while let l = s.last, l.properties.isWhitespace { s.removeLast() } }
        return String(s)
    }
}

/// Removes combining marks (general category Mn), as `StripAccents`; meant to follow NFD or NFKD.
public struct StripAccentsNormalizer: Normalizer {
    public init() {}
    public func normalize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars where s.properties.generalCategory != .nonspacingMark { out.append(s) }
        return String(out)
    }
}

/// Prepends a fixed string to non-empty text.
public struct PrependNormalizer: Normalizer {
    let prefix: String
    public func normalize(_ text: String) -> String { text.isEmpty ? text : prefix + text }
    /// Prepended characters align with the start of the text.
    public func normalize(_ text: String, startsAtOrigin: Bool) -> (String, Bool) {
        text.isEmpty ? (text, startsAtOrigin) : (prefix + text, prefix.isEmpty ? startsAtOrigin : true)
    }
}

/// Applies normalizers in order.
public struct NormalizerSequence: Normalizer {
    public let normalizers: [any Normalizer]
    public init(_ normalizers: [any Normalizer]) { self.normalizers = normalizers }
    public func normalize(_ text: String) -> String {
        normalizers.reduce(text) { $1.normalize($0) }
    }
    public func normalize(_ text: String, startsAtOrigin: Bool) -> (String, Bool) {
        normalizers.reduce((text, startsAtOrigin)) { $1.normalize($0.0, startsAtOrigin: $0.1) }
    }
}
