import Foundation

/// A `tokenizer.json` tokenizer as transformers 5.24's `TokenizersBackend` classes build it: the `tokenizers`
/// pipeline (added tokens, normalizer, pre-tokenizer, model, post-processor), then truncation of the text's tokens
/// so that the row with its special tokens fits `max_length`.
///
/// Built by `BackendTokenizer.load(directory:)` (the file as declared: `TokenizersBackend`,
/// `PreTrainedTokenizerFast`) or `BackendTokenizer.gemma(directory:lowercase:)` (`GemmaTokenizer`,
/// `Siglip2Tokenizer`, which keep only the file's vocabulary, merges and post-processor).
public struct BackendTokenizer<Model: TokenizerModel>: Tokenizer {
    public let pipeline: TokenizerPipeline<Model>
    public let padTokenId: Int32?
    public let modelMaxLength: Int?
    public let modelInputNames: [String]

    public init(pipeline: TokenizerPipeline<Model>, padTokenId: Int32?, modelMaxLength: Int?, modelInputNames: [String]) {
        self.pipeline = pipeline
        self.padTokenId = padTokenId
        self.modelMaxLength = modelMaxLength
        self.modelInputNames = modelInputNames
    }

    public func encode(_ text: String) -> [Int32] {
        pipeline.postProcessor.process(pipeline.encodeContent(text))
    }

    /// The text's tokens cut from the right so that the row, special tokens included, is `maxLength` long; a
    /// `maxLength` below the number of special tokens leaves the text whole (`tokenizers`' limit wraps around).
    public func encode(_ text: String, maxLength: Int) -> Encoding {
        var content = pipeline.encodeContent(text)
        let specials = pipeline.specialTokenCount
        var truncated = false
        if maxLength >= specials, content.count + specials > maxLength {
            content = Array(content.prefix(maxLength - specials))
            truncated = true
        }
        return Encoding(ids: pipeline.postProcessor.process(content), wasTruncated: truncated)
    }
}

/// Building `BackendTokenizer`s from a directory.
public enum BackendTokenizerLoader {
    /// The named special tokens, in the order transformers adds them.
    static let namedKeys = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]

    /// `GemmaTokenizer` (and `Siglip2Tokenizer` with `lowercase`), as transformers 5.24 builds them from
    /// `tokenizer.json`: the file's BPE vocabulary and merges with `fuse_unk` and `byte_fallback`, the normalizer
    /// `Replace(" ", "▁")` (after `Lowercase` for Siglip2Tokenizer), the pre-tokenizer
    /// `Split(" ", merged_with_previous)`, whatever else the file declares being ignored; the post-processor is the
    /// file's (tokenizer_config.json's `add_bos_token` / `add_eos_token` are dropped when tokenizer.json exists).
    /// Defaults: `<unk> <bos> <eos> <pad> <mask>`, model_input_names `["input_ids", "attention_mask"]`.
    ///
    /// - Throws: `TokenizerError` naming the file: missing `tokenizer.json`, malformed JSON, a model other than BPE,
    ///   a merge outside the vocabulary.
    public static func gemma(directory: URL, lowercase: Bool) throws -> BackendTokenizer<BPEModel> {
        let (url, root) = try readTokenizerJSON(directory)
        let settings = try TokenizerSettings.load(directory: directory)
        guard let model = root["model"] as? [String: Any] else {
            throw TokenizerError.invalidContent(path: url.path, reason: "no \"model\" object")
        }
        let type = model["type"] as? String ?? "BPE"
        guard type == "BPE" else {
            throw TokenizerError.unsupported(
                path: url.path, reason: "model type \"\(type)\" for \(lowercase ? "Siglip2Tokenizer" : "GemmaTokenizer") (it builds a BPE model)")
        }
        let vocab = try CLIPTokenizer.parseVocab(model["vocab"], path: url.path)
        let merges = try CLIPTokenizer.parseMerges(model["merges"], path: url.path)
        let unk = settings.unkToken?.content ?? "<unk>"
        let bpe = try BPEModel(vocab: vocab, merges: merges, unknownToken: unk, endOfWordSuffix: "",
                               fuseUnknown: true, byteFallback: true, source: url.path)
        let defaults = ["unk_token": "<unk>", "bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>",
                        "mask_token": "<mask>"]
        let replace = ReplaceNormalizer(pattern: try! ReplaceNormalizer(literal: " ", content: "").pattern, content: "\u{2581}")
        let normalizer: any Normalizer = lowercase ? NormalizerSequence([LowercaseNormalizer(), replace]) : replace
        let split = SplitPreTokenizer(pattern: replace.pattern, behavior: .mergedWithPrevious, invert: false)
        return try build(model: bpe, vocab: { vocab[$0] }, vocabSize: vocab.count, root: root, path: url.path,
                         settings: settings, defaults: defaults, fileAddedTokensAlways: false,
                         normalizer: normalizer, preTokenizer: split,
                         defaultInputNames: ["input_ids", "attention_mask"])
    }

    /// `TokenizersBackend`: `tokenizer.json` as declared, for the models Unigram and BPE (with `byte_fallback`,
    /// `fuse_unk`, `ignore_merges`, `continuing_subword_prefix`, `end_of_word_suffix`).
    ///
    /// - Throws: `TokenizerError` naming the file: missing or malformed `tokenizer.json`, a model, normalizer,
    ///   pre-tokenizer or post-processor type that is not supported (named), a bad vocabulary.
    public static func load(directory: URL) throws -> any Tokenizer {
        let (url, root) = try readTokenizerJSON(directory)
        let settings = try TokenizerSettings.load(directory: directory)
        guard let model = root["model"] as? [String: Any] else {
            throw TokenizerError.invalidContent(path: url.path, reason: "no \"model\" object")
        }
        let normalizer = try ComponentParser.normalizer(root["normalizer"], path: url.path)
        let preTokenizer = try ComponentParser.preTokenizer(root["pre_tokenizer"], path: url.path)
        let inputNames = ["input_ids", "attention_mask"]
        switch model["type"] as? String {
        case "Unigram":
            let unigram = try UnigramModel(json: model, path: url.path)
            return try build(model: unigram, vocab: { unigram.tokenToId[$0] }, vocabSize: unigram.vocab.count, root: root,
                             path: url.path, settings: settings, defaults: [:], fileAddedTokensAlways: true,
                             normalizer: normalizer, preTokenizer: preTokenizer, defaultInputNames: inputNames)
        case "BPE":
            if let dropout = model["dropout"] as? NSNumber, dropout.doubleValue > 0 {
                throw TokenizerError.unsupported(path: url.path, reason: "BPE dropout \(dropout)")
            }
            let vocab = try CLIPTokenizer.parseVocab(model["vocab"], path: url.path)
            let bpe = try BPEModel(
                vocab: vocab, merges: try CLIPTokenizer.parseMerges(model["merges"], path: url.path),
                unknownToken: model["unk_token"] as? String, endOfWordSuffix: model["end_of_word_suffix"] as? String ?? "",
                continuingSubwordPrefix: model["continuing_subword_prefix"] as? String ?? "",
                fuseUnknown: ComponentParser.bool(model, "fuse_unk", default: false),
                byteFallback: ComponentParser.bool(model, "byte_fallback", default: false),
                ignoreMerges: ComponentParser.bool(model, "ignore_merges", default: false), source: url.path)
            return try build(model: bpe, vocab: { vocab[$0] }, vocabSize: vocab.count, root: root, path: url.path,
                             settings: settings, defaults: [:], fileAddedTokensAlways: true,
                             normalizer: normalizer, preTokenizer: preTokenizer, defaultInputNames: inputNames)
        case let type:
            throw TokenizerError.unsupported(path: url.path, reason: "model type \"\(type ?? "(none)")\"")
        }
    }

    static func readTokenizerJSON(_ directory: URL) throws -> (URL, [String: Any]) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw TokenizerError.missingDirectory(path: directory.path)
        }
        let url = directory.appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TokenizerError.missingFile(path: url.path, reason: "this tokenizer class reads tokenizer.json")
        }
        return (url, try CLIPTokenizer.readJSONObject(url))
    }

    /// Added tokens, named special tokens and post-processor resolved as transformers' `from_pretrained` and
    /// `TokenizersBackend.__init__` do: `added_tokens_decoder` of tokenizer_config.json, else tokenizer.json's
    /// `added_tokens` (whose flags a named token of the same content takes); with `fileAddedTokensAlways` (the
    /// file used as declared) the file's added tokens come first in any case. A named token or
    /// `additional_special_tokens` entry not yet present is added as special and not normalized, with its
    /// vocabulary id or the next free id. The post-processor is the file's.
    static func build<M: TokenizerModel>(
        model: M, vocab: (String) -> Int32?, vocabSize: Int, root: [String: Any], path: String,
        settings: TokenizerSettings, defaults: [String: String], fileAddedTokensAlways: Bool,
        normalizer: (any Normalizer)?, preTokenizer: (any PreTokenizer)?, defaultInputNames: [String]
    ) throws -> BackendTokenizer<M> {
        var fileAdded: [AddedToken] = []
        if let list = root["added_tokens"] {
            guard let items = list as? [[String: Any]] else {
                throw TokenizerError.invalidContent(path: path, reason: "\"added_tokens\" must be a list of objects")
            }
            for item in items {
                guard let id = (item["id"] as? NSNumber)?.int32Value else {
                    throw TokenizerError.invalidContent(path: path, reason: "added token without an \"id\"")
                }
                let spec = try SpecialTokenResolver.spec(item, forceSpecial: false, path: path)
                fileAdded.append(AddedToken(content: spec.content, id: id, singleWord: spec.singleWord, lstrip: spec.lstrip,
                                            rstrip: spec.rstrip, normalized: spec.normalized, special: spec.special))
            }
        }
        var configAdded: [AddedToken] = []
        for (key, spec) in settings.addedTokensDecoder ?? [:] {
            guard let id = Int32(key) else {
                throw TokenizerError.invalidContent(path: path, reason: "added_tokens_decoder key \"\(key)\" is not an id")
            }
            let special = spec.special ?? false
            configAdded.append(AddedToken(content: spec.content, id: id, singleWord: spec.singleWord ?? false,
                                          lstrip: spec.lstrip ?? false, rstrip: spec.rstrip ?? false,
                                          normalized: spec.normalized ?? !special, special: special))
        }
        configAdded.sort { $0.id < $1.id }
        let decoder = settings.addedTokensDecoder != nil ? configAdded : fileAdded

        var tokens: [AddedToken] = []
        var byContent: [String: Int] = [:]
        func add(_ t: AddedToken) {
            guard !t.content.isEmpty, byContent[t.content] == nil else { return }
            byContent[t.content] = tokens.count
            tokens.append(t)
        }
        if fileAddedTokensAlways { fileAdded.forEach(add) }
        decoder.forEach(add)

        func nextId() -> Int32 {
            let maxAdded = tokens.map { Int($0.id) }.max() ?? -1
            return Int32(maxAdded >= vocabSize ? maxAdded + 1 : vocabSize)
        }
        func addNamed(_ content: String, spec: TokenizerSettings.TokenSpec?) {
            guard byContent[content] == nil, !content.isEmpty else { return }
            add(AddedToken(content: content, id: vocab(content) ?? nextId(), singleWord: spec?.singleWord ?? false,
                           lstrip: spec?.lstrip ?? false, rstrip: spec?.rstrip ?? false,
                           normalized: spec?.normalized ?? false, special: true))
        }
        let specs: [String: TokenizerSettings.TokenSpec?] = [
            "bos_token": settings.bosToken, "eos_token": settings.eosToken, "unk_token": settings.unkToken,
            "pad_token": settings.padToken, "mask_token": settings.maskToken,
        ]
        var named: [String: String] = [:]
        for key in namedKeys {
            if settings.nullKeys.contains(key) { continue }
            let content = (specs[key] ?? nil)?.content ?? defaults[key]
            guard let content else { continue }
            named[key] = content
            addNamed(content, spec: specs[key] ?? nil)
        }
        for spec in (settings.additionalSpecialTokens ?? []) + (settings.extraSpecialTokens ?? []) {
            addNamed(spec.content, spec: spec)
        }
        func tokenId(_ content: String) -> Int32? {
            if let i = byContent[content] { return tokens[i].id }
            return vocab(content)
        }

        // transformers drops add_bos_token / add_eos_token when tokenizer.json is present: the file's
        // post-processor decides, and none adds no special tokens.
        let postProcessor = try ComponentParser.postProcessor(root["post_processor"], path: path, tokenId: tokenId)

        let pipeline = TokenizerPipeline(normalizer: normalizer, preTokenizer: preTokenizer, model: model,
                                         postProcessor: postProcessor, addedTokens: tokens)
        return BackendTokenizer(pipeline: pipeline, padTokenId: named["pad_token"].flatMap(tokenId),
                                modelMaxLength: settings.modelMaxLengthLimit,
                                modelInputNames: settings.modelInputNames ?? defaultInputNames)
    }
}
