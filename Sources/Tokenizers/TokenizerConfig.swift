import Foundation

/// Which end of the text `truncation=True` cuts (`truncation_side` of tokenizer_config.json).
public enum TruncationSide: String, Sendable {
    case right
    case left
}

extension TokenizerPipeline {
    /// The ids with the post-processor's special tokens, truncated as `tokenizer(text, truncation=True,
    /// max_length=maxLength)` does: the text's tokens are cut (from `truncationSide`) so that the row, special tokens
    /// included, is `maxLength` long. A `maxLength` smaller than the number of special tokens leaves the text whole,
    /// as `tokenizers` does (its limit for the text wraps around).
    func encode(_ text: String, maxLength: Int?, truncationSide: TruncationSide) -> Encoding {
        var content = encodeContent(text)
        let specials = specialTokenCount
        var truncated = false
        if let maxLength, maxLength >= specials, content.count + specials > maxLength {
            let keep = maxLength - specials
            content = truncationSide == .left ? Array(content.suffix(keep)) : Array(content.prefix(keep))
            truncated = true
        }
        return Encoding(ids: postProcessor.process(content), wasTruncated: truncated)
    }
}

/// Values of tokenizer_config.json shared by every tokenizer class.
enum TokenizerConfig {
    /// transformers' `LARGE_INTEGER` (1e20): a `model_max_length` at or above it means "no limit" (the saved
    /// default is `VERY_LARGE_INTEGER`, 1e30).
    static let noLimitThreshold = 1e20

    /// `model_max_length` when it is a real limit; nil when absent, null or the 1e30 sentinel.
    /// - Throws: `TokenizerError.invalidContent` when it is not a non-negative integer.
    static func modelMaxLength(_ config: [String: Any], path: String) throws -> Int? {
        guard let value = config["model_max_length"], !(value is NSNull) else { return nil }
        guard let n = value as? NSNumber, n.doubleValue >= 0,
              n.doubleValue == n.doubleValue.rounded() else {
            throw TokenizerError.invalidContent(path: path, reason: "\"model_max_length\" must be a non-negative integer")
        }
        if n.doubleValue >= noLimitThreshold || n.doubleValue > Double(Int32.max) { return nil }
        return n.intValue
    }

    /// `model_input_names`, else the class default.
    /// - Throws: `TokenizerError.invalidContent` when it is not a non-empty list of strings.
    static func modelInputNames(_ config: [String: Any], path: String, default names: [String]) throws -> [String] {
        guard let value = config["model_input_names"], !(value is NSNull) else { return names }
        guard let list = value as? [String], !list.isEmpty else {
            throw TokenizerError.invalidContent(path: path, reason: "\"model_input_names\" must be a non-empty list of strings")
        }
        return list
    }

    /// `padding_side` of tokenizer_config.json, nil when absent.
    /// - Throws: `TokenizerError.invalidContent` when it is not "right" or "left".
    static func paddingSide(_ config: [String: Any], path: String) throws -> PaddingSide? {
        guard let value = config["padding_side"], !(value is NSNull) else { return nil }
        guard let s = value as? String, let side = PaddingSide(rawValue: s) else {
            throw TokenizerError.invalidContent(path: path, reason: "\"padding_side\" must be \"right\" or \"left\"")
        }
        return side
    }

    /// `truncation_side`: "right" (the default) or "left".
    static func truncationSide(_ config: [String: Any], path: String) throws -> TruncationSide {
        guard let value = config["truncation_side"], !(value is NSNull) else { return .right }
        guard let s = value as? String, let side = TruncationSide(rawValue: s) else {
            throw TokenizerError.invalidContent(path: path, reason: "\"truncation_side\" must be \"right\" or \"left\"")
        }
        return side
    }

    /// A boolean setting: absent or null gives `default`.
    static func bool(_ config: [String: Any], _ key: String, path: String, default value: Bool?) throws -> Bool? {
        guard let raw = config[key], !(raw is NSNull) else { return value }
        guard let b = raw as? Bool else {
            throw TokenizerError.invalidContent(path: path, reason: "\"\(key)\" must be true, false or null")
        }
        return b
    }
}

extension SpecialTokenResolver {
    /// The added tokens in the order they were first added, each with the flags of its last addition, as
    /// transformers' `add_tokens` leaves them: a token in the vocabulary keeps its id; the others get new ids from
    /// `firstNewId` on.
    /// - Parameters:
    ///   - vocabularyId: the model's id of a token, if it has one.
    ///   - source: file named in errors.
    /// - Throws: `TokenizerError.invalidContent` when a new id would pass `Int32.max`.
    func addedTokens(firstNewId: Int, vocabularyId: (String) -> Int32?, source: String) throws -> [AddedToken] {
        var nextId = firstNewId  // Int: one past Int32.max must not trap
        var addedByContent: [String: AddedToken] = [:]
        var order: [String] = []
        for spec in tokensInAddOrder {
            let id: Int32
            if let existing = addedByContent[spec.content] {
                id = existing.id
            } else if let v = vocabularyId(spec.content) {
                id = v
            } else {
                guard nextId <= Int(Int32.max) else {
                    throw TokenizerError.invalidContent(
                        path: source, reason: "no id left for added token \"\(spec.content)\" (ids reach \(Int32.max))")
                }
                id = Int32(nextId)
                nextId += 1
            }
            if addedByContent[spec.content] == nil { order.append(spec.content) }
            addedByContent[spec.content] = AddedToken(content: spec.content, id: id, singleWord: spec.singleWord,
                                                      lstrip: spec.lstrip, rstrip: spec.rstrip,
                                                      normalized: spec.normalized, special: spec.special)
        }
        return order.compactMap { addedByContent[$0] }
    }
}
