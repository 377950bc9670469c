/// Splits a normalized text segment into words, as the `pre_tokenizer` entry of `tokenizer.json` declares it.
/// Works on Unicode scalars (Rust `char`s), never on grapheme clusters.
public protocol PreTokenizer: Sendable {
    func preTokenize(_ pieces: [[Unicode.Scalar]]) -> [[Unicode.Scalar]]
    /// The same, told whether the first piece begins the original text (what Metaspace's prepend_scheme "first"
    /// depends on); the other pre-tokenizers ignore it.
    func preTokenize(_ pieces: [[Unicode.Scalar]], atTextStart: Bool) -> [[Unicode.Scalar]]
}

extension PreTokenizer {
    public func preTokenize(_ pieces: [[Unicode.Scalar]], atTextStart: Bool) -> [[Unicode.Scalar]] {
        preTokenize(pieces)
    }
}

/// What `Split` does with the pieces its pattern delimits (the `behavior` field).
public enum SplitBehavior: String, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"
}

/// `Split`: the pattern's matches are delimiters (or, with `invert`, the kept words and the gaps the delimiters);
/// the delimiters are handled by `behavior`. Empty pieces are dropped.
public struct SplitPreTokenizer: PreTokenizer {
    let pattern: Pattern
    let behavior: SplitBehavior
    let invert: Bool

    init(pattern: Pattern, behavior: SplitBehavior, invert: Bool) {
        self.pattern = pattern
        self.behavior = behavior
        self.invert = invert
    }

    public func preTokenize(_ pieces: [[Unicode.Scalar]]) -> [[Unicode.Scalar]] {
        var out: [[Unicode.Scalar]] = []
        out.reserveCapacity(pieces.count * 4)
        for piece in pieces { split(piece, into: &out) }
        return out
    }

    func split(_ s: [Unicode.Scalar], into out: inout [[Unicode.Scalar]]) {
        // (range, isDelimiter) covering the whole input.
        var parts: [(Range<Int>, Bool)] = []
        var pos = 0
        for m in pattern.matches(in: s) {
            if m.lowerBound > pos { parts.append((pos..<m.lowerBound, invert)) }
            if !m.isEmpty { parts.append((m, !invert)) }
            pos = m.upperBound
        }
        if pos < s.count { parts.append((pos..<s.count, invert)) }

        behavior.apply(parts, in: s, into: &out)
    }
}

extension SplitBehavior {
    /// Emits the pieces of `s` that `parts` (ranges covering `s` in order, each flagged as a delimiter or not)
    /// give under this behaviour. Empty pieces are dropped.
    func apply(_ parts: [(Range<Int>, Bool)], in s: [Unicode.Scalar], into out: inout [[Unicode.Scalar]]) {
        switch self {
        case .removed:
            for (r, delim) in parts where !delim && !r.isEmpty { out.append(Array(s[r])) }
        case .isolated:
            for (r, _) in parts where !r.isEmpty { out.append(Array(s[r])) }
        case .contiguous:
            var merged: [(Range<Int>, Bool)] = []
            for p in parts {
                if let last = merged.last, last.1 == p.1 {
                    merged[merged.count - 1].0 = last.0.lowerBound..<p.0.upperBound
                } else {
                    merged.append(p)
                }
            }
            for (r, _) in merged where !r.isEmpty { out.append(Array(s[r])) }
        case .mergedWithPrevious:
            // As tokenizers: a delimiter joins the piece before it unless that piece is a delimiter too.
            var ranges: [Range<Int>] = []
            var previousDelim = false
            for (r, delim) in parts {
                if delim, !previousDelim, let last = ranges.last {
                    ranges[ranges.count - 1] = last.lowerBound..<r.upperBound
                } else {
                    ranges.append(r)
                }
                previousDelim = delim
            }
            for r in ranges where !r.isEmpty { out.append(Array(s[r])) }
        case .mergedWithNext:
            // The mirror image: a delimiter joins the piece after it unless that piece is a delimiter too.
            var ranges: [Range<Int>] = []
            var nextDelim = false
            for (r, delim) in parts.reversed() {
                if delim, !nextDelim, let last = ranges.last {
                    ranges[ranges.count - 1] = r.lowerBound..<last.upperBound
                } else {
                    ranges.append(r)
                }
                nextDelim = delim
            }
            for r in ranges.reversed() where !r.isEmpty { out.append(Array(s[r])) }
        }
    }
}

/// `ByteLevel`: optionally splits with GPT-2's pattern (`use_regex`), optionally adds a leading space
/// (`add_prefix_space`), then maps every UTF-8 byte to GPT-2's printable stand-in character.
public struct ByteLevelPreTokenizer: PreTokenizer {
    /// GPT-2's pre-tokenization pattern, as `tokenizers`' ByteLevel applies it.
    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    let addPrefixSpace: Bool
    let splitter: SplitPreTokenizer?

    init(addPrefixSpace: Bool, useRegex: Bool) {
        self.addPrefixSpace = addPrefixSpace
        // The constant pattern is within the supported syntax.
        splitter = useRegex ? (try? Pattern(Self.gpt2Pattern)).map {
            SplitPreTokenizer(pattern: $0, behavior: .isolated, invert: false)
        } : nil
    }

    public func preTokenize(_ pieces: [[Unicode.Scalar]]) -> [[Unicode.Scalar]] {
        var result: [[Unicode.Scalar]] = []
        result.reserveCapacity(pieces.count)
        for var piece in pieces {
            if addPrefixSpace, piece.first != " " { piece.insert(" ", at: 0) }
            var words: [[Unicode.Scalar]] = []
            if let splitter { splitter.split(piece, into: &words) } else { words = [piece] }
            for w in words { result.append(ByteLevelPreTokenizer.map(w)) }
        }
        return result
    }

    /// GPT-2's reversible byte -> printable character table: printable Latin-1 bytes map to themselves, the other
    /// 68 bytes to U+0100 onwards in byte order.
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var n: UInt32 = 0
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(256 + n)!
                n += 1
            }
        }
        return table
    }()

    static func map(_ word: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(word.count)
        for s in word {
            for b in String(s).utf8 { out.append(byteToScalar[Int(b)]) }
        }
        return out
    }
}

/// Applies pre-tokenizers in order.
public struct PreTokenizerSequence: PreTokenizer {
    public let preTokenizers: [any PreTokenizer]
    public init(_ preTokenizers: [any PreTokenizer]) { self.preTokenizers = preTokenizers }
    public func preTokenize(_ pieces: [[Unicode.Scalar]]) -> [[Unicode.Scalar]] {
        preTokenizers.reduce(pieces) { $1.preTokenize($0) }
    }
    public func preTokenize(_ pieces: [[Unicode.Scalar]], atTextStart: Bool) -> [[Unicode.Scalar]] {
        preTokenizers.reduce(pieces) { $1.preTokenize($0, atTextStart: atTextStart) }
    }
}
