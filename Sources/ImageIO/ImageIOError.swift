import Foundation

/// An image that could not be decoded, with the file it came from (when known) and the reason.
public struct ImageIOError: Error, LocalizedError, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, for callers that branch on it.
    public enum Kind: String, Sendable, Equatable {
        /// The file could not be read.
        case unreadable
        /// The data ends before the image does (a cut-off download, a partial copy).
        case truncated
        /// The data has the signature of a supported format but is malformed.
        case corrupt
        /// The data is an image in a format (or a variant of one) this decoder does not read.
        case unsupportedFormat
        /// The data is not a recognised image at all.
        case notAnImage
        /// Width x height exceeds the pixel limit (decompression-bomb guard), checked from the header.
        case tooLarge
        /// Memory for the pixels could not be allocated.
        case outOfMemory
    }

    public let kind: Kind
    /// The file path when decoding from a URL, else `nil`.
    public let source: String?
    /// Why decoding failed, e.g. "truncated JPEG data (image data ends early)".
    public let reason: String

    public init(kind: Kind, source: String?, reason: String) {
        self.kind = kind
        self.source = source
        self.reason = reason
    }

    public var description: String {
        if let source { return "\(source): \(reason)" }
        return reason
    }

    func with(source: String?) -> ImageIOError {
        ImageIOError(kind: kind, source: source, reason: reason)
    }
}

extension ImageIOError {
    /// The same text as `description`, for `localizedDescription`.
    public var errorDescription: String? { description }
}
