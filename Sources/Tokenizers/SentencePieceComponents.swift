import Foundation

/// `Metaspace` pre-tokenizer: spaces become `replacement` (`▁`), which is prepended to a piece not starting with
/// it (`prepend_scheme` "always"; "first" only at the start of the text; "never" leaves it), then, with `split`,
/// the piece is cut before each `▁`. Empty pieces stay empty (nothing is prepended to them).
public struct MetaspacePreTokenizer: PreTokenizer {
    public enum PrependScheme: String, Sendable {
        case always, first, never
    }

    public let replacement: Unicode.Scalar
    public let prependScheme: PrependScheme
    public let split: Bool
    let splitter: SplitPreTokenizer?

    init(replacement: Unicode.Scalar, prependScheme: PrependScheme, split: Bool) {
        self.replacement = replacement
        self.prependScheme = prependScheme
        self.split = split
        splitter = split ? (try? ReplaceNormalizer(literal: String(replacement), content: "")).map {
            SplitPreTokenizer(pattern: $0.pattern, behavior: .mergedWithNext, invert: false)
        } : nil
    }

    public func preTokenize(_ pieces: [[Unicode.Scalar]]) -> [[Unicode.Scalar]] {
        var out: [[Unicode.Scalar]] = []
        for piece in pieces where !piece.isEmpty {
            var p = piece.map { $0 == " " ? replacement : $0 }
            // "first" prepends only at the start of the original text: the pipeline passes each segment between
            // added tokens on its own, so that case is decided by `preTokenize(_:atTextStart:)`.
            if prependScheme == .always, p.first != replacement { p.insert(replacement, at: 0) }
            if let splitter { splitter.split(p, into: &out) } else if !p.isEmpty { out.append(p) }
        }
        return out
    }

    /// The pieces of one segment whose original text starts at offset 0 (`atTextStart`) or later.
    public func preTokenize(_ pieces: [[Unicode.Scalar]], atTextStart: Bool) -> [[Unicode.Scalar]] {
        guard prependScheme == .first, atTextStart else { return preTokenize(pieces) }
        var out: [[Unicode.Scalar]] = []
        for (i, piece) in pieces.enumerated() where !piece.isEmpty {
            var p = piece.map { $0 == " " ? replacement : $0 }
            if i == 0, p.first != replacement { p.insert(replacement, at: 0) }
            if let splitter { splitter.split(p, into: &out) } else if !p.isEmpty { out.append(p) }
        }
        return out
    }
}

extension ComponentParser {
    /// `Precompiled` normalizer: the base64 `precompiled_charsmap` (empty: no change).
    static func precompiled(_ obj: [String: Any], path: String) throws -> any Normalizer {
        guard let base64 = obj["precompiled_charsmap"] as? String else {
            if obj["precompiled_charsmap"] == nil || obj["precompiled_charsmap"] is NSNull {
                return NormalizerSequence([])
            }
            throw TokenizerError.invalidContent(path: path, reason: "Precompiled \"precompiled_charsmap\" must be base64 text")
        }
        if base64.isEmpty { return NormalizerSequence([]) }
        guard let data = Data(base64Encoded: base64) else {
            throw TokenizerError.invalidContent(path: path, reason: "Precompiled \"precompiled_charsmap\" is not valid base64")
        }
        return PrecompiledNormalizer(charsmap: try PrecompiledCharsmap([UInt8](data), path: path))
    }

    /// `Metaspace` pre-tokenizer (`replacement`, `prepend_scheme` or the older `add_prefix_space`, `split`).
    static func metaspace(_ obj: [String: Any], path: String) throws -> MetaspacePreTokenizer {
        let rep = string(obj, "replacement") ?? "\u{2581}"
        guard rep.unicodeScalars.count == 1, let replacement = rep.unicodeScalars.first else {
            throw TokenizerError.invalidContent(path: path, reason: "Metaspace \"replacement\" must be one character")
        }
        var scheme = MetaspacePreTokenizer.PrependScheme.always
        if let raw = string(obj, "prepend_scheme") {
            guard let s = MetaspacePreTokenizer.PrependScheme(rawValue: raw) else {
                throw TokenizerError.unsupported(path: path, reason: "Metaspace prepend_scheme \"\(raw)\"")
            }
            scheme = s
        }
        if (obj["add_prefix_space"] as? NSNumber)?.boolValue == false { scheme = .never }
        return MetaspacePreTokenizer(replacement: replacement, prependScheme: scheme,
                                     split: bool(obj, "split", default: true))
    }
}

extension UnigramModel {
    /// The `model` object of a `tokenizer.json` with `"type": "Unigram"`: `vocab` as `[[token, score], ...]`,
    /// `unk_id`, `byte_fallback`.
    /// - Throws: `TokenizerError.invalidContent` naming `path` for a malformed vocabulary or unk_id.
    init(json model: [String: Any], path: String) throws {
        guard let list = model["vocab"] as? [Any] else {
            throw TokenizerError.invalidContent(path: path, reason: "Unigram \"vocab\" must be a list of [token, score]")
        }
        var vocab: [(String, Double)] = []
        vocab.reserveCapacity(list.count)
        for (i, item) in list.enumerated() {
            guard let pair = item as? [Any], pair.count == 2, let token = pair[0] as? String,
                  let score = (pair[1] as? NSNumber)?.doubleValue else {
                throw TokenizerError.invalidContent(path: path, reason: "Unigram vocab entry \(i) is not [token, score]")
            }
            vocab.append((token, score))
        }
        var unk: Int32? = nil
        if let n = model["unk_id"] as? NSNumber {
            guard n.doubleValue >= 0, n.doubleValue < Double(vocab.count), n.doubleValue == n.doubleValue.rounded() else {
                throw TokenizerError.invalidContent(
                    path: path, reason: "Unigram unk_id \(n) is outside the \(vocab.count)-entry vocabulary")
            }
            unk = n.int32Value
        }
        try self.init(vocab: vocab, unknownTokenId: unk,
                      byteFallback: (model["byte_fallback"] as? NSNumber)?.boolValue ?? false, source: path)
    }
}
