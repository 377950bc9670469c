import Foundation

/// A `preprocessor_config.json` that cannot be used, with the reason.
public enum ImageProcessorConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// The file is not valid JSON, or a key has the wrong JSON type.
    case invalidJSON(path: String, reason: String)
    /// A key has a value that the image processor does not accept.
    case invalidValue(key: String, reason: String)
    /// A key of the file has a value that the image processor does not accept.
    case invalidValueInFile(path: String, key: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            "cannot read image processor config \(path): \(reason)"
        case let .invalidJSON(path, reason):
            "image processor config \(path) is not valid: \(reason)"
        case let .invalidValue(key, reason):
            "image processor config key \"\(key)\": \(reason)"
        case let .invalidValueInFile(path, key, reason):
            "image processor config \(path), key \"\(key)\": \(reason)"
        }
    }
}

/// The preprocessing settings of a CLIP checkpoint (`preprocessor_config.json`), with the defaults of
/// transformers' `CLIPImageProcessorPil` for missing or `null` keys.
///
/// `size` and `crop_size` are accepted in every form transformers accepts: an integer (`size` N means
/// `{"shortest_edge": N}`, as CLIP sets `default_to_square` to false; `crop_size` N means N x N), a
/// `[height, width]` list, or a dictionary. `use_square_size: true` (KOSMOS-2) turns `size` into a square.
public struct ImageProcessorConfig: Sendable, Decodable, Equatable {
    /// The resize target, as transformers' size dictionary.
    public enum Size: Sendable, Equatable {
        /// `{"shortest_edge": N}`: the short side becomes N, the long side `Int(N * long / short)`.
        case shortestEdge(Int)
        /// `{"shortest_edge": S, "longest_edge": L}`: as `shortestEdge`, but the long side is capped at L
        /// (transformers' `get_size_with_aspect_ratio`).
        case shortestAndLongestEdge(shortest: Int, longest: Int)
        /// `{"height": H, "width": W}`: exactly H x W, aspect ratio not kept.
        case exact(height: Int, width: Int)
        /// `{"max_height": H, "max_width": W}`: the largest size within H x W keeping the aspect ratio.
        case maxHeightWidth(maxHeight: Int, maxWidth: Int)
    }

    /// Resize before cropping (`do_resize`, default true).
    public var doResize: Bool
    /// Resize target (`size`, default `{"shortest_edge": 224}`).
    public var size: Size
    /// Resampling filter (`resample`, PIL numbering, default 3 = BICUBIC).
    public var resample: ResamplingFilter
    /// Center crop after resizing (`do_center_crop`, default true).
    public var doCenterCrop: Bool
    /// Crop height in pixels (`crop_size.height`, default 224).
    public var cropHeight: Int
    /// Crop width in pixels (`crop_size.width`, default 224).
    public var cropWidth: Int
    /// Multiply the 8-bit values by `rescaleFactor` (`do_rescale`, default true).
    public var doRescale: Bool
    /// Rescale factor (`rescale_factor`, default 1/255).
    public var rescaleFactor: Double
    /// Subtract `imageMean` and divide by `imageStd` per channel (`do_normalize`, default true).
    public var doNormalize: Bool
    /// Per-channel mean, R G B (`image_mean`, default OpenAI CLIP's `[0.48145466, 0.4578275, 0.40821073]`).
    public var imageMean: [Double]
    /// Per-channel standard deviation, R G B (`image_std`, default OpenAI CLIP's
    /// `[0.26862954, 0.26130258, 0.27577711]`).
    public var imageStd: [Double]
    /// Convert to RGB first (`do_convert_rgb`, default true). Images reach the processor as `RGBImage`, so the
    /// only effect is transformers' `convert_to_rgb` on a transparent colour key: pixels equal to
    /// `RGBImage.transparentColor` become white. When false, the key is ignored (as transformers' `np.array`).
    public var doConvertRGB: Bool

    /// Largest `size` or `crop_size` side accepted, in pixels (far above any CLIP checkpoint's 224-448); larger
    /// values would overflow the size arithmetic or ask for pixel_values of many gigabytes.
    public static let maxSide = 16_384

    /// transformers' `OPENAI_CLIP_MEAN`.
    public static let openAIClipMean: [Double] = [0.48145466, 0.4578275, 0.40821073]
    /// transformers' `OPENAI_CLIP_STD`.
    public static let openAIClipStd: [Double] = [0.26862954, 0.26130258, 0.27577711]

    /// The defaults of `CLIPImageProcessorPil`: shortest edge 224 with BICUBIC, center crop 224 x 224,
    /// rescale by 1/255, normalize with OpenAI CLIP's mean and std.
    public init(
        doResize: Bool = true,
        size: Size = .shortestEdge(224),
        resample: ResamplingFilter = .bicubic,
        doCenterCrop: Bool = true,
        cropHeight: Int = 224,
        cropWidth: Int = 224,
        doRescale: Bool = true,
        rescaleFactor: Double = 1.0 / 255.0,
        doNormalize: Bool = true,
        imageMean: [Double] = ImageProcessorConfig.openAIClipMean,
        imageStd: [Double] = ImageProcessorConfig.openAIClipStd,
        doConvertRGB: Bool = true
    ) {
        self.doResize = doResize
        self.size = size
        self.resample = resample
        self.doCenterCrop = doCenterCrop
        self.cropHeight = cropHeight
        self.cropWidth = cropWidth
        self.doRescale = doRescale
        self.rescaleFactor = rescaleFactor
        self.doNormalize = doNormalize
        self.imageMean = imageMean
        self.imageStd = imageStd
        self.doConvertRGB = doConvertRGB
    }

    /// Checks the values the processor relies on.
    /// - Throws: `ImageProcessorConfigError.invalidValue` naming the key and the reason.
    public func validate() throws {
        func positive(_ v: Int, _ key: String) throws {
            if v <= 0 { throw ImageProcessorConfigError.invalidValue(key: key, reason: "must be positive, got \(v)") }
            if v > Self.maxSide {
                throw ImageProcessorConfigError.invalidValue(
                    key: key, reason: "\(v) pixels is over the limit of \(Self.maxSide) pixels per side")
            }
        }
        if doResize {
            switch size {
            case let .shortestEdge(s): try positive(s, "size.shortest_edge")
            case let .shortestAndLongestEdge(s, l):
                try positive(s, "size.shortest_edge"); try positive(l, "size.longest_edge")
            case let .exact(h, w): try positive(h, "size.height"); try positive(w, "size.width")
            case let .maxHeightWidth(h, w): try positive(h, "size.max_height"); try positive(w, "size.max_width")
            }
        }
        if doCenterCrop {
            try positive(cropHeight, "crop_size.height")
            try positive(cropWidth, "crop_size.width")
        }
        if doNormalize {
            if imageMean.count != 3 {
                throw ImageProcessorConfigError.invalidValue(
                    key: "image_mean", reason: "needs 1 or 3 values for RGB, got \(imageMean.count)")
            }
            if imageStd.count != 3 {
                throw ImageProcessorConfigError.invalidValue(
                    key: "image_std", reason: "needs 1 or 3 values for RGB, got \(imageStd.count)")
            }
            if !(imageMean + imageStd).allSatisfy(\.isFinite) {
                throw ImageProcessorConfigError.invalidValue(key: "image_mean/image_std", reason: "values must be finite")
            }
        }
        if doRescale && !rescaleFactor.isFinite {
            throw ImageProcessorConfigError.invalidValue(key: "rescale_factor", reason: "must be finite")
        }
    }

    private enum CodingKeys: String, CodingKey {
        case doResize = "do_resize", size, resample, doCenterCrop = "do_center_crop", cropSize = "crop_size"
        case doRescale = "do_rescale", rescaleFactor = "rescale_factor", doNormalize = "do_normalize"
        case imageMean = "image_mean", imageStd = "image_std", doConvertRGB = "do_convert_rgb"
        case defaultToSquare = "default_to_square", useSquareSize = "use_square_size"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = ImageProcessorConfig()
        doResize = try c.decodeIfPresent(Bool.self, forKey: .doResize) ?? defaults.doResize
        doCenterCrop = try c.decodeIfPresent(Bool.self, forKey: .doCenterCrop) ?? defaults.doCenterCrop
        doRescale = try c.decodeIfPresent(Bool.self, forKey: .doRescale) ?? defaults.doRescale
        rescaleFactor = try c.decodeIfPresent(Double.self, forKey: .rescaleFactor) ?? defaults.rescaleFactor
        doNormalize = try c.decodeIfPresent(Bool.self, forKey: .doNormalize) ?? defaults.doNormalize
        doConvertRGB = try c.decodeIfPresent(Bool.self, forKey: .doConvertRGB) ?? defaults.doConvertRGB
        let defaultToSquare = try c.decodeIfPresent(Bool.self, forKey: .defaultToSquare) ?? false

        if let raw = try c.decodeIfPresent(Int.self, forKey: .resample) {
            guard let filter = ResamplingFilter(rawValue: raw) else {
                throw ImageProcessorConfigError.invalidValue(
                    key: "resample", reason: "unknown PIL resampling filter \(raw) (expected 0-7)")
            }
            resample = filter
        } else {
            resample = defaults.resample
        }

        imageMean = try c.decodeIfPresent(ChannelValues.self, forKey: .imageMean)?.values ?? defaults.imageMean
        imageStd = try c.decodeIfPresent(ChannelValues.self, forKey: .imageStd)?.values ?? defaults.imageStd
        if imageMean.count == 1 { imageMean = Array(repeating: imageMean[0], count: 3) }
        if imageStd.count == 1 { imageStd = Array(repeating: imageStd[0], count: 3) }

        if let rawSize = try c.decodeIfPresent(SizeValue.self, forKey: .size) {
            let dict = try rawSize.dictionary(key: "size", defaultToSquare: defaultToSquare)
            // Only used when resizing; transformers rejects other key sets at resize time.
            if let s = try Self.resizeSize(dict, required: doResize) { size = s } else { size = defaults.size }
        } else {
            size = defaults.size
        }
        if try c.decodeIfPresent(Bool.self, forKey: .useSquareSize) == true {
            guard case let .shortestEdge(s) = size else {
                throw ImageProcessorConfigError.invalidValue(
                    key: "use_square_size", reason: "needs size given as a shortest edge")
            }
            size = .exact(height: s, width: s)
        }

        if let rawCrop = try c.decodeIfPresent(SizeValue.self, forKey: .cropSize) {
            let dict = try rawCrop.dictionary(key: "crop_size", defaultToSquare: true)
            if let h = dict["height"], let w = dict["width"], dict.count == 2 {
                cropHeight = h
                cropWidth = w
            } else if doCenterCrop {
                throw ImageProcessorConfigError.invalidValue(
                    key: "crop_size", reason: "center crop needs \"height\" and \"width\", got keys \(dict.keys.sorted())")
            } else {
                cropHeight = defaults.cropHeight
                cropWidth = defaults.cropWidth
            }
        } else {
            cropHeight = defaults.cropHeight
            cropWidth = defaults.cropWidth
        }
        try validate()
    }

    private static func resizeSize(_ d: [String: Int], required: Bool) throws -> Size? {
        let keys = Set(d.keys)
        if keys == ["shortest_edge"], let s = d["shortest_edge"] { return .shortestEdge(s) }
        if keys == ["shortest_edge", "longest_edge"], let s = d["shortest_edge"], let l = d["longest_edge"] {
            return .shortestAndLongestEdge(shortest: s, longest: l)
        }
        if keys == ["height", "width"], let h = d["height"], let w = d["width"] { return .exact(height: h, width: w) }
        if keys == ["max_height", "max_width"], let h = d["max_height"], let w = d["max_width"] {
            return .maxHeightWidth(maxHeight: h, maxWidth: w)
        }
        if !required { return nil }
        throw ImageProcessorConfigError.invalidValue(
            key: "size",
            reason: "resizing needs {\"shortest_edge\"}, {\"shortest_edge\", \"longest_edge\"}, {\"height\", \"width\"} "
                + "or {\"max_height\", \"max_width\"}; got keys \(keys.sorted())")
    }
}

/// `image_mean` / `image_std`: a number or a list of numbers.
private struct ChannelValues: Decodable {
    let values: [Double]
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Double.self) {
            values = [v]
        } else {
            values = try c.decode([Double].self)
        }
    }
}

/// `size` / `crop_size`: an integer, a `[height, width]` list, or a dictionary of integers.
private enum SizeValue: Decodable {
    case int(Int)
    case list([Int])
    case dict([String: Int])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Int.self) {
            self = .int(v)
        } else if let v = try? c.decode([Int].self) {
            self = .list(v)
        } else {
            // Dictionaries may carry null entries; transformers drops them.
            let d = try c.decode([String: Int?].self)
            self = .dict(d.compactMapValues { $0 })
        }
    }

    func dictionary(key: String, defaultToSquare: Bool) throws -> [String: Int] {
        switch self {
        case let .int(v):
            return defaultToSquare ? ["height": v, "width": v] : ["shortest_edge": v]
        case let .list(v):
            guard v.count == 2 else {
                throw ImageProcessorConfigError.invalidValue(
                    key: key, reason: "a list must be [height, width], got \(v.count) values")
            }
            return ["height": v[0], "width": v[1]]
        case let .dict(d):
            let valid: [Set<String>] = [
                ["height", "width"], ["shortest_edge"], ["shortest_edge", "longest_edge"], ["longest_edge"],
                ["max_height", "max_width"], ["min_pixels", "max_pixels"],
            ]
            guard valid.contains(Set(d.keys)) else {
                throw ImageProcessorConfigError.invalidValue(
                    key: key, reason: "unsupported set of keys \(d.keys.sorted())")
            }
            return d
        }
    }
}
