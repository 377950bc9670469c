import FileReading
import Foundation

extension PipelineTokenizer {
    /// transformers 5.24's `GemmaTokenizer` (and `Siglip2Tokenizer` with `lowercase`), the tokenizer of SigLIP2
    /// checkpoints, built from `tokenizer.json` as those classes rebuild it: the file's BPE vocabulary and merges
    /// with `fuse_unk` and `byte_fallback` (a character outside the vocabulary becomes its `<0xNN>` byte tokens), the
    /// normalizer `Replace(" ", "▁")` (after `Lowercase` for Siglip2Tokenizer) and the pre-tokenizer
    /// `Split(" ", merged_with_previous)`; the file's other normalizer, pre-tokenizer and decoder are ignored. The
    /// post-processor is the file's (tokenizer_config.json's `add_bos_token` / `add_eos_token` are dropped when
    /// tokenizer.json exists; none adds no special tokens). padding_side defaults to left. Added tokens: `added_tokens_decoder` of
    /// tokenizer_config.json, else tokenizer.json's `added_tokens`, then the named special tokens (defaults `<unk>`,
    /// `<bos>`, `<eos>`, `<pad>`, `<mask>`). model_input_names default `["input_ids", "attention_mask"]`.
    ///
    /// - Throws: `TokenizerError` naming the file: missing `tokenizer.json`, malformed JSON, a model other than BPE,
    ///   a merge outside the vocabulary.
    init(gemma files: TokenizerFiles, lowercase: Bool) throws {
        let className = lowercase ? "Siglip2Tokenizer" : "GemmaTokenizer"
        let path = files.tokenizerJSONURL.path
        guard let root = try files.tokenizerJSON() else {
            throw TokenizerError.missingFile(path: path, reason: "\(className) is built from tokenizer.json")
        }
        guard let modelObject = root["model"] as? [String: Any] else {
            throw TokenizerError.invalidContent(path: path, reason: "no \"model\" object")
        }
        let type = modelObject["type"] as? String ?? "BPE"
        guard type == "BPE" else {
            throw TokenizerError.unsupported(path: path, reason: "model type \"\(type)\" for \(className) (it builds a BPE model)")
        }
        // The vocabulary with its keys exactly as written (see ExactVocabularyReader).
        let entries = try Self.exactVocabulary(files, modelObject: modelObject, path: path)
        let merges = try CLIPTokenizer.parseMerges(modelObject["merges"], path: path)
        var vocab: [ExactString: Int32] = [:]
        for (token, id) in entries { vocab[ExactString(token)] = id }

        var config = files.config
        // transformers takes tokenizer.json's padding token as pad_token when the configuration names none.
        let configNamesPad = config["pad_token"] != nil
            || (config["added_tokens_decoder"] == nil && files.specialMap["pad_token"] != nil)
        if !configNamesPad, let padding = root["padding"] as? [String: Any], let pad = padding["pad_token"] as? String {
            config["pad_token"] = pad
        }
        let resolved = try SpecialTokenResolver(
            config: config, configPath: files.configPath, specialMap: files.specialMap,
            specialMapPath: files.specialMapPath, fileAddedTokens: try Self.addedTokenObjects(root, path: path),
            fileAddedTokensPath: path,
            defaults: ["unk_token": "<unk>", "bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>",
                       "mask_token": "<mask>"])
        let added = try resolved.addedTokens(firstNewId: entries.count, vocabularyId: { vocab[ExactString($0)] },
                                             source: path)
        func id(_ content: String) -> Int32? {
            added.first { $0.content.utf8.elementsEqual(content.utf8) }?.id ?? vocab[ExactString(content)]
        }
        let bpe = try BPEModel(exactVocab: vocab, merges: merges, unknownToken: resolved.namedContent["unk_token"],
                               endOfWordSuffix: "", fuseUnknown: true, byteFallback: true, source: path)
        let space = try ReplaceNormalizer(literal: " ", content: "\u{2581}")
        let normalizer: any Normalizer = lowercase ? NormalizerSequence([LowercaseNormalizer(), space]) : space
        let split = SplitPreTokenizer(pattern: space.pattern, behavior: .mergedWithPrevious, invert: false)
        let postProcessor = try ComponentParser.postProcessor(root["post_processor"], path: path, tokenId: id)
        pipeline = TokenizerPipeline(normalizer: normalizer, preTokenizer: split, model: AnyTokenizerModel(bpe),
                                     postProcessor: postProcessor, addedTokens: added)
        padTokenId = resolved.namedContent["pad_token"].flatMap(id)
        modelMaxLength = try TokenizerConfig.modelMaxLength(files.config, path: files.configPath)
        modelInputNames = try TokenizerConfig.modelInputNames(files.config, path: files.configPath,
                                                              default: ["input_ids", "attention_mask"])
        truncationSide = files.config["truncation_side"] != nil
            ? try TokenizerConfig.truncationSide(files.config, path: files.configPath)
            : (try Self.truncationDirection(root, path: path) ?? .right)
        // Both classes declare padding_side = "left".
        paddingSide = try TokenizerConfig.paddingSide(files.config, path: files.configPath)
            ?? Self.paddingDirection(root, path: path) ?? .left
    }

    /// `model.vocab` of tokenizer.json as (token, id) pairs with the tokens exactly as written; a list vocabulary
    /// gives ids in order.
    static func exactVocabulary(_ files: TokenizerFiles, modelObject: [String: Any], path: String) throws -> [(String, Int32)] {
        let data: Data
        do {
            data = try FileContents.read(files.tokenizerJSONURL, maxBytes: FileContents.maxTokenizerFileBytes)
        } catch {
            throw TokenizerError.unreadableFile(path: path, reason: error.localizedDescription)
        }
        if let entries = try ExactVocabularyReader.entries(of: data, path: path) {
            if entries.isEmpty { throw TokenizerError.invalidContent(path: path, reason: "empty vocabulary") }
            return entries
        }
        return try CLIPTokenizer.parseVocab(modelObject["vocab"], path: path).map { ($0.key, $0.value) }
    }
}
