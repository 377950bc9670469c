import Foundation
import ImageIO

/// What a file holds, recognised from its first bytes (never from its name), so that a walk can tell the files a
/// run takes from the others.
public enum ContentKind: Sendable, Equatable {
    /// An image `ImageDecoder` reads.
    case image(ImageFormat)
    /// An image in a format that is not decoded (TIFF, HEIF, AVIF, ...): taken as an input, so that its error says so
    /// instead of the photo being left out without a word.
    case unsupportedImage(String)
    /// Anything else.
    case other

    /// How many leading bytes `sniff` looks at.
    public static let headerLength = 64

    /// The kind of content that starts with `bytes` (`ImageFormat.detect`, then `ImageFormat.unsupportedName`).
    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> ContentKind {
        if let format = ImageFormat.detect(bytes) { return .image(format) }
        if let name = ImageFormat.unsupportedName(bytes) { return .unsupportedImage(name) }
        return .other
    }

    /// Whether a walk takes the file as an input.
    public var isInput: Bool {
        switch self {
        case .image, .unsupportedImage: return true
        case .other: return false
        }
    }
}
