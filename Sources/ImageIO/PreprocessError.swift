import Foundation

/// Why one image cannot be turned into pixel_values, or why its pixel_values do not fit the vision model. Each case
/// is a failure of transformers' `CLIPImageProcessorPil` (or of `CLIPVisionEmbeddings`) for the same image and
/// `preprocessor_config.json`; the file loads, and other images may still succeed.
public enum ImagePreprocessingError: Error, LocalizedError, CustomStringConvertible, Equatable, Sendable {
    /// A step is enabled but a value it needs is `null` in the file (transformers: "`size` and `resample` must be
    /// specified if `do_resize` is `True`." and the like). `key` is the null key, `step` the flag that needs it.
    case missingValue(key: String, step: String)
    /// `do_resize` with a size dictionary that transformers' resize cannot use (`ImageProcessorConfig.Size.notResizable`;
    /// transformers: "Size must contain 'height' and 'width' keys, or 'max_height' and 'max_width', or
    /// 'shortest_edge' key.").
    case notResizable(size: String)
    /// The resize gives this image a side of zero or less pixels (transformers via Pillow: "height and width must
    /// be > 0"), e.g. a 200 x 2 image with `{"max_height": 64, "max_width": 64}` (64 x 0).
    case emptyResize(height: Int, width: Int)
    /// `do_center_crop` with a `crop_size` dictionary without `height` and `width`
    /// (`ImageProcessorConfig.unusableCropSize`; transformers fails in `center_crop`).
    case cropSizeWithoutHeightAndWidth(cropSize: String)
    /// The pixel_values of this image are `height` x `width` but the vision model takes `modelHeight` x
    /// `modelWidth` (transformers' `CLIPVisionEmbeddings`: "Input image size (H*W) doesn't match model (S*S).").
    /// Happens without a center crop for images whose resized size differs from the model's, or for every image
    /// when the crop or the fixed resize size is not the model's.
    case sizeMismatch(height: Int, width: Int, modelHeight: Int, modelWidth: Int)
    /// A value that transformers loads but cannot apply in an enabled step (`ImageProcessorConfig.unusableValues`):
    /// a `resample` Pillow does not know, an `image_mean`/`image_std` without one value per channel, a
    /// `rescale_factor` that is not a number, a `pad_size` without height and width. `key` is the key, `value` its
    /// JSON, `step` the flag of the step, `reason` why (with transformers' error).
    case unusableValue(key: String, value: String, step: String, reason: String)
    /// `do_pad` with a `pad_size` smaller than this image's pixel_values (transformers: "Padding dimensions are
    /// negative. Please make sure that the `pad_size` is larger than the image size.").
    case padSmallerThanImage(padHeight: Int, padWidth: Int, height: Int, width: Int)
    /// The resize or the padding of `preprocessor_config.json` would make this image `height` x `width` pixels, more
    /// than `limit` (`ImageProcessor.maxPixels`); refused before any memory is allocated.
    case tooLarge(height: Int, width: Int, limit: Int)

    public var description: String {
        switch self {
        case let .missingValue(key, step):
            return "preprocessor_config.json sets \(key) to null but \(step) is true and needs it"
        case let .notResizable(size):
            return "preprocessor_config.json size \(size) cannot be used to resize: it needs a non-zero "
                + "\"shortest_edge\" (optionally with \"longest_edge\"), \"height\" and \"width\", or "
                + "\"max_height\" and \"max_width\""
        case let .emptyResize(height, width):
            return "preprocessor_config.json's size resizes the image to \(height)x\(width) (height x width) pixels; "
                + "both sides must be at least 1"
        case let .cropSizeWithoutHeightAndWidth(cropSize):
            return "preprocessor_config.json crop_size \(cropSize) cannot be used to center crop: it needs "
                + "\"height\" and \"width\""
        case let .sizeMismatch(height, width, modelHeight, modelWidth):
            return "the pixel_values of the image are \(height)x\(width) (height x width) but the vision model takes "
                + "\(modelHeight)x\(modelWidth) (transformers: \"Input image size (\(height)*\(width)) doesn't match model "
                + "(\(modelHeight)*\(modelWidth)).\")"
        case let .unusableValue(key, value, step, reason):
            return "preprocessor_config.json \(key) \(value) cannot be used by \(step): \(reason)"
        case let .padSmallerThanImage(padHeight, padWidth, height, width):
            return "preprocessor_config.json pad_size is \(padHeight)x\(padWidth) (height x width) but the pixel_values "
                + "of the image are \(height)x\(width) before padding; do_pad cannot make them smaller"
        case let .tooLarge(height, width, limit):
            return "preprocessor_config.json makes the image \(height)x\(width) (height x width) pixels, over the "
                + "limit of \(limit) pixels"
        }
    }

    public var errorDescription: String? { description }
}
