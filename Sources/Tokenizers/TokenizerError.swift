import Foundation

/// Errors raised while loading a tokenizer. Each case names the file (or directory) and the reason.
public enum TokenizerError: Error, LocalizedError, CustomStringConvertible, Equatable, Sendable {
    /// The tokenizer directory does not exist or is not a directory.
    case missingDirectory(path: String)
    /// A required file is absent: neither `tokenizer.json` nor the pair `vocab.json` + `merges.txt` is complete.
    case missingFile(path: String, reason: String)
    /// A file could not be read or is not valid JSON / UTF-8.
    case unreadableFile(path: String, reason: String)
    /// A file is well-formed but its content is wrong (missing key, wrong type, bad merge line, ...).
    case invalidContent(path: String, reason: String)
    /// A merge, the unknown token or a special token refers to a token absent from the vocabulary.
    case missingVocabularyEntry(path: String, token: String, reason: String)
    /// A declared normalizer, pre-tokenizer, post-processor or regular expression is not supported.
    case unsupported(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingDirectory(let path):
            return "tokenizer directory not found: \(path)"
        case .missingFile(let path, let reason):
            return "missing tokenizer file \(path): \(reason)"
        case .unreadableFile(let path, let reason):
            return "cannot read tokenizer file \(path): \(reason)"
        case .invalidContent(let path, let reason):
            return "invalid tokenizer file \(path): \(reason)"
        case .missingVocabularyEntry(let path, let token, let reason):
            return "tokenizer file \(path): token \"\(token)\" is not in the vocabulary (\(reason))"
        case .unsupported(let path, let reason):
            return "unsupported tokenizer configuration in \(path): \(reason)"
        }
    }
}

extension TokenizerError {
    /// The same text as `description`, for `localizedDescription`.
    public var errorDescription: String? { description }
}
