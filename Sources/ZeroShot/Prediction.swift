import Foundation

/// One candidate label's result for one image, as the `zero-shot-image-classification` pipeline returns it.
public struct Prediction: Sendable, Equatable, Codable {
    /// The candidate label as given (before the hypothesis template is applied).
    public let label: String
    /// Softmax of `logits_per_image` over the candidate labels, in [0, 1]; the scores of one image sum to 1.
    public let score: Float
    /// `logits_per_image` for this label: `exp(logit_scale) · cosine(image embedding, text embedding)`.
    public let logit: Float

    public init(label: String, score: Float, logit: Float) {
        self.label = label
        self.score = score
        self.logit = logit
    }
}

/// Where an image comes from.
public enum ImageInput: Sendable {
    /// An image file (JPEG, PNG, WebP, GIF or BMP; the format is read from its bytes).
    case file(URL)
    /// The bytes of an encoded image file.
    case encoded(Data)
    /// Decoded 8-bit RGB pixels, `[height, width, 3]` (EXIF orientation already applied).
    case pixels(RGBImage)

    /// A short name for messages: the file path as given (relative when the URL was made from a relative path, as
    /// `URL(fileURLWithPath: "photos/a.jpg")`), or a description of the input.
    public var displayName: String {
        switch self {
        case .file(let url): return url.isFileURL ? url.relativePath : url.absoluteString
        case .encoded(let data): return "<\(data.count) encoded bytes>"
        case .pixels(let image): return "<\(image.width)x\(image.height) RGB pixels>"
        }
    }
}

