import Foundation

/// Builds the tokenizer a checkpoint directory declares, choosing the class as transformers 5.24's
/// `AutoTokenizer.from_pretrained` does:
///
/// 1. `tokenizer_class` of tokenizer_config.json (else of config.json), unless config.json's `model_type` registers
///    another class and is one whose Hub files are known to declare a wrong class (`siglip2`);
/// 2. else the class config.json's `model_type` registers (`clip` -> CLIPTokenizer, `chinese_clip` and `bert` ->
///    BertTokenizer, ...);
/// 3. else the generic `TokenizersBackend`, which runs `tokenizer.json` as declared.
///
/// A `Fast` suffix is ignored (`BertTokenizerFast` is `BertTokenizer`). Each class then reads the files as its
/// transformers counterpart does: `CLIPTokenizer` and `BertTokenizer` build their own pipeline and take only the
/// vocabulary (and merges) from `tokenizer.json`; `TokenizersBackend` / `PreTrainedTokenizerFast` take all of it.
public enum AutoTokenizer {
    /// Loads the tokenizer of `directory`.
    /// - Returns: the tokenizer, as `any Tokenizer` (`CLIPTokenizer`, `BertTokenizer`, `SiglipTokenizer` or
    ///   `PipelineTokenizer`).
    /// - Throws: `TokenizerError`: `.missingDirectory`; `.unsupported` naming the tokenizer class or model type and
    ///   the file that declares it when zeroshot has no such tokenizer (and when tokenizer.json declares a model,
    ///   normalizer, pre-tokenizer or post-processor it does not support); `.missingFile`, `.unreadableFile`,
    ///   `.invalidContent`, `.missingVocabularyEntry` for missing or malformed files.
    public static func load(directory: URL) throws -> any Tokenizer {
        let files = try TokenizerFiles(directory: directory)
        let choice = try tokenizerClass(files)
        switch choice.name {
        case "CLIPTokenizer":
            return try CLIPTokenizer(directory: directory)
        case "BertTokenizer":
            return try BertTokenizer(files: files, defaultModelInputNames: BertTokenizer.defaultModelInputNames)
        case "DistilBertTokenizer":
            return try BertTokenizer(files: files, defaultModelInputNames: ["input_ids", "attention_mask"])
        case "TokenizersBackend", "PreTrainedTokenizerFast", "PreTrainedTokenizer", "PythonBackend":
            return try PipelineTokenizer(files: files)
        case "SiglipTokenizer":
            return try SiglipTokenizer(files: files)
        case "GemmaTokenizer":
            return try PipelineTokenizer(gemma: files, lowercase: false)
        case "Siglip2Tokenizer":
            return try PipelineTokenizer(gemma: files, lowercase: true)
        default:
            throw TokenizerError.unsupported(
                path: choice.source,
                reason: "tokenizer class \"\(choice.declared)\"\(choice.modelType.map { " (model_type \"\($0)\")" } ?? "")"
                    + " is not supported; supported: " + supportedClasses.joined(separator: ", "))
        }
    }

    /// Tokenizer classes `load(directory:)` builds.
    public static let supportedClasses = ["CLIPTokenizer", "BertTokenizer", "DistilBertTokenizer", "SiglipTokenizer",
                                          "GemmaTokenizer", "Siglip2Tokenizer", "TokenizersBackend",
                                          "PreTrainedTokenizerFast"]

    /// transformers 5.24's `TOKENIZER_MAPPING_NAMES` for the model types of the families zeroshot runs (and BERT).
    static let classByModelType: [String: String] = [
        "clip": "CLIPTokenizer",
        "chinese_clip": "BertTokenizer",
        "bert": "BertTokenizer",
        "distilbert": "BertTokenizer",
        "siglip": "SiglipTokenizer",
        "siglip2": "Siglip2Tokenizer",
        "gemma": "GemmaTokenizer",
        "gemma2": "GemmaTokenizer",
        "gemma3": "GemmaTokenizer",
    ]

    /// Model types whose Hub tokenizer_config.json declares a wrong `tokenizer_class` (transformers'
    /// `MODELS_WITH_INCORRECT_HUB_TOKENIZER_CLASS`, the ones above): the registered class wins.
    static let modelTypesWithIncorrectHubClass: Set<String> = ["siglip2"]

    /// Classes that run `tokenizer.json` as declared.
    static let genericClasses: Set<String> = ["TokenizersBackend", "PreTrainedTokenizerFast", "PreTrainedTokenizer",
                                              "PythonBackend"]

    struct Choice: Equatable {
        /// Class name, `Fast` suffix removed (except `PreTrainedTokenizerFast`).
        var name: String
        /// The name as the file spells it.
        var declared: String
        /// The file that made the choice.
        var source: String
        var modelType: String?
    }

    static func canonical(_ name: String) -> String {
        if name == "PreTrainedTokenizerFast" || !name.hasSuffix("Fast") { return name }
        return String(name.dropLast(4))
    }

    /// The class transformers' AutoTokenizer instantiates for these files.
    static func tokenizerClass(_ files: TokenizerFiles) throws -> Choice {
        let modelType = files.modelType
        let configClass = try files.string(files.config, "tokenizer_class", path: files.configPath)
        let modelConfigClass = try files.modelConfig.flatMap {
            try files.string($0, "tokenizer_class", path: files.modelConfigPath)
        }
        let hubClass = configClass ?? modelConfigClass
        let hubSource = configClass != nil ? files.configPath : files.modelConfigPath
        let generic = Choice(name: "TokenizersBackend", declared: "TokenizersBackend", source: hubSource,
                             modelType: modelType)

        if let hubClass, let modelType, let registered = classByModelType[modelType],
           canonical(registered) != canonical(hubClass) {
            // transformers trusts the Hub's class unless the model type is known to declare a wrong one; a class
            // it does not know, or a generic one, gives TokenizersBackend.
            if modelTypesWithIncorrectHubClass.contains(modelType) {
                return Choice(name: canonical(registered), declared: registered, source: files.modelConfigPath,
                              modelType: modelType)
            }
            if genericClasses.contains(canonical(hubClass)) { return generic }
            return Choice(name: canonical(hubClass), declared: hubClass, source: hubSource, modelType: modelType)
        }
        if let hubClass {
            return Choice(name: canonical(hubClass), declared: hubClass, source: hubSource, modelType: modelType)
        }
        if let modelType, !modelType.isEmpty {
            guard let registered = classByModelType[modelType] else {
                throw TokenizerError.unsupported(
                    path: files.modelConfigPath,
                    reason: "model_type \"\(modelType)\" has no supported tokenizer (no tokenizer_class in "
                        + "tokenizer_config.json); supported model types: "
                        + classByModelType.keys.sorted().joined(separator: ", "))
            }
            return Choice(name: canonical(registered), declared: registered, source: files.modelConfigPath,
                          modelType: modelType)
        }
        return Choice(name: "TokenizersBackend", declared: "TokenizersBackend", source: files.configPath,
                      modelType: nil)
    }
}

/// The JSON files of a tokenizer directory that every class reads: tokenizer_config.json,
/// special_tokens_map.json and the model's config.json (each optional). tokenizer.json is read by the class.
struct TokenizerFiles {
    let directory: URL
    let config: [String: Any]
    let configPath: String
    let specialMap: [String: Any]
    let specialMapPath: String
    /// config.json, when present.
    let modelConfig: [String: Any]?
    let modelConfigPath: String
    var tokenizerJSONURL: URL { directory.appendingPathComponent("tokenizer.json") }

    /// - Throws: `TokenizerError.missingDirectory`; `.unreadableFile` / `.invalidContent` for a file that is not a
    ///   JSON object.
    init(directory: URL) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw TokenizerError.missingDirectory(path: directory.path)
        }
        self.directory = directory
        func object(_ name: String) throws -> (String, [String: Any]?) {
            let url = directory.appendingPathComponent(name)
            guard fm.fileExists(atPath: url.path) else { return (url.path, nil) }
            return (url.path, try CLIPTokenizer.readJSONObject(url))
        }
        let (cp, c) = try object("tokenizer_config.json")
        (configPath, config) = (cp, c ?? [:])
        let (sp, s) = try object("special_tokens_map.json")
        (specialMapPath, specialMap) = (sp, s ?? [:])
        (modelConfigPath, modelConfig) = try object("config.json")
    }

    /// config.json's `model_type` (nil when config.json is absent or does not set it).
    var modelType: String? { modelConfig?["model_type"] as? String }

    func string(_ obj: [String: Any], _ key: String, path: String) throws -> String? {
        guard let v = obj[key], !(v is NSNull) else { return nil }
        guard let s = v as? String else {
            throw TokenizerError.invalidContent(path: path, reason: "\"\(key)\" must be a string")
        }
        return s
    }

    /// tokenizer.json parsed, or nil when the directory has none.
    func tokenizerJSON() throws -> [String: Any]? {
        guard FileManager.default.fileExists(atPath: tokenizerJSONURL.path) else { return nil }
        return try CLIPTokenizer.readJSONObject(tokenizerJSONURL)
    }
}
