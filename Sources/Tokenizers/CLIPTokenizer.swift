import FileReading
import Foundation

/// Token ids of one text with the tokenizer's special tokens (CLIP: `[<|startoftext|>, ..., <|endoftext|>]`), at most
/// the requested maximum length long.
public struct Encoding: Sendable, Equatable {
    /// input_ids, `[length]`, special tokens included (CLIP: bos first and eos last).
    public let ids: [Int32]
    /// `true` when the text gave more tokens than the maximum length and was cut (the special tokens are kept).
    public let wasTruncated: Bool

    public init(ids: [Int32], wasTruncated: Bool) {
        self.ids = ids
        self.wasTruncated = wasTruncated
    }
}

/// CLIP's byte-level BPE tokenizer, giving the input_ids of transformers' `CLIPTokenizer` (tokenizers backend).
///
/// Loads either `tokenizer.json` or, when it is absent, `vocab.json` + `merges.txt`; `tokenizer_config.json` and
/// `special_tokens_map.json` are read when present for the bos/eos/unk/pad tokens, the added-token flags and
/// `model_max_length`. As transformers' `CLIPTokenizer` does, the pipeline is CLIP's whatever `tokenizer.json`
/// declares: NFC, whitespace runs to one space, lowercase; added tokens; the split pattern
/// `<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+` (whitespace dropped);
/// GPT-2 byte-level mapping; BPE with the `</w>` end-of-word marker; then `bos ... eos`.
public struct CLIPTokenizer: Sendable {
    /// Longest encoding in tokens, special tokens included; longer texts are truncated keeping the end token.
    /// Default 77 (CLIP's context length), or `model_max_length` from tokenizer_config.json when smaller.
    public var maxLength: Int
    public let bosTokenId: Int32
    public let eosTokenId: Int32
    public let padTokenId: Int32?
    /// `model_max_length` of tokenizer_config.json when it is a real limit (nil when absent or the 1e30 sentinel).
    public let modelMaxLength: Int?
    /// `model_input_names` of tokenizer_config.json, else `["input_ids", "attention_mask"]` (CLIPTokenizer's).
    public let modelInputNames: [String]
    /// The encoding pipeline (normalizer, pre-tokenizer, BPE model, post-processor, added tokens).
    public let pipeline: TokenizerPipeline<BPEModel>

    /// CLIP's context length, the default `maxLength`.
    public static let defaultMaxLength = 77

    /// CLIP's pre-tokenization pattern as transformers' `CLIPTokenizer` builds it.
    static let splitPattern =
        #"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"#

    /// Loads a tokenizer directory in Hugging Face layout.
    ///
    /// - Throws: `TokenizerError` naming the file and the reason: missing directory; neither `tokenizer.json` nor
    ///   both `vocab.json` and `merges.txt`; unreadable or malformed JSON; a bad merges line; a merge, unknown token
    ///   or special token missing from the vocabulary.
    public init(directory: URL) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw TokenizerError.missingDirectory(path: directory.path)
        }
        let tokenizerJSONURL = directory.appendingPathComponent("tokenizer.json")
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        let specialMapURL = directory.appendingPathComponent("special_tokens_map.json")

        var vocab: [String: Int32]
        var merges: [(String, String)]
        var fileAddedTokens: [[String: Any]] = []
        let modelSource: String
        if fm.fileExists(atPath: tokenizerJSONURL.path) {
            modelSource = tokenizerJSONURL.path
            let root = try CLIPTokenizer.readJSONObject(tokenizerJSONURL)
            guard let model = root["model"] as? [String: Any] else {
                throw TokenizerError.invalidContent(path: modelSource, reason: "no \"model\" object")
            }
            if let type = model["type"] as? String, type != "BPE" {
                throw TokenizerError.unsupported(path: modelSource, reason: "model type \"\(type)\" (CLIP uses BPE)")
            }
            vocab = try CLIPTokenizer.parseVocab(model["vocab"], path: modelSource)
            merges = try CLIPTokenizer.parseMerges(model["merges"], path: modelSource)
            if let added = root["added_tokens"] {
                guard let list = added as? [[String: Any]] else {
                    throw TokenizerError.invalidContent(path: modelSource, reason: "\"added_tokens\" must be a list of objects")
                }
                fileAddedTokens = list
            }
        } else {
            let vocabURL = directory.appendingPathComponent("vocab.json")
            let mergesURL = directory.appendingPathComponent("merges.txt")
            for url in [vocabURL, mergesURL] where !fm.fileExists(atPath: url.path) {
                throw TokenizerError.missingFile(
                    path: url.path, reason: "tokenizer.json is absent, so vocab.json and merges.txt are both required")
            }
            modelSource = vocabURL.path
            let vocabJSON = try CLIPTokenizer.readJSON(vocabURL)
            vocab = try CLIPTokenizer.parseVocab(vocabJSON, path: vocabURL.path)
            merges = try CLIPTokenizer.readMergesText(mergesURL)
        }

        let config = fm.fileExists(atPath: configURL.path) ? try CLIPTokenizer.readJSONObject(configURL) : [:]
        let specialMap = fm.fileExists(atPath: specialMapURL.path) ? try CLIPTokenizer.readJSONObject(specialMapURL) : [:]

        // Added tokens and their flags, resolved as transformers' from_pretrained does.
        let resolved = try SpecialTokenResolver(config: config, configPath: configURL.path, specialMap: specialMap,
                                                specialMapPath: specialMapURL.path, fileAddedTokens: fileAddedTokens,
                                                fileAddedTokensPath: tokenizerJSONURL.path)
        let addedTokens = try resolved.addedTokens(firstNewId: Int(vocab.values.max() ?? -1) + 1,
                                                   vocabularyId: { vocab[$0] }, source: modelSource)
        var addedByContent: [String: AddedToken] = [:]
        for t in addedTokens { addedByContent[t.content] = t }
        func tokenId(_ content: String, role: String) throws -> Int32 {
            if let t = addedByContent[content] { return t.id }
            if let v = vocab[content] { return v }
            throw TokenizerError.missingVocabularyEntry(path: modelSource, token: content, reason: role)
        }
        bosTokenId = try tokenId(resolved.bos, role: "bos_token")
        eosTokenId = try tokenId(resolved.eos, role: "eos_token")
        padTokenId = try tokenId(resolved.pad, role: "pad_token")
        if vocab[resolved.unk] == nil {
            throw TokenizerError.missingVocabularyEntry(path: modelSource, token: resolved.unk, reason: "unk_token")
        }

        let model = try BPEModel(vocab: vocab, merges: merges, unknownToken: resolved.unk, endOfWordSuffix: "</w>",
                                 continuingSubwordPrefix: "", fuseUnknown: false, source: modelSource)
        let normalizer = NormalizerSequence([
            NFCNormalizer(),
            ReplaceNormalizer(pattern: try! Pattern(#"\s+"#), content: " "),
            LowercaseNormalizer(),
        ])
        let preTokenizer = PreTokenizerSequence([
            SplitPreTokenizer(pattern: try! Pattern(CLIPTokenizer.splitPattern), behavior: .removed, invert: true),
            ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: true),
        ])
        pipeline = TokenizerPipeline(normalizer: normalizer, preTokenizer: preTokenizer, model: model,
                                     postProcessor: RobertaPostProcessor(clsTokenId: bosTokenId, sepTokenId: eosTokenId),
                                     addedTokens: addedTokens)

        modelMaxLength = try TokenizerConfig.modelMaxLength(config, path: configURL.path)
        modelInputNames = try TokenizerConfig.modelInputNames(config, path: configURL.path,
                                                              default: ["input_ids", "attention_mask"])
        maxLength = CLIPTokenizer.defaultMaxLength
        if let mml = (config["model_max_length"] as? NSNumber)?.doubleValue, mml >= 2, mml < Double(maxLength) {
            maxLength = Int(mml)
        }
    }

    /// Encodes one text: `[bos, ..., eos]`. A text longer than `maxLength` tokens is cut to `maxLength`, keeping
    /// the end token last, and `wasTruncated` is set.
    public func encode(_ text: String) -> Encoding {
        var content = pipeline.encodeContent(text)
        let specials = pipeline.specialTokenCount
        var truncated = false
        if content.count + specials > maxLength {
            content = Array(content.prefix(max(0, maxLength - specials)))
            truncated = true
        }
        return Encoding(ids: pipeline.postProcessor.process(content), wasTruncated: truncated)
    }

    /// Encodes several texts and right-pads them to the longest with `padTokenId`.
    /// - Returns: input_ids and attention_mask, both `[texts.count, longest]`; the mask is 1 on tokens, 0 on padding.
    public func encodeBatch(_ texts: [String]) -> (inputIds: [[Int32]], attentionMask: [[Int32]]) {
        let encodings = texts.map { encode($0).ids }
        let longest = encodings.map(\.count).max() ?? 0
        let pad = padTokenId ?? eosTokenId
        let ids = encodings.map { $0 + Array(repeating: pad, count: longest - $0.count) }
        let mask = encodings.map {
            Array(repeating: Int32(1), count: $0.count) + Array(repeating: Int32(0), count: longest - $0.count)
        }
        return (ids, mask)
    }

    // MARK: - File reading

    /// The largest `url` read: a vocabulary (`tokenizer.json`, `vocab.json`) up to
    /// `FileContents.maxTokenizerFileBytes`, a configuration (`tokenizer_config.json`, `special_tokens_map.json`,
    /// `config.json`) up to `FileContents.maxConfigBytes`.
    static func maxBytes(_ url: URL) -> Int {
        ["tokenizer.json", "vocab.json"].contains(url.lastPathComponent)
            ? FileContents.maxTokenizerFileBytes : FileContents.maxConfigBytes
    }

    /// - Throws: `TokenizerError.unreadableFile` (unreadable, over `maxBytes(url)`, not JSON).
    static func readJSON(_ url: URL) throws -> Any {
        let data: Data
        do {
            data = try FileContents.read(url, maxBytes: maxBytes(url))
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        do {
            return try JSONSerialization.jsonObject(with: escapingByteOrderMarks(data),
                                                    options: [.fragmentsAllowed])
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: "not valid JSON")
        }
    }

    /// JSONSerialization (swift-corelibs-foundation) drops a U+FEFF written as raw UTF-8 at the start of a string
    /// or right after an escape sequence, and a vocabulary token may hold one: every raw U+FEFF but a byte order
    /// mark opening the file is rewritten as the escape `\ufeff`, which it keeps. In valid JSON such a U+FEFF can
    /// only be inside a string, where both mean the same.
    static func escapingByteOrderMarks(_ data: Data) -> Data {
        let mark = Data([0xEF, 0xBB, 0xBF])
        let body = data.starts(with: mark) ? data.dropFirst(3) : data[...]
        guard body.range(of: mark) != nil else { return data }
        var out = Data(data[data.startIndex..<body.startIndex])
        out.reserveCapacity(data.count + 64)
        var rest = body
        while let r = rest.range(of: mark) {
            out.append(rest[rest.startIndex..<r.lowerBound])
            out.append(contentsOf: Array(#"\ufeff"#.utf8))
            rest = rest[r.upperBound...]
        }
        out.append(rest)
        return out
    }

    static func readJSONObject(_ url: URL) throws -> [String: Any] {
        guard let obj = try readJSON(url) as? [String: Any] else {
            throw TokenizerError.invalidContent(path: url.path, reason: "top level must be a JSON object")
        }
        return obj
    }

    static func parseVocab(_ json: Any?, path: String) throws -> [String: Int32] {
        if let dict = json as? [String: Any] {
            var vocab: [String: Int32] = [:]
            vocab.reserveCapacity(dict.count)
            for (token, value) in dict {
                guard let n = value as? NSNumber, n.doubleValue >= 0,
                      n.doubleValue < Double(Int32.max), n.doubleValue == n.doubleValue.rounded() else {
                    throw TokenizerError.invalidContent(path: path, reason: "vocabulary id of \"\(token)\" is not a non-negative integer")
                }
                vocab[token] = n.int32Value
            }
            if vocab.isEmpty { throw TokenizerError.invalidContent(path: path, reason: "empty vocabulary") }
            return vocab
        }
        throw TokenizerError.invalidContent(path: path, reason: "vocabulary must be a JSON object {token: id}")
    }

    /// Merges as `tokenizer.json` stores them: `["a b", ...]` or `[["a", "b"], ...]`.
    static func parseMerges(_ json: Any?, path: String) throws -> [(String, String)] {
        guard let list = json as? [Any] else {
            if json == nil || json is NSNull { return [] }
            throw TokenizerError.invalidContent(path: path, reason: "\"merges\" must be a list")
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(list.count)
        for (i, item) in list.enumerated() {
            if let s = item as? String {
                // Split on the space byte: a space followed by a combining mark is one Character.
                guard let space = s.utf8.firstIndex(of: 0x20), s.utf8.lastIndex(of: 0x20) == space else {
                    throw TokenizerError.invalidContent(path: path, reason: "merge \(i + 1) \"\(s)\" is not two tokens separated by one space")
                }
                merges.append((String(s.utf8[..<space])!, String(s.utf8[s.utf8.index(after: space)...])!))
            } else if let pair = item as? [Any], pair.count == 2, let a = pair[0] as? String, let b = pair[1] as? String {
                merges.append((a, b))
            } else {
                throw TokenizerError.invalidContent(path: path, reason: "merge \(i + 1) is neither \"a b\" nor [a, b]")
            }
        }
        return merges
    }

    /// merges.txt: an optional `#version` line, then one `a b` pair per line (a final newline is allowed).
    static func readMergesText(_ url: URL) throws -> [(String, String)] {
        let data: Data
        do {
            data = try FileContents.read(url, maxBytes: FileContents.maxTokenizerFileBytes)
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.unreadableFile(path: url.path, reason: "not valid UTF-8")
        }
        // Split on U+000A itself: as Characters, "\r\n" is one and would not split (nor would the space before a
        // combining mark).
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        var merges: [(String, String)] = []
        merges.reserveCapacity(lines.count)
        for (i, rawLine) in lines.enumerated() {
            var line = rawLine
            if line.last == "\r" { line = line.dropLast() }
            if line.starts(with: "#version".unicodeScalars) { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw TokenizerError.invalidContent(
                    path: url.path,
                    reason: "line \(i + 1) \"\(String(String.UnicodeScalarView(line)))\" is not two tokens separated by one space")
            }
            merges.append((String(String.UnicodeScalarView(parts[0])), String(String.UnicodeScalarView(parts[1]))))
        }
        return merges
    }
}

/// Which added tokens exist and with which flags, following transformers' `from_pretrained`:
/// the `added_tokens_decoder` of tokenizer_config.json when present, else tokenizer.json's `added_tokens` (and
/// special_tokens_map.json overriding the config's named tokens); then the named special tokens (bos, eos, unk,
/// sep, pad, cls, mask) in that order, each re-added and so overriding the flags of an earlier token with the same
/// content. A named token given as a plain string takes the flags of the listed added token with that content, or
/// else `normalized: false`.
struct SpecialTokenResolver {
    struct Spec {
        var content: String
        var singleWord = false
        var lstrip = false
        var rstrip = false
        var normalized: Bool
        var special: Bool
    }

    var tokensInAddOrder: [Spec] = []
    var bos = "<|startoftext|>"
    var eos = "<|endoftext|>"
    var unk = "<|endoftext|>"
    var pad = "<|endoftext|>"
    /// The content of each named special token that is set (key as in tokenizer_config.json, e.g. "cls_token").
    var namedContent: [String: String] = [:]

    /// CLIPTokenizer's defaults for the named special tokens.
    static let clipDefaults = ["bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
                               "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>"]

    static let namedKeys = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]

    init(config: [String: Any], configPath: String, specialMap: [String: Any], specialMapPath: String,
         fileAddedTokens: [[String: Any]], fileAddedTokensPath: String,
         defaults: [String: String] = SpecialTokenResolver.clipDefaults) throws {
        var listed: [(Int, Spec)] = []
        var named: [String: Any] = [:]
        for key in SpecialTokenResolver.namedKeys { if let v = config[key] { named[key] = v } }
        var namedPath: [String: String] = [:]
        for key in named.keys { namedPath[key] = configPath }
        var fromSpecialMap: Set<String> = []

        if let decoder = config["added_tokens_decoder"] {
            guard let dict = decoder as? [String: Any] else {
                throw TokenizerError.invalidContent(path: configPath, reason: "\"added_tokens_decoder\" must be an object")
            }
            for (key, value) in dict {
                guard let id = Int(key), let obj = value as? [String: Any] else {
                    throw TokenizerError.invalidContent(path: configPath, reason: "added_tokens_decoder entry \"\(key)\"")
                }
                listed.append((id, try SpecialTokenResolver.spec(obj, forceSpecial: false, path: configPath)))
            }
        } else {
            for key in SpecialTokenResolver.namedKeys {
                if let v = specialMap[key] {
                    named[key] = v
                    namedPath[key] = specialMapPath
                    fromSpecialMap.insert(key)
                }
            }
            for (i, obj) in fileAddedTokens.enumerated() {
                let id = (obj["id"] as? NSNumber)?.intValue ?? i
                listed.append((id, try SpecialTokenResolver.spec(obj, forceSpecial: false, path: fileAddedTokensPath)))
            }
        }
        listed.sort { $0.0 < $1.0 }
        var listedByContent: [String: Spec] = [:]
        for (_, s) in listed { listedByContent[s.content] = s }
        tokensInAddOrder = listed.map(\.1)

        for key in SpecialTokenResolver.namedKeys {
            let value: Any? = (named[key] is NSNull) ? nil : (named[key] ?? defaults[key])
            guard let value else { continue }
            let path = namedPath[key] ?? configPath
            var spec: Spec
            if let s = value as? String {
                spec = listedByContent[s] ?? Spec(content: s, normalized: false, special: true)
            } else if let obj = value as? [String: Any] {
                let parsed = try SpecialTokenResolver.spec(obj, forceSpecial: fromSpecialMap.contains(key), path: path)
                spec = listedByContent[parsed.content] ?? parsed
            } else {
                throw TokenizerError.invalidContent(path: path, reason: "\"\(key)\" must be a string or an object")
            }
            namedContent[key] = spec.content
            switch key {
            case "bos_token": bos = spec.content
            case "eos_token": eos = spec.content
            case "unk_token": unk = spec.content
            case "pad_token": pad = spec.content
            default: break
            }
            tokensInAddOrder.append(spec)
        }
        for key in ["additional_special_tokens", "extra_special_tokens"] {
            guard let list = (config[key] ?? specialMap[key]) as? [Any] else { continue }
            for item in list {
                if let s = item as? String {
                    tokensInAddOrder.append(listedByContent[s] ?? Spec(content: s, normalized: false, special: true))
                } else if let obj = item as? [String: Any] {
                    tokensInAddOrder.append(try SpecialTokenResolver.spec(obj, forceSpecial: true, path: configPath))
                }
            }
        }
    }

    /// An AddedToken object: `content` required; `normalized` defaults to `!special`.
    static func spec(_ obj: [String: Any], forceSpecial: Bool, path: String) throws -> Spec {
        guard let content = obj["content"] as? String, !content.isEmpty else {
            throw TokenizerError.invalidContent(path: path, reason: "added token without a non-empty \"content\"")
        }
        func flag(_ key: String) -> Bool? { (obj[key] as? NSNumber)?.boolValue }
        let special = forceSpecial || (flag("special") ?? false)
        return Spec(content: content, singleWord: flag("single_word") ?? false, lstrip: flag("lstrip") ?? false,
                    rstrip: flag("rstrip") ?? false, normalized: flag("normalized") ?? !special, special: special)
    }
}
