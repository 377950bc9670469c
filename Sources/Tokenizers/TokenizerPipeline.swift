import Foundation

/// The encoding pipeline of a `tokenizers` tokenizer: added-token extraction, normalizer, pre-tokenizer, model
/// and post-processor, in the order `tokenizers` runs them.
///
/// Added tokens whose `normalized` flag is false are found in the raw text first; each remaining segment is then
/// normalized on its own, searched for the normalized added tokens, pre-tokenized and passed word by word to the model.
public struct TokenizerPipeline<Model: TokenizerModel>: Sendable {
    public let normalizer: (any Normalizer)?
    public let preTokenizer: (any PreTokenizer)?
    public let model: Model
    public let postProcessor: any PostProcessor
    public let addedTokens: [AddedToken]
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher

    public init(normalizer: (any Normalizer)?, preTokenizer: (any PreTokenizer)?, model: Model,
                postProcessor: any PostProcessor, addedTokens: [AddedToken]) {
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.model = model
        self.postProcessor = postProcessor
        self.addedTokens = addedTokens
        rawMatcher = AddedTokenMatcher(addedTokens.filter { !$0.normalized }.map { ($0.content, $0) })
        normalizedMatcher = AddedTokenMatcher(addedTokens.filter { $0.normalized }.map {
            (normalizer?.normalize($0.content) ?? $0.content, $0)
        })
    }

    /// Ids of `text` without the post-processor's special tokens.
    public func encodeContent(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        for piece in rawMatcher.split(Array(text.unicodeScalars)) {
            switch piece {
            case .token(let id):
                ids.append(id)
            case .text(let raw):
                var segment = String(String.UnicodeScalarView(raw))
                var startsAtOrigin = raw.startIndex == 0
                if let normalizer { (segment, startsAtOrigin) = normalizer.normalize(segment, startsAtOrigin: startsAtOrigin) }
                for inner in normalizedMatcher.split(Array(segment.unicodeScalars)) {
                    switch inner {
                    case .token(let id):
                        ids.append(id)
                    case .text(let normalized):
                        // Whether this piece begins the original text (Metaspace's prepend_scheme "first").
                        let atTextStart = startsAtOrigin && normalized.startIndex == 0
                        let words = preTokenizer?.preTokenize([Array(normalized)], atTextStart: atTextStart)
                            ?? [Array(normalized)]
                        for word in words { ids += model.tokenize(word) }
                    }
                }
            }
        }
        return ids
    }

    /// Number of special tokens the post-processor adds to one sequence.
    public var specialTokenCount: Int { postProcessor.process([]).count }
}

// MARK: - Components declared in tokenizer.json

enum ComponentParser {
    static func string(_ obj: [String: Any], _ key: String) -> String? { obj[key] as? String }

    /// A token id as tokenizer.json gives one (`added_tokens` ids, post-processor ids): an integer from 0 to
    /// 2,147,483,646 (`tokenizers` reads them as u32; zeroshot's ids are Int32, and the text towers check them
    /// against `vocab_size`).
    /// - Throws: `TokenizerError.invalidContent` naming `path` and `what` otherwise.
    static func tokenId(_ value: Any?, path: String, what: String) throws -> Int32 {
        guard let n = value as? NSNumber, n.doubleValue >= 0, n.doubleValue < Double(Int32.max),
              n.doubleValue == n.doubleValue.rounded() else {
            throw TokenizerError.invalidContent(
                path: path, reason: "\(what) must be a token id, an integer from 0 to \(Int32.max - 1)")
        }
        return n.int32Value
    }

    static func bool(_ obj: [String: Any], _ key: String, default value: Bool) -> Bool {
        (obj[key] as? NSNumber)?.boolValue ?? value
    }

    static func pattern(_ obj: [String: Any], path: String) throws -> Pattern {
        guard let p = obj["pattern"] as? [String: Any] else {
            throw TokenizerError.invalidContent(path: path, reason: "pattern must be {\"Regex\": ...} or {\"String\": ...}")
        }
        do {
            if let regex = p["Regex"] as? String { return try Pattern(regex) }
            if let literal = p["String"] as? String {
                return try ReplaceNormalizer(literal: literal, content: "").pattern
            }
        } catch {
            throw TokenizerError.unsupported(path: path, reason: "pattern \(p): \(error.reason)")
        }
        throw TokenizerError.invalidContent(path: path, reason: "pattern must be {\"Regex\": ...} or {\"String\": ...}")
    }

    static func normalizer(_ json: Any?, path: String) throws -> (any Normalizer)? {
        guard let json, !(json is NSNull) else { return nil }
        guard let obj = json as? [String: Any], let type = obj["type"] as? String else {
            throw TokenizerError.invalidContent(path: path, reason: "normalizer without a \"type\"")
        }
        switch type {
        case "Sequence":
            guard let list = obj["normalizers"] as? [Any] else {
                throw TokenizerError.invalidContent(path: path, reason: "Sequence normalizer without \"normalizers\"")
            }
            return NormalizerSequence(try list.compactMap { try normalizer($0, path: path) })
        case "NFC": return NFCNormalizer()
        case "NFD": return NFDNormalizer()
        case "NFKC": return NFKCNormalizer()
        case "NFKD": return NFKDNormalizer()
        case "Lowercase": return LowercaseNormalizer()
        case "StripAccents": return StripAccentsNormalizer()
        case "Strip":
            return StripNormalizer(left: bool(obj, "strip_left", default: true), right: bool(obj, "strip_right", default: true))
        case "Prepend":
            return PrependNormalizer(prefix: string(obj, "prepend") ?? "")
        case "Precompiled":
            return try precompiled(obj, path: path)
        case "BertNormalizer":
            return BertNormalizer(cleanText: bool(obj, "clean_text", default: true),
                                  handleChineseChars: bool(obj, "handle_chinese_chars", default: true),
                                  stripAccents: (obj["strip_accents"] as? NSNumber)?.boolValue,
                                  lowercase: bool(obj, "lowercase", default: true))
        case "Replace":
            guard let content = string(obj, "content") else {
                throw TokenizerError.invalidContent(path: path, reason: "Replace normalizer without \"content\"")
            }
            let p = try pattern(obj, path: path)
            return ReplaceNormalizer(pattern: p, content: content)
        default:
            throw TokenizerError.unsupported(path: path, reason: "normalizer type \"\(type)\"")
        }
    }

    static func preTokenizer(_ json: Any?, path: String) throws -> (any PreTokenizer)? {
        guard let json, !(json is NSNull) else { return nil }
        guard let obj = json as? [String: Any], let type = obj["type"] as? String else {
            throw TokenizerError.invalidContent(path: path, reason: "pre_tokenizer without a \"type\"")
        }
        switch type {
        case "Sequence":
            guard let list = obj["pretokenizers"] as? [Any] else {
                throw TokenizerError.invalidContent(path: path, reason: "Sequence pre_tokenizer without \"pretokenizers\"")
            }
            return PreTokenizerSequence(try list.compactMap { try preTokenizer($0, path: path) })
        case "Split":
            let raw = string(obj, "behavior") ?? "Removed"
            guard let behavior = SplitBehavior(rawValue: raw) else {
                throw TokenizerError.unsupported(path: path, reason: "Split behavior \"\(raw)\"")
            }
            return SplitPreTokenizer(pattern: try pattern(obj, path: path), behavior: behavior,
                                     invert: bool(obj, "invert", default: false))
        case "Metaspace":
            return try metaspace(obj, path: path)
        case "BertPreTokenizer":
            return BertPreTokenizer()
        case "Whitespace":
            return SplitPreTokenizer(pattern: try! Pattern(#"\w+|[^\w\s]+"#), behavior: .removed, invert: true)
        case "WhitespaceSplit":
            return WhitespaceSplitPreTokenizer()
        case "Punctuation":
            let raw = string(obj, "behavior") ?? "Isolated"
            guard let behavior = SplitBehavior(rawValue: raw) else {
                throw TokenizerError.unsupported(path: path, reason: "Punctuation behavior \"\(raw)\"")
            }
            return PunctuationPreTokenizer(behavior: behavior)
        case "Digits":
            return DigitsPreTokenizer(individualDigits: bool(obj, "individual_digits", default: false))
        case "ByteLevel":
            return ByteLevelPreTokenizer(addPrefixSpace: bool(obj, "add_prefix_space", default: true),
                                         useRegex: bool(obj, "use_regex", default: true))
        default:
            throw TokenizerError.unsupported(path: path, reason: "pre_tokenizer type \"\(type)\"")
        }
    }

    static func postProcessor(_ json: Any?, path: String, tokenId: (String) -> Int32?) throws -> any PostProcessor {
        guard let json, !(json is NSNull) else { return IdentityPostProcessor() }
        guard let obj = json as? [String: Any], let type = obj["type"] as? String else {
            throw TokenizerError.invalidContent(path: path, reason: "post_processor without a \"type\"")
        }
        func pair(_ key: String) throws -> Int32 {
            guard let p = obj[key] as? [Any], p.count == 2, p[1] is NSNumber else {
                throw TokenizerError.invalidContent(path: path, reason: "\(type) \"\(key)\" must be [token, id]")
            }
            return try ComponentParser.tokenId(p[1], path: path, what: "\(type) \"\(key)\" id")
        }
        switch type {
        case "RobertaProcessing", "BertProcessing":
            return RobertaPostProcessor(clsTokenId: try pair("cls"), sepTokenId: try pair("sep"))
        case "ByteLevel":
            return IdentityPostProcessor()
        case "Sequence":
            guard let list = obj["processors"] as? [Any] else {
                throw TokenizerError.invalidContent(path: path, reason: "Sequence post_processor without \"processors\"")
            }
            return PostProcessorSequence(try list.map { try postProcessor($0, path: path, tokenId: tokenId) })
        case "TemplateProcessing":
            guard let single = obj["single"] as? [Any] else {
                throw TokenizerError.invalidContent(path: path, reason: "TemplateProcessing without \"single\"")
            }
            let specials = obj["special_tokens"] as? [String: Any] ?? [:]
            var items: [TemplatePostProcessor.Item] = []
            for entry in single {
                guard let e = entry as? [String: Any] else {
                    throw TokenizerError.invalidContent(path: path, reason: "TemplateProcessing item \(entry)")
                }
                if e["Sequence"] != nil {
                    items.append(.sequence)
                } else if let s = e["SpecialToken"] as? [String: Any], let name = s["id"] as? String {
                    if let spec = specials[name] as? [String: Any], let ids = spec["ids"] as? [NSNumber] {
                        items.append(.special(try ids.map {
                            try ComponentParser.tokenId($0, path: path, what: "TemplateProcessing special token \"\(name)\" id")
                        }))
                    } else if let id = tokenId(name) {
                        items.append(.special([id]))
                    } else {
                        throw TokenizerError.missingVocabularyEntry(path: path, token: name, reason: "TemplateProcessing special token")
                    }
                } else {
                    throw TokenizerError.invalidContent(path: path, reason: "TemplateProcessing item \(e)")
                }
            }
            return TemplatePostProcessor(items: items)
        default:
            throw TokenizerError.unsupported(path: path, reason: "post_processor type \"\(type)\"")
        }
    }
}

extension ReplaceNormalizer {
    init(pattern: Pattern, content: String) {
        self.pattern = pattern
        self.content = Array(content.unicodeScalars)
    }
}
