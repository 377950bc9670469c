import FileReading
import Foundation

/// transformers 5.24's `BertTokenizer` (tokenizers backend): WordPiece with BERT's normalizer and pre-tokenizer,
/// `[CLS] ... [SEP]`.
///
/// As transformers does, only the vocabulary comes from the files (`tokenizer.json`'s `model.vocab`, else
/// `vocab.txt`, one token per line); the pipeline is BERT's whatever `tokenizer.json` declares, configured by
/// tokenizer_config.json: `BertNormalizer(clean_text: true, handle_chinese_chars: tokenize_chinese_chars,
/// strip_accents, lowercase: do_lower_case)` (defaults true, true, null: accents are stripped when lowercasing),
/// `BertPreTokenizer`, `WordPiece(unk_token, "##", 100 characters per word)`, then `[CLS] $A [SEP]`.
/// `never_split` is ignored, as in transformers 5 (its tokenizers backend has no such option). Special tokens
/// (`[UNK]`, `[SEP]`, `[PAD]`, `[CLS]`, `[MASK]` by default, tokenizer_config.json / special_tokens_map.json
/// override them) are matched in the raw text.
public struct BertTokenizer: Tokenizer {
    public let pipeline: TokenizerPipeline<WordPieceModel>
    public let clsTokenId: Int32
    public let sepTokenId: Int32
    public let unknownTokenId: Int32
    public let padTokenId: Int32?
    public let modelMaxLength: Int?
    public let modelInputNames: [String]
    /// `truncation_side` of tokenizer_config.json, else tokenizer.json's truncation direction, else right.
    public let truncationSide: TruncationSide
    /// `do_lower_case`, `tokenize_chinese_chars`, and the accent stripping in effect (`strip_accents`, or
    /// `do_lower_case` when unset).
    public let doLowerCase: Bool
    public let tokenizeChineseChars: Bool
    public let stripAccents: Bool

    /// BertTokenizer's `model_input_names`.
    public static let defaultModelInputNames = ["input_ids", "token_type_ids", "attention_mask"]
    static let defaultSpecialTokens = ["unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                                       "cls_token": "[CLS]", "mask_token": "[MASK]"]

    /// Loads `directory` as a BertTokenizer, whatever tokenizer_config.json's `tokenizer_class` says.
    /// - Throws: `TokenizerError` naming the file and the reason (see `AutoTokenizer.load(directory:)`).
    public init(directory: URL) throws {
        try self.init(files: TokenizerFiles(directory: directory), defaultModelInputNames: Self.defaultModelInputNames)
    }

    init(files: TokenizerFiles, defaultModelInputNames: [String]) throws {
        let config = files.config
        let configPath = files.configPath
        var vocab: [(String, Int32)]
        var fileAddedTokens: [[String: Any]] = []
        let vocabSource: String
        var jsonTruncationSide: TruncationSide? = nil
        if let root = try files.tokenizerJSON() {
            vocabSource = files.tokenizerJSONURL.path
            guard let model = root["model"] as? [String: Any] else {
                throw TokenizerError.invalidContent(path: vocabSource, reason: "no \"model\" object")
            }
            vocab = try Self.jsonVocab(model["vocab"], path: vocabSource)
            fileAddedTokens = try PipelineTokenizer.addedTokenObjects(root, path: vocabSource)
            jsonTruncationSide = try PipelineTokenizer.truncationDirection(root, path: vocabSource)
        } else {
            let url = files.directory.appendingPathComponent("vocab.txt")
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw TokenizerError.missingFile(
                    path: url.path, reason: "BertTokenizer needs tokenizer.json or vocab.txt, and neither is there")
            }
            vocabSource = url.path
            vocab = try Self.readVocabText(url)
        }

        doLowerCase = try TokenizerConfig.bool(config, "do_lower_case", path: configPath, default: true)!
        tokenizeChineseChars = try TokenizerConfig.bool(config, "tokenize_chinese_chars", path: configPath,
                                                        default: true)!
        stripAccents = try TokenizerConfig.bool(config, "strip_accents", path: configPath, default: nil) ?? doLowerCase

        let resolved = try SpecialTokenResolver(
            config: config, configPath: configPath, specialMap: files.specialMap, specialMapPath: files.specialMapPath,
            fileAddedTokens: fileAddedTokens, fileAddedTokensPath: vocabSource, defaults: Self.defaultSpecialTokens)
        guard let unk = resolved.namedContent["unk_token"] else {
            throw TokenizerError.invalidContent(path: configPath, reason: "BertTokenizer needs an unk_token")
        }
        let model = try WordPieceModel(vocab: vocab, unknownToken: unk, source: vocabSource)
        let splitSpecial = try TokenizerConfig.bool(config, "split_special_tokens", path: configPath, default: false)!
        let added = try resolved.addedTokens(firstNewId: model.vocabularyCount, vocabularyId: model.id(of:),
                                             source: vocabSource)
        func id(_ key: String) -> Int32? {
            guard let content = resolved.namedContent[key] else { return nil }
            return added.first { $0.content == content }?.id ?? model.id(of: content)
        }
        // As BertTokenizer: the template's ids default to 2 and 3 when the tokens are unset.
        clsTokenId = id("cls_token") ?? 2
        sepTokenId = id("sep_token") ?? 3
        unknownTokenId = model.unknownTokenId
        padTokenId = id("pad_token")
        pipeline = TokenizerPipeline(
            normalizer: BertNormalizer(cleanText: true, handleChineseChars: tokenizeChineseChars,
                                       stripAccents: stripAccents, lowercase: doLowerCase),
            preTokenizer: BertPreTokenizer(), model: model,
            postProcessor: TemplatePostProcessor(items: [.special([clsTokenId]), .sequence, .special([sepTokenId])]),
            addedTokens: splitSpecial ? added.filter { !$0.special } : added)
        modelMaxLength = try TokenizerConfig.modelMaxLength(config, path: configPath)
        modelInputNames = try TokenizerConfig.modelInputNames(config, path: configPath, default: defaultModelInputNames)
        truncationSide = config["truncation_side"] != nil
            ? try TokenizerConfig.truncationSide(config, path: configPath) : (jsonTruncationSide ?? .right)
    }

    /// input_ids as transformers' `BertTokenizer(text).input_ids`: `[CLS] ... [SEP]`, not truncated.
    public func encode(_ text: String) -> [Int32] {
        pipeline.postProcessor.process(pipeline.encodeContent(text))
    }

    /// `tokenizer(text, truncation=True, max_length=maxLength).input_ids`: the text's tokens are cut from
    /// `truncationSide` so that the row, special tokens included, is `maxLength` long; a `maxLength` below the
    /// number of special tokens leaves the text whole, as `tokenizers` does.
    public func encode(_ text: String, maxLength: Int) -> Encoding {
        pipeline.encode(text, maxLength: maxLength, truncationSide: truncationSide)
    }

    /// `model.vocab` of tokenizer.json: `{token: id}`, or a list of tokens (or `[token, score]` pairs) in id order.
    static func jsonVocab(_ json: Any?, path: String) throws -> [(String, Int32)] {
        if let list = json as? [Any] {
            var vocab: [(String, Int32)] = []
            vocab.reserveCapacity(list.count)
            for (i, item) in list.enumerated() {
                if let s = item as? String {
                    vocab.append((s, Int32(i)))
                } else if let pair = item as? [Any], let s = pair.first as? String {
                    vocab.append((s, Int32(i)))
                } else {
                    throw TokenizerError.invalidContent(path: path, reason: "vocabulary entry \(i) is not a token")
                }
            }
            if vocab.isEmpty { throw TokenizerError.invalidContent(path: path, reason: "empty vocabulary") }
            return vocab
        }
        return try CLIPTokenizer.parseVocab(json, path: path).map { ($0.key, $0.value) }
    }

    /// vocab.txt as `tokenizers`' WordPiece reads it: line n (from 0) is token n, with trailing whitespace removed
    /// (so a line holding only U+2028 is the empty token); a token listed twice keeps its last line.
    static func readVocabText(_ url: URL) throws -> [(String, Int32)] {
        let data: Data
        do {
            data = try FileContents.read(url, maxBytes: FileContents.maxTokenizerFileBytes)
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.unreadableFile(path: url.path, reason: "not valid UTF-8")
        }
        // Split on U+000A itself: as Characters, "\r\n" is one and would not split.
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard !lines.isEmpty else { throw TokenizerError.invalidContent(path: url.path, reason: "empty vocabulary") }
        guard lines.count <= Int(Int32.max) else {
            throw TokenizerError.invalidContent(path: url.path, reason: "more than \(Int32.max) lines")
        }
        var vocab: [(String, Int32)] = []
        vocab.reserveCapacity(lines.count)
        for (i, line) in lines.enumerated() {
            var scalars = line
            while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
            vocab.append((String(String.UnicodeScalarView(scalars)), Int32(i)))
        }
        return vocab
    }
}
