import Foundation

/// SentencePiece's compiled normalization rules (`precompiled_charsmap`): a little-endian `u32` trie size, a Darts
/// (darts-clone) double-array trie over UTF-8 byte strings, then the NUL-terminated replacement strings the trie's
/// values point into.
public struct PrecompiledCharsmap: Sendable {
    let units: [UInt32]
    let replacements: [UInt8]

    /// - Throws: `TokenizerError.invalidContent` naming `path` when the blob is too short or its trie size runs past
    ///   its end (the checks of sentencepiece's `DecodePrecompiledCharsMap`).
    public init(_ blob: [UInt8], path: String) throws {
        guard blob.count > 4 else {
            throw TokenizerError.invalidContent(path: path, reason: "precompiled_charsmap is broken (\(blob.count) bytes)")
        }
        let trieSize = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        guard trieSize < blob.count, trieSize % 4 == 0, 4 + trieSize <= blob.count else {
            throw TokenizerError.invalidContent(
                path: path, reason: "precompiled_charsmap trie size \(trieSize) exceeds the \(blob.count)-byte blob")
        }
        var units = [UInt32](repeating: 0, count: trieSize / 4)
        for i in 0..<units.count {
            let o = 4 + 4 * i
            units[i] = UInt32(blob[o]) | UInt32(blob[o + 1]) << 8 | UInt32(blob[o + 2]) << 16 | UInt32(blob[o + 3]) << 24
        }
        self.units = units
        replacements = Array(blob[(4 + trieSize)...])
    }

    /// Darts `commonPrefixSearch`: (prefix length in bytes, value) of every rule whose key is a prefix of
    /// `key[start...]`, shortest first.
    func commonPrefixSearch(_ key: UnsafeBufferPointer<UInt8>, from start: Int, _ body: (Int, Int) -> Void) {
        guard !units.isEmpty else { return }
        var id = 0
        var unit = units[0]
        id ^= Self.offset(unit)
        var i = start
        while i < key.count {
            let c = key[i]
            if c == 0 { return }
            id ^= Int(c)
            guard id < units.count else { return }
            unit = units[id]
            if unit & ((1 << 31) | 0xFF) != UInt32(c) { return }
            id ^= Self.offset(unit)
            guard id < units.count else { return }
            if (unit >> 8) & 1 == 1 {
                body(i + 1 - start, Int(units[id] & ((1 << 31) - 1)))
            }
            i += 1
        }
    }

    private static func offset(_ unit: UInt32) -> Int {
        Int((unit >> 10) << ((unit & (1 << 9)) >> 6))
    }

    /// The replacement string stored at `index` (up to the next NUL), as UTF-8 bytes.
    func replacement(at index: Int) -> ArraySlice<UInt8> {
        guard index < replacements.count else { return [] }
        var end = index
        while end < replacements.count, replacements[end] != 0 { end += 1 }
        return replacements[index..<end]
    }

    /// The longest rule matching at `start` (sentencepiece's `NormalizePrefix`): (bytes consumed, replacement).
    func longestMatch(_ key: UnsafeBufferPointer<UInt8>, from start: Int) -> (Int, ArraySlice<UInt8>)? {
        var best: (Int, Int)? = nil
        commonPrefixSearch(key, from: start) { length, value in
            if best == nil || length > best!.0 { best = (length, value) }
        }
        guard let best else { return nil }
        return (best.0, replacement(at: best.1))
    }

    /// The shortest rule matching a prefix of `chunk`, as `tokenizers`' `Precompiled::transform` takes it.
    func firstMatch(_ chunk: [UInt8]) -> ArraySlice<UInt8>? {
        var found: Int? = nil
        chunk.withUnsafeBufferPointer { buffer in
            commonPrefixSearch(buffer, from: 0) { _, value in
                if found == nil { found = value }
            }
        }
        return found.map { replacement(at: $0) }
    }
}

/// `Precompiled` normalizer of `tokenizer.json`, as `tokenizers` applies it: each grapheme cluster shorter than 6
/// UTF-8 bytes is replaced whole when a rule matches a prefix of it (the shortest rule); otherwise each of its
/// characters is replaced on its own when a rule matches it, or kept.
public struct PrecompiledNormalizer: Normalizer {
    public let charsmap: PrecompiledCharsmap

    public init(charsmap: PrecompiledCharsmap) { self.charsmap = charsmap }

    public func normalize(_ text: String) -> String {
        if charsmap.units.isEmpty { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for grapheme in text {
            let bytes = Array(grapheme.utf8)
            if bytes.count < 6, let norm = charsmap.firstMatch(bytes) {
                out += norm
                continue
            }
            for scalar in grapheme.unicodeScalars {
                let part = Array(String(scalar).utf8)
                if let norm = charsmap.firstMatch(part) { out += norm } else { out += part }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// SentencePiece's own normalizer (`normalizer_spec` of a model file), as `SentencePieceProcessor` runs it before
/// the model: the longest charsmap rule at each position (user-defined pieces are kept as they are), leading,
/// trailing and repeated spaces dropped (`remove_extra_whitespaces`), `▁` prepended (`add_dummy_prefix`; appended
/// with `treat_whitespace_as_suffix`) and spaces written as `▁` (`escape_whitespaces`).
struct SentencePieceNormalizer: Sendable {
    let charsmap: PrecompiledCharsmap?
    let addDummyPrefix: Bool
    let removeExtraWhitespaces: Bool
    let escapeWhitespaces: Bool
    let treatWhitespaceAsSuffix: Bool
    /// User-defined pieces as UTF-8, matched before the rules and never normalized.
    let userDefined: [[UInt8]]

    static let space: [UInt8] = [0xE2, 0x96, 0x81]  // U+2581

    init(model: SentencePieceModel, path: String) throws {
        charsmap = model.precompiledCharsmap.isEmpty ? nil : try PrecompiledCharsmap(model.precompiledCharsmap, path: path)
        addDummyPrefix = model.addDummyPrefix
        removeExtraWhitespaces = model.removeExtraWhitespaces
        escapeWhitespaces = model.escapeWhitespaces
        treatWhitespaceAsSuffix = model.treatWhitespaceAsSuffix
        userDefined = model.pieces.filter { $0.type == .userDefined }.map { Array($0.piece.utf8) }
    }

    /// The normalized text as UTF-8 bytes.
    func normalize(_ text: String) -> [UInt8] {
        let input = Array(text.utf8)
        if input.isEmpty { return [] }
        return input.withUnsafeBufferPointer { key -> [UInt8] in
            // (replacement, consumed) at `pos`, as `NormalizePrefix`.
            func prefix(_ pos: Int) -> (ArraySlice<UInt8>, Int) {
                var longestUser = 0
                for u in userDefined where u.count > longestUser && u.count <= key.count - pos {
                    var same = true
                    for (k, b) in u.enumerated() where key[pos + k] != b {
                        same = false
                        break
                    }
                    if same { longestUser = u.count }
                }
                if longestUser > 0 { return (ArraySlice(key[pos..<(pos + longestUser)]), longestUser) }
                if let charsmap, let (length, norm) = charsmap.longestMatch(key, from: pos) { return (norm, length) }
                let length = min(key.count - pos, Self.utf8Length(key[pos]))
                return (ArraySlice(key[pos..<(pos + length)]), length)
            }

            var pos = 0
            if removeExtraWhitespaces {
                while pos < key.count {
                    let (norm, consumed) = prefix(pos)
                    if !(norm.count == 1 && norm.first == 0x20) { break }
                    pos += consumed
                }
            }
            if pos >= key.count { return [] }
            var out: [UInt8] = []
            out.reserveCapacity(key.count * 3)
            func addSpace() { if escapeWhitespaces { out += Self.space } else { out.append(0x20) } }
            if !treatWhitespaceAsSuffix && addDummyPrefix { addSpace() }
            var isPrevSpace = removeExtraWhitespaces
            while pos < key.count {
                var (sp, consumed) = prefix(pos)
                if isPrevSpace { while sp.first == 0x20 { sp = sp.dropFirst() } }
                if !sp.isEmpty {
                    for b in sp {
                        if escapeWhitespaces && b == 0x20 { out += Self.space } else { out.append(b) }
                    }
                    isPrevSpace = sp.last == 0x20
                }
                pos += consumed
                if !removeExtraWhitespaces { isPrevSpace = false }
            }
            if removeExtraWhitespaces {
                let space: [UInt8] = escapeWhitespaces ? Self.space : [0x20]
                while out.count >= space.count, Array(out[(out.count - space.count)...]) == space {
                    out.removeLast(space.count)
                }
            }
            if treatWhitespaceAsSuffix && addDummyPrefix { addSpace() }
            return out
        }
    }

    /// sentencepiece's `PrefixMatcher::PrefixMatch` on normalized text: the longest user-defined piece at `pos`
    /// (frozen: never merged), else one character.
    func userDefinedMatch(_ text: [UInt8], at pos: Int) -> (length: Int, frozen: Bool) {
        var longest = 0
        for u in userDefined where u.count > longest && u.count <= text.count - pos
            && text[pos..<(pos + u.count)].elementsEqual(u) {
            longest = u.count
        }
        if longest > 0 { return (longest, true) }
        return (min(text.count - pos, Self.utf8Length(text[pos])), false)
    }

    /// Length of the UTF-8 sequence a lead byte starts (1 for stray continuation bytes).
    static func utf8Length(_ b: UInt8) -> Int {
        switch b {
        case 0..<0xC0: return 1
        case 0xC0..<0xE0: return 2
        case 0xE0..<0xF0: return 3
        default: return 4
        }
    }
}
