import FileReading
import Foundation

/// Image preprocessing: RGB bytes to `pixel_values`, identical to transformers' Pillow backend (`PilBackend`) as
/// `CLIPImageProcessorPil`, `ChineseCLIPImageProcessorPil` and `SiglipImageProcessorPil` run it.
///
/// Steps, each only when enabled in the config:
/// 0. convert to RGB (`do_convert_rgb`): pixels equal to the image's `transparentColor` become white, as
///    transformers' `convert_to_rgb` does for a Pillow image with `info["transparency"]`;
/// 1. resize to `size` with Pillow's resampling (`resample`, BICUBIC by default; antialiased,
///    fixed-point, 8-bit intermediate between the passes), as `PIL.Image.resize`;
/// 2. center crop to `crop_size` with offsets `floor((resized - crop) / 2)`, padding with zeros where the
///    resized image is smaller than the crop; without a center crop the size is the resized size (or the image's
///    own without a resize), so it can differ from image to image, as in transformers;
/// 3. rescale: `Float(Double(byte) * rescale_factor)` (float64 product rounded to float32, as numpy);
/// 4. normalize: `(x - mean[c]) / std[c]` in float32;
/// 5. channel-first layout `[3, height, width]`;
/// 6. pad (`do_pad` with a `pad_size`): zeros below and right of the normalized values up to `pad_size`.
public struct ImageProcessor: Sendable {
    public let config: ImageProcessorConfig
    /// `lookup[c * 256 + v]`: the final float of channel `c` for the 8-bit value `v`. Every step after the
    /// crop is a per-channel function of one byte, so a table gives the exact values.
    private let lookup: [Float]

    /// - Precondition: `config` passes `validate()` (configs decoded from JSON always do).
    public init(config: ImageProcessorConfig) {
        do {
            try config.validate()
        } catch {
            preconditionFailure("\(error)")
        }
        self.config = config
        var table = [Float](repeating: 0, count: 3 * 256)
        for c in 0..<3 {
            let mean = config.doNormalize ? Float(config.imageMean[c]) : 0
            let std = config.doNormalize ? Float(config.imageStd[c]) : 1
            for v in 0..<256 {
                var x = config.doRescale ? Float(Double(v) * config.rescaleFactor) : Float(v)
                if config.doNormalize { x = (x - mean) / std }
                table[c * 256 + v] = x
            }
        }
        lookup = table
    }

    /// Reads a `preprocessor_config.json`; `processorClass` gives the defaults for missing keys when the file names
    /// no `image_processor_type` (the model family's class).
    /// - Throws: `ImageProcessorConfigError` naming the file and the reason (unreadable, not JSON,
    ///   wrong type or unsupported value, an unsupported `image_processor_type`).
    public init(contentsOf url: URL, processorClass: ImageProcessorClass = .clip) throws {
        let data: Data
        do {
            data = try FileContents.read(url, maxBytes: FileContents.maxConfigBytes)
        } catch {
            throw ImageProcessorConfigError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        let config: ImageProcessorConfig
        do {
            let decoder = JSONDecoder()
            decoder.userInfo[ImageProcessorClass.userInfoKey] = processorClass
            config = try decoder.decode(ImageProcessorConfig.self, from: data)
        } catch let ImageProcessorConfigError.invalidValue(key, reason) {
            throw ImageProcessorConfigError.invalidValueInFile(path: url.path, key: key, reason: reason)
        } catch let error as DecodingError {
            throw ImageProcessorConfigError.invalidJSON(path: url.path, reason: Self.describe(error))
        } catch {
            throw ImageProcessorConfigError.invalidJSON(path: url.path, reason: "\(error)")
        }
        self.init(config: config)
    }

    /// The pixel_values size `(height, width)` shared by every image, when the config fixes one: the crop size,
    /// or the `{"height", "width"}` resize size without a crop. nil when it depends on the image (no crop and an
    /// aspect-preserving resize, or no resize) or when every image fails (`everyImageError`).
    public var fixedOutputSize: (height: Int, width: Int)? {
        if everyImageError != nil { return nil }
        if config.doPad, let pad = config.padSize { return pad }
        if config.doCenterCrop { return (max(config.cropHeight, 0), max(config.cropWidth, 0)) }
        if config.doResize, case let .exact(h, w) = config.size { return (h, w) }
        return nil
    }

    /// The error every image gets whatever its size (a `null` value an enabled step needs, a size dictionary
    /// resizing cannot use, a negative side, a crop size without height and width, a value in
    /// `ImageProcessorConfig.unusableValues` that an enabled step needs), else nil. transformers loads
    /// such a config and fails each image; callers can warn once. (Any positive size keeps a 1 x 1 image non-empty,
    /// so the error of a 1 x 1 image is the error of all.)
    public var everyImageError: ImagePreprocessingError? {
        do {
            _ = try outputSize(width: 1, height: 1)
            return nil
        } catch {
            return error as? ImagePreprocessingError
        }
    }

    /// Size of the image after the resize step, as transformers computes it (`height`, `width`); the image's own
    /// size without `do_resize`.
    /// - Throws: `ImagePreprocessingError.notResizable` for a size dictionary transformers' resize cannot use,
    ///   `.unusableValue` for a `resample` it cannot use (a list or dictionary before the size is looked at, an
    ///   unknown filter number after, as transformers and Pillow check them), `.emptyResize` when a side comes out
    ///   below 1 pixel (Pillow's "height and width must be > 0"). Pillow checks the filter even when the size does
    ///   not change.
    /// - Precondition: `width > 0`, `height > 0` (as every `RGBImage`).
    public func resizedSize(width: Int, height: Int) throws -> (height: Int, width: Int) {
        precondition(width > 0 && height > 0, "image size \(width)x\(height) must be positive")
        guard config.doResize else { return (height, width) }
        let badResample = config.unusableValues["resample"].map {
            (error: ImagePreprocessingError.unusableValue(key: "resample", value: $0.json, step: "do_resize",
                                                         reason: $0.reason),
             beforeSize: $0.json.hasPrefix("[") || $0.json.hasPrefix("{"))
        }
        if let bad = badResample, bad.beforeSize { throw bad.error }
        let (h, w): (Int, Int)
        switch config.size {
        case let .shortestEdge(s):
            // get_resize_output_image_size(default_to_square=False): the long side is truncated.
            if width <= height {
                (h, w) = (Int(Double(s * height) / Double(width)), s)
            } else {
                (h, w) = (s, Int(Double(s * width) / Double(height)))
            }
        case let .shortestAndLongestEdge(shortest, longest):
            (h, w) = Self.sizeWithAspectRatio(height: height, width: width, size: shortest, maxSize: longest)
        case let .exact(eh, ew):
            (h, w) = (eh, ew)
        case let .maxHeightWidth(mh, mw):
            // get_image_size_for_max_height_width
            let scale = min(Double(mh) / Double(height), Double(mw) / Double(width))
            (h, w) = (Int(Double(height) * scale), Int(Double(width) * scale))
        case let .notResizable(size):
            throw ImagePreprocessingError.notResizable(size: size)
        }
        if let bad = badResample { throw bad.error }
        guard h > 0, w > 0 else { throw ImagePreprocessingError.emptyResize(height: h, width: w) }
        return (h, w)
    }

    /// Size of the pixel_values of an image of this size, `(height, width)`: the values are `[3, height, width]`.
    /// With a center crop, the crop size (a zero or negative crop side gives 0, as transformers' slicing does);
    /// without one, the resized size; with `do_pad` and a `pad_size`, the pad size.
    /// - Throws: `ImagePreprocessingError` where transformers' image processor fails for this image, checking in
    ///   its order: `null` values an enabled step needs, then the resize, the crop size, the rescale factor, the
    ///   mean and standard deviation, the padding.
    public func outputSize(width: Int, height: Int) throws -> (height: Int, width: Int) {
        let unpadded = try sizeBeforePadding(width: width, height: height)
        // With a center crop only the crop's window of the resized grid is computed, however large the grid.
        try Self.checkPixels(unpadded)
        func check(_ key: String, _ step: String, _ enabled: Bool) throws {
            if enabled, let bad = config.unusableValues[key] {
                throw ImagePreprocessingError.unusableValue(key: key, value: bad.json, step: step, reason: bad.reason)
            }
        }
        try check("rescale_factor", "do_rescale", config.doRescale)
        try check("image_mean", "do_normalize", config.doNormalize)
        try check("image_std", "do_normalize", config.doNormalize)
        guard config.doPad else { return unpadded }
        try check("pad_size", "do_pad", true)
        guard let pad = config.padSize else { return unpadded }
        guard pad.height >= unpadded.height, pad.width >= unpadded.width else {
            throw ImagePreprocessingError.padSmallerThanImage(
                padHeight: pad.height, padWidth: pad.width, height: unpadded.height, width: unpadded.width)
        }
        try Self.checkPixels(pad)
        return pad
    }

    /// The most pixels of the pixel_values of an image (after the resize or the crop, and after the padding): 178,956,970, Pillow's
    /// `Image.MAX_IMAGE_PIXELS` (the decoders' limit too); pixel_values that large take 2 GiB of float32.
    public static let maxPixels = 178_956_970

    /// - Throws: `ImagePreprocessingError.tooLarge` when `size` has more than `maxPixels` pixels.
    static func checkPixels(_ size: (height: Int, width: Int)) throws {
        let (pixels, overflow) = size.height.multipliedReportingOverflow(by: size.width)
        if overflow || pixels > maxPixels {
            throw ImagePreprocessingError.tooLarge(height: size.height, width: size.width, limit: maxPixels)
        }
    }

    /// The size after the resize and the crop (the pixel_values before `do_pad`), with their errors.
    private func sizeBeforePadding(width: Int, height: Int) throws -> (height: Int, width: Int) {
        // validate_preprocess_arguments
        let needs: [(flag: Bool, step: String, keys: [String])] = [
            (config.doRescale, "do_rescale", ["rescale_factor"]),
            (config.doNormalize, "do_normalize", ["image_mean", "image_std"]),
            (config.doCenterCrop, "do_center_crop", ["crop_size"]),
            (config.doResize, "do_resize", ["size", "resample"]),
        ]
        for need in needs where need.flag {
            if let key = need.keys.first(where: config.nullKeys.contains) {
                throw ImagePreprocessingError.missingValue(key: key, step: need.step)
            }
        }
        let resized = try resizedSize(width: width, height: height)
        guard config.doCenterCrop else { return resized }
        if let cropSize = config.unusableCropSize {
            throw ImagePreprocessingError.cropSizeWithoutHeightAndWidth(cropSize: cropSize)
        }
        return (max(config.cropHeight, 0), max(config.cropWidth, 0))
    }

    /// pixel_values of one image with their size: `values` is `[3, height, width]` float32, CHW (R, G, B planes).
    /// - Throws: `ImagePreprocessingError` where transformers fails for this image (see `outputSize(width:height:)`).
    public func preprocess(_ image: RGBImage) throws -> (values: [Float], height: Int, width: Int) {
        let (h, w) = try outputSize(width: image.width, height: image.height)
        var out = [Float](repeating: 0, count: 3 * h * w)
        try out.withUnsafeMutableBufferPointer { try pixelValues(image, into: $0) }
        return (out, h, w)
    }

    /// pixel_values of one image, `[3, height, width]` float32, CHW, as `preprocess(_:)`; an empty array when the
    /// image cannot be preprocessed (`preprocess(_:)` throws the reason).
    public func pixelValues(_ image: RGBImage) -> [Float] {
        (try? preprocess(image))?.values ?? []
    }

    /// Writes the pixel_values of one image, `[3, height, width]` float32 CHW, into `buffer` (for building
    /// a batch in place). `(height, width)` is `outputSize(width: image.width, height: image.height)`.
    ///
    /// - Precondition: `buffer.count == 3 * height * width`.
    /// - Throws: `ImagePreprocessingError` as `outputSize(width:height:)`, before writing anything.
    public func pixelValues(_ image: RGBImage, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        precondition(image.pixels.count == image.width * image.height * 3, "RGBImage pixel count does not match its size")
        let (paddedH, paddedW) = try outputSize(width: image.width, height: image.height)
        precondition(buffer.count == 3 * paddedH * paddedW,
                     "pixel_values buffer holds \(buffer.count) floats, needs 3 x \(paddedH) x \(paddedW)")
        // do_pad: zeros after normalization, below and right of the values.
        let (outH, outW) = try sizeBeforePadding(width: image.width, height: image.height)
        if outH < paddedH || outW < paddedW { buffer.update(repeating: 0) }
        if outH == 0 || outW == 0 { return }
        let (rh, rw) = try resizedSize(width: image.width, height: image.height)

        // Crop offsets in the resized image (floor division, negative when padding).
        let top = config.doCenterCrop ? Self.floorHalf(rh - outH) : 0
        let left = config.doCenterCrop ? Self.floorHalf(rw - outW) : 0
        // The part of the resized image that the crop keeps.
        let window = PixelWindow(x0: max(0, left), y0: max(0, top),
                                 x1: min(rw, left + outW), y1: min(rh, top + outH))

        let source = config.doConvertRGB ? Self.convertedToRGB(image) : image.pixels
        let resizing = config.doResize && (rh != image.height || rw != image.width)
        let bytes: [UInt8]
        let stride: Int, originX: Int, originY: Int
        if resizing {
            bytes = source.withUnsafeBufferPointer {
                pillowResample($0, width: image.width, height: image.height, outWidth: rw, outHeight: rh,
                               filter: config.resample, window: window)
            }
            (stride, originX, originY) = (window.width * 3, window.x0, window.y0)
        } else {
            bytes = source
            (stride, originX, originY) = (image.width * 3, 0, 0)
        }

        let plane = paddedH * paddedW
        lookup.withUnsafeBufferPointer { lut in
            bytes.withUnsafeBufferPointer { src in
                guard let out = buffer.baseAddress, let tables = lut.baseAddress else { return }
                for c in 0..<3 {
                    let table = tables + c * 256
                    let pad = table[0]
                    for y in 0..<outH {
                        let row = out + c * plane + y * paddedW
                        let sy = y + top
                        if sy < window.y0 || sy >= window.y1 {
                            for x in 0..<outW { row[x] = pad }
                            continue
                        }
                        let srcRow = (sy - originY) * stride
                        for x in 0..<outW {
                            let sx = x + left
                            if sx < window.x0 || sx >= window.x1 {
                                row[x] = pad
                            } else {
                                row[x] = table[Int(src[srcRow + (sx - originX) * 3 + c])]
                            }
                        }
                    }
                }
            }
        }
    }

    /// The pixels after transformers' `convert_to_rgb` (transformers/image_transforms.py) on the Pillow image
    /// that `load_image` returns. When that image carries `info["transparency"]` (here `transparentColor`),
    /// `convert_to_rgb` converts it to RGBA, which gives alpha 0 to exactly the pixels equal to the key colour and
    /// 255 to all others, then alpha-composites it over an opaque white image and drops alpha: the keyed pixels
    /// become (255, 255, 255) and every other pixel keeps its value. Without a key the pixels are returned as is.
    static func convertedToRGB(_ image: RGBImage) -> [UInt8] {
        guard let key = image.transparentColor else { return image.pixels }
        var out = image.pixels
        out.withUnsafeMutableBufferPointer { p in
            var i = 0
            while i + 2 < p.count {
                if p[i] == key.red && p[i + 1] == key.green && p[i + 2] == key.blue {
                    p[i] = 255; p[i + 1] = 255; p[i + 2] = 255
                }
                i += 3
            }
        }
        return out
    }

    /// `floor(v / 2)` for any sign, as Python's `//`.
    private static func floorHalf(_ v: Int) -> Int { v >= 0 ? v / 2 : -((-v + 1) / 2) }

    /// transformers' `get_size_with_aspect_ratio((height, width), size, max_size)`.
    static func sizeWithAspectRatio(height: Int, width: Int, size requested: Int, maxSize: Int) -> (Int, Int) {
        var size = requested
        var rawSize: Double? = nil
        let minOriginal = Double(min(height, width))
        let maxOriginal = Double(max(height, width))
        if maxOriginal / minOriginal * Double(size) > Double(maxSize) {
            let raw = Double(maxSize) * minOriginal / maxOriginal
            rawSize = raw
            size = Int(raw.rounded(.toNearestOrEven))
        }
        if (height <= width && height == size) || (width <= height && width == size) {
            return (height, width)
        } else if width < height {
            let oh = rawSize.map { Int($0 * Double(height) / Double(width)) } ?? Int(Double(size * height) / Double(width))
            return (oh, size)
        } else {
            let ow = rawSize.map { Int($0 * Double(width) / Double(height)) } ?? Int(Double(size * width) / Double(height))
            return (size, ow)
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ ctx: DecodingError.Context) -> String {
            let p = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            return p.isEmpty ? "" : " at \(p)"
        }
        switch error {
        case let .typeMismatch(_, ctx), let .valueNotFound(_, ctx), let .dataCorrupted(ctx):
            return ctx.debugDescription + path(ctx)
        case let .keyNotFound(key, ctx):
            return "missing key \(key.stringValue)" + path(ctx)
        @unknown default:
            return "\(error)"
        }
    }
}
