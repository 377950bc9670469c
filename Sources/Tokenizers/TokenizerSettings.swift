import Foundation

/// The keys of `tokenizer_config.json` (and `special_tokens_map.json`) that the SentencePiece-based tokenizers read.
struct TokenizerSettings: Decodable {
    /// A named special token: a plain string or an AddedToken object.
    struct TokenSpec: Decodable {
        var content: String
        var lstrip: Bool?
        var rstrip: Bool?
        var singleWord: Bool?
        var normalized: Bool?
        var special: Bool?

        enum CodingKeys: String, CodingKey {
            case content, lstrip, rstrip, normalized, special
            case singleWord = "single_word"
        }

        init(content: String) { self.content = content }

        init(from decoder: Decoder) throws {
            if let s = try? decoder.singleValueContainer().decode(String.self) {
                content = s
                return
            }
            let c = try decoder.container(keyedBy: CodingKeys.self)
            content = try c.decode(String.self, forKey: .content)
            lstrip = try c.decodeIfPresent(Bool.self, forKey: .lstrip)
            rstrip = try c.decodeIfPresent(Bool.self, forKey: .rstrip)
            singleWord = try c.decodeIfPresent(Bool.self, forKey: .singleWord)
            normalized = try c.decodeIfPresent(Bool.self, forKey: .normalized)
            special = try c.decodeIfPresent(Bool.self, forKey: .special)
        }
    }

    var tokenizerClass: String?
    var doLowerCase: Bool?
    var modelMaxLength: Double?
    var modelInputNames: [String]?
    var bosToken: TokenSpec?
    var eosToken: TokenSpec?
    var unkToken: TokenSpec?
    var padToken: TokenSpec?
    var maskToken: TokenSpec?
    var additionalSpecialTokens: [TokenSpec]?
    var extraSpecialTokens: [TokenSpec]?
    var addedTokensDecoder: [String: TokenSpec]?
    /// `legacy` (SentencePiece tokenizers: false turns the model's `add_dummy_prefix` off).
    var legacy: Bool?
    /// Keys whose value is JSON null (a token explicitly unset).
    var nullKeys: Set<String> = []

    enum CodingKeys: String, CodingKey, CaseIterable {
        case tokenizerClass = "tokenizer_class"
        case doLowerCase = "do_lower_case"
        case modelMaxLength = "model_max_length"
        case modelInputNames = "model_input_names"
        case bosToken = "bos_token"
        case eosToken = "eos_token"
        case unkToken = "unk_token"
        case padToken = "pad_token"
        case maskToken = "mask_token"
        case additionalSpecialTokens = "additional_special_tokens"
        case extraSpecialTokens = "extra_special_tokens"
        case addedTokensDecoder = "added_tokens_decoder"
        case legacy
    }

    init() {}

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        for key in CodingKeys.allCases where c.contains(key) {
            if try c.decodeNil(forKey: key) { nullKeys.insert(key.rawValue) }
        }
        tokenizerClass = try c.decodeIfPresent(String.self, forKey: .tokenizerClass)
        doLowerCase = try c.decodeIfPresent(Bool.self, forKey: .doLowerCase)
        modelMaxLength = try c.decodeIfPresent(Double.self, forKey: .modelMaxLength)
        modelInputNames = try c.decodeIfPresent([String].self, forKey: .modelInputNames)
        bosToken = try c.decodeIfPresent(TokenSpec.self, forKey: .bosToken)
        eosToken = try c.decodeIfPresent(TokenSpec.self, forKey: .eosToken)
        unkToken = try c.decodeIfPresent(TokenSpec.self, forKey: .unkToken)
        padToken = try c.decodeIfPresent(TokenSpec.self, forKey: .padToken)
        maskToken = try c.decodeIfPresent(TokenSpec.self, forKey: .maskToken)
        additionalSpecialTokens = try c.decodeIfPresent([TokenSpec].self, forKey: .additionalSpecialTokens)
        // transformers also writes extra_special_tokens as an object {name: token}; only the list form adds tokens.
        extraSpecialTokens = try? c.decodeIfPresent([TokenSpec].self, forKey: .extraSpecialTokens)
        addedTokensDecoder = try c.decodeIfPresent([String: TokenSpec].self, forKey: .addedTokensDecoder)
        legacy = try c.decodeIfPresent(Bool.self, forKey: .legacy)
    }

    /// Reads `name` in `directory` when it exists (an empty configuration otherwise).
    /// - Throws: `TokenizerError.unreadableFile` / `.invalidContent` naming the file.
    static func read(_ directory: URL, _ name: String) throws -> TokenizerSettings {
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else { return TokenizerSettings() }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        do {
            return try JSONDecoder().decode(TokenizerSettings.self, from: data)
        } catch let error as DecodingError {
            throw TokenizerError.invalidContent(path: url.path, reason: TokenizerSettings.describe(error))
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: "not valid JSON")
        }
    }

    /// `tokenizer_config.json`, with the named tokens that it lacks taken from `special_tokens_map.json`.
    static func load(directory: URL) throws -> TokenizerSettings {
        var config = try read(directory, "tokenizer_config.json")
        let map = try read(directory, "special_tokens_map.json")
        func fill(_ key: WritableKeyPath<TokenizerSettings, TokenSpec?>, _ name: String) {
            if config[keyPath: key] == nil && !config.nullKeys.contains(name) {
                config[keyPath: key] = map[keyPath: key]
            }
        }
        fill(\.bosToken, "bos_token")
        fill(\.eosToken, "eos_token")
        fill(\.unkToken, "unk_token")
        fill(\.padToken, "pad_token")
        fill(\.maskToken, "mask_token")
        if config.additionalSpecialTokens == nil { config.additionalSpecialTokens = map.additionalSpecialTokens }
        return config
    }

    /// `model_max_length` when it is a real limit: nil when absent or at least transformers' `LARGE_INTEGER`
    /// (1e20; the saved "no limit" is 1e30).
    var modelMaxLengthLimit: Int? {
        guard let v = modelMaxLength, v.isFinite, v >= 0, v < 1e20, v <= Double(Int32.max) else { return nil }
        return Int(v)
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx), .keyNotFound(_, let ctx), .dataCorrupted(let ctx):
            let path = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? ctx.debugDescription : "\"\(path)\": \(ctx.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
