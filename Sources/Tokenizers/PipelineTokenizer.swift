import Foundation

/// transformers 5.24's generic `TokenizersBackend` (also `PreTrainedTokenizerFast`): `tokenizer.json` run as it
/// declares it — its model, normalizer, pre-tokenizer, post-processor and added tokens — plus the special tokens
/// of tokenizer_config.json / special_tokens_map.json.
///
/// Models: WordPiece; BPE (with `byte_fallback`, `fuse_unk`, `ignore_merges`; no dropout); Unigram. No post-processor means no special
/// tokens are added (transformers' default template, `add_bos_token` and `add_eos_token` being dropped when
/// tokenizer.json is present).
public struct PipelineTokenizer: Tokenizer {
    public let pipeline: TokenizerPipeline<AnyTokenizerModel>
    public let padTokenId: Int32?
    public let modelMaxLength: Int?
    public let modelInputNames: [String]
    /// `truncation_side` of tokenizer_config.json, else tokenizer.json's truncation direction, else right.
    public let truncationSide: TruncationSide
    /// tokenizer_config.json `padding_side`, else tokenizer.json's `padding.direction`, else the class default
    /// (right; left for GemmaTokenizer and Siglip2Tokenizer).
    public let paddingSide: PaddingSide

    /// Loads `directory` as a `TokenizersBackend`, whatever tokenizer_config.json's `tokenizer_class` says.
    /// - Throws: `TokenizerError` naming the file and the reason (see `AutoTokenizer.load(directory:)`).
    public init(directory: URL) throws {
        try self.init(files: TokenizerFiles(directory: directory))
    }

    init(files: TokenizerFiles) throws {
        let path = files.tokenizerJSONURL.path
        guard let root = try files.tokenizerJSON() else {
            throw TokenizerError.missingFile(
                path: path, reason: "the generic tokenizer (TokenizersBackend) is built from tokenizer.json")
        }
        guard let modelObject = root["model"] as? [String: Any] else {
            throw TokenizerError.invalidContent(path: path, reason: "no \"model\" object")
        }
        let fileAdded = try Self.addedTokenObjects(root, path: path)
        var fileAddedIds: [String: Int32] = [:]
        for obj in fileAdded {
            if let content = obj["content"] as? String, obj["id"] != nil {
                fileAddedIds[content] = try ComponentParser.tokenId(obj["id"], path: path,
                                                                    what: "added token \"\(content)\" id")
            }
        }
        let (model, vocabularyId, vocabularyCount) = try Self.model(
            modelObject, path: path,
            exactVocabulary: modelObject["type"] as? String == "BPE"
                ? try Self.exactVocabulary(files, modelObject: modelObject, path: path) : nil)

        // transformers takes tokenizer.json's padding token as pad_token when the configuration names none.
        var config = files.config
        let configNamesPad = config["pad_token"] != nil
            || (config["added_tokens_decoder"] == nil && files.specialMap["pad_token"] != nil)
        if !configNamesPad, let padding = root["padding"] as? [String: Any], let pad = padding["pad_token"] as? String {
            config["pad_token"] = pad
        }
        // The file's added tokens are in the backend first; then transformers adds the configured ones.
        var resolved = try SpecialTokenResolver(
            config: config, configPath: files.configPath, specialMap: files.specialMap,
            specialMapPath: files.specialMapPath, fileAddedTokens: fileAdded, fileAddedTokensPath: path, defaults: [:])
        if config["added_tokens_decoder"] != nil {
            let fromFile = try fileAdded.map { try SpecialTokenResolver.spec($0, forceSpecial: false, path: path) }
            resolved.tokensInAddOrder = fromFile + resolved.tokensInAddOrder
        }
        let added = try resolved.addedTokens(
            firstNewId: max(vocabularyCount, Int(fileAddedIds.values.max() ?? -1) + 1),
            vocabularyId: { fileAddedIds[$0] ?? vocabularyId($0) }, source: path)
        func id(_ content: String) -> Int32? { added.first { $0.content == content }?.id ?? vocabularyId(content) }

        let normalizer = try ComponentParser.normalizer(root["normalizer"], path: path)
        let preTokenizer = try ComponentParser.preTokenizer(root["pre_tokenizer"], path: path)
        let postProcessor = try ComponentParser.postProcessor(root["post_processor"], path: path, tokenId: id)
        let splitSpecial = try TokenizerConfig.bool(files.config, "split_special_tokens", path: files.configPath,
                                                    default: false)!
        pipeline = TokenizerPipeline(normalizer: normalizer, preTokenizer: preTokenizer, model: model,
                                     postProcessor: postProcessor,
                                     addedTokens: splitSpecial ? added.filter { !$0.special } : added)

        padTokenId = resolved.namedContent["pad_token"].flatMap(id)
        modelMaxLength = try TokenizerConfig.modelMaxLength(files.config, path: files.configPath)
        modelInputNames = try TokenizerConfig.modelInputNames(files.config, path: files.configPath,
                                                              default: ["input_ids", "attention_mask"])
        truncationSide = files.config["truncation_side"] != nil
            ? try TokenizerConfig.truncationSide(files.config, path: files.configPath)
            : (try Self.truncationDirection(root, path: path) ?? .right)
        paddingSide = try TokenizerConfig.paddingSide(files.config, path: files.configPath)
            ?? Self.paddingDirection(root, path: path) ?? .right
    }

    /// input_ids as transformers' `TokenizersBackend(text).input_ids`: the post-processor's special tokens
    /// included, not truncated.
    public func encode(_ text: String) -> [Int32] {
        pipeline.postProcessor.process(pipeline.encodeContent(text))
    }

    /// `tokenizer(text, truncation=True, max_length=maxLength).input_ids`: the text's tokens are cut from
    /// `truncationSide` so that the row, special tokens included, is `maxLength` long; a `maxLength` below the
    /// number of special tokens leaves the text whole, as `tokenizers` does.
    public func encode(_ text: String, maxLength: Int) -> Encoding {
        pipeline.encode(text, maxLength: maxLength, truncationSide: truncationSide)
    }

    /// The model tokenizer.json declares, with its vocabulary lookup and size.
    /// - Parameter exactVocabulary: BPE's vocabulary with its tokens exactly as written, when read from the file.
    static func model(_ obj: [String: Any], path: String, exactVocabulary: [(String, Int32)]? = nil) throws
        -> (AnyTokenizerModel, (String) -> Int32?, Int) {
        guard let type = obj["type"] as? String else {
            throw TokenizerError.invalidContent(path: path, reason: "model without a \"type\"")
        }
        switch type {
        case "WordPiece":
            let vocab = try BertTokenizer.jsonVocab(obj["vocab"], path: path)
            let maxChars = (obj["max_input_chars_per_word"] as? NSNumber)?.intValue ?? 100
            let model = try WordPieceModel(
                vocab: vocab, unknownToken: obj["unk_token"] as? String ?? "[UNK]",
                continuingSubwordPrefix: obj["continuing_subword_prefix"] as? String ?? "##",
                maxInputCharsPerWord: maxChars, source: path)
            return (AnyTokenizerModel(model), model.id(of:), model.vocabularyCount)
        case "BPE":
            if let dropout = obj["dropout"] as? NSNumber, dropout.doubleValue > 0 {
                throw TokenizerError.unsupported(path: path, reason: "BPE dropout \(dropout)")
            }
            let entries = try exactVocabulary ?? CLIPTokenizer.parseVocab(obj["vocab"], path: path).map { ($0.key, $0.value) }
            let model = try BPEModel(
                entries: entries, merges: try CLIPTokenizer.parseMerges(obj["merges"], path: path),
                unknownToken: obj["unk_token"] as? String,
                endOfWordSuffix: obj["end_of_word_suffix"] as? String ?? "",
                continuingSubwordPrefix: obj["continuing_subword_prefix"] as? String ?? "",
                fuseUnknown: (obj["fuse_unk"] as? NSNumber)?.boolValue ?? false,
                byteFallback: (obj["byte_fallback"] as? NSNumber)?.boolValue ?? false,
                ignoreMerges: (obj["ignore_merges"] as? NSNumber)?.boolValue ?? false, source: path)
            return (AnyTokenizerModel(model), { model.exactVocab[ExactString($0)] }, entries.count)
        case "Unigram":
            let model = try UnigramModel(json: obj, path: path)
            return (AnyTokenizerModel(model), { model.tokenToId[ExactString($0)] }, model.vocab.count)
        default:
            throw TokenizerError.unsupported(path: path, reason: "model type \"\(type)\" (supported: WordPiece, BPE, Unigram)")
        }
    }

    /// `added_tokens` of tokenizer.json (empty when absent).
    static func addedTokenObjects(_ root: [String: Any], path: String) throws -> [[String: Any]] {
        guard let added = root["added_tokens"], !(added is NSNull) else { return [] }
        guard let list = added as? [[String: Any]] else {
            throw TokenizerError.invalidContent(path: path, reason: "\"added_tokens\" must be a list of objects")
        }
        return list
    }

    /// `padding.direction` of tokenizer.json, which transformers takes as `padding_side` when the configuration
    /// sets none.
    static func paddingDirection(_ root: [String: Any], path: String) throws -> PaddingSide? {
        guard let padding = root["padding"] as? [String: Any],
              let direction = padding["direction"] as? String else { return nil }
        guard let side = PaddingSide(rawValue: direction.lowercased()) else {
            throw TokenizerError.invalidContent(path: path, reason: "padding direction \"\(direction)\"")
        }
        return side
    }

    /// `truncation.direction` of tokenizer.json, which transformers takes as `truncation_side`.
    static func truncationDirection(_ root: [String: Any], path: String) throws -> TruncationSide? {
        guard let truncation = root["truncation"] as? [String: Any],
              let direction = truncation["direction"] as? String else { return nil }
        guard let side = TruncationSide(rawValue: direction.lowercased()) else {
            throw TokenizerError.invalidContent(path: path, reason: "truncation direction \"\(direction)\"")
        }
        return side
    }
}
