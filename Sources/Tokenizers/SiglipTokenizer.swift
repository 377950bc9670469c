import Foundation

/// SigLIP's SentencePiece tokenizer from `spiece.model` alone, giving the input_ids of transformers'
/// `SiglipTokenizer` (models/siglip/tokenization_siglip.py):
///
/// 1. `▁` is prepended to the text (any `▁` in it becoming a space);
/// 2. the added tokens (`</s>`, `<unk>`, the pad token, `additional_special_tokens`, `added_tokens_decoder`) are
///    split out as transformers' slow tokenizers do, absorbing the whitespace beside them per `lstrip` / `rstrip`
///    (true for SigLIP's eos, unk and pad);
/// 3. each other chunk is canonicalized as big_vision does (`canonicalize_text`): lowercased when `do_lower_case`
///    (default true; Python's `str.lower`), ASCII punctuation (`string.punctuation`) removed, whitespace runs
///    collapsed to one space, stripped; then encoded by SentencePiece after an `<unk>` prefix whose pieces are
///    dropped again (so no dummy-prefix `▁` starts the chunk);
/// 4. a leading lone `▁` before a special token is dropped; pieces map to ids (added tokens first);
/// 5. `</s>` is appended unless the ids already end with it.
///
/// With `legacy: false` in tokenizer_config.json the model's `add_dummy_prefix` is turned off, as
/// `SentencePieceBackend` does. pad_token is `</s>` by default, `model_max_length` 64, `model_input_names`
/// ["input_ids", "attention_mask"] unless tokenizer_config.json says otherwise (the original SigLIP checkpoints list
/// only "input_ids": transformers' pipeline then passes no attention mask).
public struct SiglipTokenizer: Tokenizer {
    public let processor: SentencePieceProcessor
    public let doLowerCase: Bool
    public let eosTokenId: Int32
    public let unknownToken: String
    public let padTokenId: Int32?
    public let modelMaxLength: Int?
    public let modelInputNames: [String]
    /// `truncation_side` of tokenizer_config.json (default right).
    public let truncationSide: TruncationSide
    /// `padding_side` of tokenizer_config.json (default right).
    public let paddingSide: PaddingSide
    let addedTokens: SlowAddedTokens
    /// `split_special_tokens` of tokenizer_config.json: added tokens are not looked for, their text is encoded.
    public let splitSpecialTokens: Bool
    /// Number of pieces `<unk>` (the unknown token's text) encodes to, dropped after the prefix trick.
    let unknownTokenLength: Int

    public static let defaultModelInputNames = ["input_ids", "attention_mask"]
    public static let defaultModelMaxLength = 64

    /// Loads a directory with `spiece.model` and optionally `tokenizer_config.json` / `special_tokens_map.json`.
    ///
    /// - Throws: `TokenizerError`: missing directory or `spiece.model`; a corrupt model file (naming it and the
    ///   byte offset); a model type other than Unigram and BPE (naming the file and the type); malformed JSON or
    ///   values.
    public init(directory: URL) throws {
        try self.init(files: TokenizerFiles(directory: directory))
    }

    init(files: TokenizerFiles) throws {
        let modelFile = files.directory.appendingPathComponent("spiece.model")
        guard FileManager.default.fileExists(atPath: modelFile.path) else {
            throw TokenizerError.missingFile(path: modelFile.path, reason: "SiglipTokenizer reads its vocabulary from spiece.model")
        }
        let config = files.config
        let configPath = files.configPath
        var model = try SentencePieceModel(contentsOf: modelFile)
        // SentencePieceBackend: with `legacy` false the model's add_dummy_prefix is turned off.
        if try TokenizerConfig.bool(config, "legacy", path: configPath, default: true) == false {
            model.addDummyPrefix = false
        }
        let processor = try SentencePieceProcessor(model: model, path: modelFile.path)
        self.processor = processor
        doLowerCase = try TokenizerConfig.bool(config, "do_lower_case", path: configPath, default: true)!

        // The named tokens come from tokenizer_config.json, or from special_tokens_map.json when the config has no
        // added_tokens_decoder (transformers' from_pretrained). SiglipTokenizer makes a plain string an
        // AddedToken(lstrip=True, rstrip=True, normalized=False).
        let useMap = config["added_tokens_decoder"] == nil
        func named(_ key: String, default content: String) throws -> SlowAddedTokens.Spec? {
            let (value, path): (Any?, String) = config[key] != nil ? (config[key], configPath)
                : (useMap ? (files.specialMap[key], files.specialMapPath) : (nil, configPath))
            guard let value else { return SlowAddedTokens.Spec(content: content, lstrip: true, rstrip: true) }
            if value is NSNull { return nil }
            if let s = value as? String { return SlowAddedTokens.Spec(content: s, lstrip: true, rstrip: true) }
            guard let obj = value as? [String: Any] else {
                throw TokenizerError.invalidContent(path: path, reason: "\"\(key)\" must be a string or an object")
            }
            return try SlowAddedTokens.Spec(obj, path: path)
        }
        let eos = try named("eos_token", default: "</s>") ?? SlowAddedTokens.Spec(content: "</s>", lstrip: true, rstrip: true)
        let unk = try named("unk_token", default: "<unk>") ?? SlowAddedTokens.Spec(content: "<unk>", lstrip: true, rstrip: true)
        let pad = try named("pad_token", default: "</s>")
        var specs: [(id: Int32?, spec: SlowAddedTokens.Spec)] = []
        if let decoder = config["added_tokens_decoder"] {
            guard let dict = decoder as? [String: Any] else {
                throw TokenizerError.invalidContent(path: configPath, reason: "\"added_tokens_decoder\" must be an object")
            }
            for (key, value) in dict.sorted(by: { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }) {
                guard let id = Int32(key), id >= 0, id < Int32.max, let obj = value as? [String: Any] else {
                    throw TokenizerError.invalidContent(
                        path: configPath, reason: "added_tokens_decoder entry \"\(key)\" (keys are ids from 0 to "
                            + "\(Int32.max - 1), values objects)")
                }
                specs.append((id, try SlowAddedTokens.Spec(obj, path: configPath)))
            }
        }
        var additional: [SlowAddedTokens.Spec] = []
        for key in ["additional_special_tokens", "extra_special_tokens"] {
            let (value, path) = config[key] != nil ? (config[key], configPath)
                : (useMap ? files.specialMap[key] : nil, files.specialMapPath)
            guard let value, !(value is NSNull), !(value is [String: Any]) else { continue }
            guard let list = value as? [Any] else {
                throw TokenizerError.invalidContent(path: path, reason: "\"\(key)\" must be a list")
            }
            for item in list {
                if let s = item as? String {
                    additional.append(SlowAddedTokens.Spec(content: s))
                } else if let obj = item as? [String: Any] {
                    additional.append(try SlowAddedTokens.Spec(obj, path: path))
                } else {
                    throw TokenizerError.invalidContent(path: path, reason: "\"\(key)\" entries must be strings or objects")
                }
            }
        }
        for spec in [eos, unk] + (pad.map { [$0] } ?? []) + additional {
            specs.append((nil, spec))
        }
        let added = try SlowAddedTokens(specs: specs, processor: processor, path: configPath,
                                    specialContents: [eos.content, unk.content] + (pad.map { [$0.content] } ?? [])
                                        + additional.map(\.content))
        addedTokens = added
        eosTokenId = added.id(eos.content)
        unknownToken = unk.content
        padTokenId = pad.map { added.id($0.content) }
        modelMaxLength = config["model_max_length"] == nil
            ? Self.defaultModelMaxLength : try TokenizerConfig.modelMaxLength(config, path: configPath)
        modelInputNames = try TokenizerConfig.modelInputNames(config, path: configPath, default: Self.defaultModelInputNames)
        truncationSide = try TokenizerConfig.truncationSide(config, path: configPath)
        paddingSide = try TokenizerConfig.paddingSide(config, path: configPath) ?? .right
        splitSpecialTokens = try TokenizerConfig.bool(config, "split_special_tokens", path: configPath, default: false)!
        unknownTokenLength = processor.encodePieces(unk.content).count
    }

    // MARK: - Encoding

    /// input_ids of `tokenizer(text)`: `[n]`, `</s>` last, no padding or truncation.
    public func encode(_ text: String) -> [Int32] {
        build(contentIds(text))
    }

    /// `tokenizer(text, truncation=True, max_length=maxLength)`: the text's ids cut (from `truncationSide`) so that
    /// with `</s>` the row is `maxLength` long; `maxLength` 0 means no limit (Python's falsy 0).
    public func encode(_ text: String, maxLength: Int) -> Encoding {
        var ids = contentIds(text)
        var truncated = false
        let specials = 1  // len(build_inputs_with_special_tokens([]))
        if maxLength > 0, ids.count + specials > maxLength {
            let keep = max(0, maxLength - specials)
            ids = truncationSide == .left ? Array(ids.suffix(keep)) : Array(ids.prefix(keep))
            truncated = true
        }
        return Encoding(ids: build(ids), wasTruncated: truncated)
    }

    /// `build_inputs_with_special_tokens`: eos appended unless already last.
    func build(_ ids: [Int32]) -> [Int32] {
        ids.last == eosTokenId ? ids : ids + [eosTokenId]
    }

    /// The token strings of `SiglipTokenizer.tokenize(text)`.
    public func tokenize(_ text: String) -> [String] {
        var prefixed = String.UnicodeScalarView()
        prefixed.append("\u{2581}")
        for s in text.unicodeScalars { prefixed.append(s == "\u{2581}" ? " " : s) }
        var tokens: [String] = []
        let chunks = splitSpecialTokens ? [.text(Array(prefixed))] : addedTokens.split(Array(prefixed))
        for chunk in chunks {
            switch chunk {
            case .token(let content): tokens.append(content)
            case .text(let scalars): tokens += tokenizeChunk(scalars)
            }
        }
        if tokens.count > 1, tokens[0] == "\u{2581}", addedTokens.specialContents.contains(ExactString(tokens[1])) {
            tokens.removeFirst()
        }
        return tokens
    }

    func contentIds(_ text: String) -> [Int32] {
        tokenize(text).map { addedTokens.idByContent[ExactString($0)] ?? processor.pieceToId($0) }
    }

    /// `_tokenize`: canonicalize, then encode `<unk>` + text and drop the `<unk>` pieces.
    func tokenizeChunk(_ scalars: [Unicode.Scalar]) -> [String] {
        let text = SiglipTokenizer.canonicalize(scalars, lowercase: doLowerCase)
        let pieces = processor.encodePieces(unknownToken + text)
        return pieces.count >= unknownTokenLength ? Array(pieces[unknownTokenLength...]) : pieces
    }

    /// big_vision's `canonicalize_text` as transformers implements it: `str.lower()` when `lowercase`, ASCII
    /// punctuation removed, `\s+` to one space, `str.strip()`.
    static func canonicalize(_ scalars: [Unicode.Scalar], lowercase: Bool) -> String {
        let lowered = lowercase ? PythonString.lower(scalars) : scalars
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for s in lowered {
            if s.value < 0x80, PythonString.asciiPunctuation.contains(UInt8(s.value)) { continue }
            if PythonString.isSpace(s) {
                pendingSpace = true
                continue
            }
            if pendingSpace && !out.isEmpty { out.append(" ") }
            pendingSpace = false
            out.append(s)
        }
        return String(out)
    }
}

/// Python `str` behaviours the slow tokenizers rely on.
enum PythonString {
    /// `string.punctuation`.
    static let asciiPunctuation: Set<UInt8> = Set(Array("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".utf8))

    /// The Unicode major version of Python 3.11's `unicodedata` (14.0.0).
    static let pythonUnicodeMajor = 14

    /// `str.isspace()` (also what `\s` matches in a `str` pattern).
    static func isSpace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    static func strip(_ s: ArraySlice<Unicode.Scalar>, leading: Bool, trailing: Bool) -> ArraySlice<Unicode.Scalar> {
        var s = s
        if leading { while let f = s.first, isSpace(f) { s = s.dropFirst() } }
        if trailing { while let l = s.last, isSpace(l) { s = s.dropLast() } }
        return s
    }

    /// `str.lower()`: each character's full lowercase mapping, with the Final_Sigma rule for `Σ`. Characters
    /// assigned after Unicode 14.0 (the database of the Python 3.11 transformers runs on) are left as they are, as
    /// that Python leaves them: all 1,405 mappings then agree with its `str.lower`.
    static func lower(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count)
        for (i, s) in scalars.enumerated() {
            if s.value < 0x80 {
                out.append((0x41...0x5A).contains(s.value) ? Unicode.Scalar(s.value + 32)! : s)
            } else if s.value == 0x3A3 {
                out.append(finalSigma(scalars, i) ? "\u{3C2}" : "\u{3C3}")
            } else if s.properties.changesWhenLowercased, let age = s.properties.age, age.major <= pythonUnicodeMajor {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            } else {
                out.append(s)
            }
        }
        return out
    }

    /// CPython's `handle_capital_sigma`: `\p{cased}\p{case-ignorable}* Σ !(\p{case-ignorable}* \p{cased})`.
    static func finalSigma(_ s: [Unicode.Scalar], _ i: Int) -> Bool {
        var j = i - 1
        while j >= 0, s[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0, s[j].properties.isCased else { return false }
        j = i + 1
        while j < s.count, s[j].properties.isCaseIgnorable { j += 1 }
        return j == s.count || !s[j].properties.isCased
    }
}

/// Added tokens of a transformers slow (Python) tokenizer: found with its trie (leftmost match, longest at that
/// position), then `lstrip` / `rstrip` / `single_word` applied to the neighbouring chunks as
/// `PreTrainedTokenizer.tokenize` does.
struct SlowAddedTokens: Sendable {
    struct Token: Sendable {
        let content: [Unicode.Scalar]
        let lstrip: Bool
        let rstrip: Bool
        let singleWord: Bool
    }

    /// An added token as tokenizer_config.json gives it (flags absent are false).
    struct Spec {
        var content: String
        var lstrip = false
        var rstrip = false
        var singleWord = false

        init(content: String, lstrip: Bool = false, rstrip: Bool = false) {
            self.content = content
            self.lstrip = lstrip
            self.rstrip = rstrip
        }

        /// - Throws: `TokenizerError.invalidContent` naming `path` when `content` is missing or empty.
        init(_ obj: [String: Any], path: String) throws {
            guard let content = obj["content"] as? String, !content.isEmpty else {
                throw TokenizerError.invalidContent(path: path, reason: "added token without a non-empty \"content\"")
            }
            self.content = content
            lstrip = (obj["lstrip"] as? NSNumber)?.boolValue ?? false
            rstrip = (obj["rstrip"] as? NSNumber)?.boolValue ?? false
            singleWord = (obj["single_word"] as? NSNumber)?.boolValue ?? false
        }
    }

    enum Chunk: Equatable {
        case text([Unicode.Scalar])
        case token(String)
    }

    /// Content -> token, the later definition of a content winning (as `_added_tokens_decoder` updates).
    let tokens: [ExactString: Token]
    let idByContent: [ExactString: Int32]
    let specialContents: Set<ExactString>
    private let byFirst: [UInt32: [Token]]

    /// - Parameters:
    ///   - specs: in the order transformers adds them; `id` given by `added_tokens_decoder` (below `Int32.max`),
    ///     else the piece's id when the model has that piece, else the next id after the vocabulary and the given
    ///     ids.
    ///   - path: the file named when a new id would pass `Int32.max`.
    /// - Throws: `TokenizerError.invalidContent` when no id is left for a new token.
    init(specs: [(id: Int32?, spec: Spec)], processor: SentencePieceProcessor, path: String,
         specialContents: [String]) throws {
        var tokens: [ExactString: Token] = [:]
        var ids: [ExactString: Int32] = [:]
        var next = Int32(processor.model.pieces.count)
        for (id, spec) in specs where !spec.content.isEmpty {
            let key = ExactString(spec.content)
            let isNew = ids[key] == nil
            if let id {
                ids[key] = id
                next = max(next, id + 1)
            } else if isNew {
                if processor.contains(spec.content) {
                    ids[key] = processor.pieceToId(spec.content)
                } else {
                    guard next < Int32.max else {
                        throw TokenizerError.invalidContent(
                            path: path, reason: "no id left for added token \"\(spec.content)\" (ids reach \(Int32.max))")
                    }
                    ids[key] = next
                    next += 1
                }
            }
            if isNew || id != nil || tokens[key] == nil {
                tokens[key] = Token(content: Array(spec.content.unicodeScalars), lstrip: spec.lstrip,
                                    rstrip: spec.rstrip, singleWord: spec.singleWord)
            }
        }
        self.tokens = tokens
        idByContent = ids
        self.specialContents = Set(specialContents.map(ExactString.init))
        var byFirst: [UInt32: [Token]] = [:]
        for t in tokens.values { byFirst[t.content[0].value, default: []].append(t) }
        for k in byFirst.keys { byFirst[k]!.sort { $0.content.count > $1.content.count } }
        self.byFirst = byFirst
    }

    func id(_ content: String) -> Int32 { idByContent[ExactString(content)] ?? 0 }

    /// The text split into plain chunks and added tokens, whitespace absorbed per the tokens' flags.
    func split(_ s: [Unicode.Scalar]) -> [Chunk] {
        // 1. Trie split.
        var parts: [[Unicode.Scalar]] = []
        var isToken: [Bool] = []
        var textStart = 0
        var pos = 0
        while pos < s.count {
            if let candidates = byFirst[s[pos].value],
               let t = candidates.first(where: { t in
                   pos + t.content.count <= s.count && s[pos..<(pos + t.content.count)].elementsEqual(t.content)
               }) {
                if textStart < pos {
                    parts.append(Array(s[textStart..<pos]))
                    isToken.append(false)
                }
                parts.append(t.content)
                isToken.append(true)
                pos += t.content.count
                textStart = pos
            } else {
                pos += 1
            }
        }
        if textStart < s.count {
            parts.append(Array(s[textStart...]))
            isToken.append(false)
        }
        // 2. Neighbour stripping, in order, on the (mutating) list as transformers does.
        for i in parts.indices where isToken[i] {
            guard let t = tokens[ExactString(String(String.UnicodeScalarView(parts[i])))] else { continue }
            if t.rstrip, i + 1 < parts.count, !parts[i + 1].isEmpty {
                parts[i + 1] = Array(PythonString.strip(parts[i + 1][...], leading: true, trailing: false))
            }
            if t.lstrip, i > 0, !parts[i - 1].isEmpty {
                parts[i - 1] = Array(PythonString.strip(parts[i - 1][...], leading: false, trailing: true))
            }
            if t.singleWord {
                if i > 0, let last = parts[i - 1].last, last != " " {
                    parts[i - 1] += parts[i]
                    parts[i] = []
                    isToken[i - 1] = false
                } else if i + 1 < parts.count, let first = parts[i + 1].first, first != " " {
                    parts[i + 1] = parts[i] + parts[i + 1]
                    parts[i] = []
                    isToken[i + 1] = false
                }
            }
        }
        var chunks: [Chunk] = []
        for (i, p) in parts.enumerated() where !p.isEmpty {
            let text = String(String.UnicodeScalarView(p))
            if isToken[i] || tokens[ExactString(text)] != nil || specialContents.contains(ExactString(text)) {
                chunks.append(.token(text))
            } else {
                chunks.append(.text(p))
            }
        }
        return chunks
    }
}
