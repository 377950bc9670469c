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
/// `[height, width, ...]` list (its first two values), or a dictionary with one of transformers' key sets.
/// `use_square_size: true` (KOSMOS-2) makes `size` 224 x 224, as `CLIPImageProcessorPil` does.
///
/// Loading refuses only what `CLIPImageProcessorPil.from_pretrained` refuses (a size dictionary with another key
/// set, a list of fewer than two values, a wrong JSON type) plus sides over `maxSide`. Settings that transformers
/// loads but cannot apply (`{"longest_edge": N}` alone as `size`, a zero or negative side, a `crop_size` without
/// height and width, `null` for a value an enabled step needs) fail each image instead, as transformers' image
/// processor does: see `CLIPImageProcessor.outputSize(width:height:)`. A key set to `null` is `None` in
/// transformers, not its default: `do_resize: null` disables resizing, `size: null` with resizing fails each image.
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
        /// A size dictionary transformers loads but cannot resize with (its resize needs a non-zero
        /// `shortest_edge`, `max_height` and `max_width`, or `height` and `width`): `{"longest_edge": N}` alone,
        /// `{"min_pixels", "max_pixels"}`, or zero values. The dictionary as written, for messages. With `do_resize`
        /// every image fails (`ImagePreprocessingError.notResizable`).
        case notResizable(String)
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
    /// `crop_size` as written when it is a dictionary without both `height` and `width` (say
    /// `{"shortest_edge": 224}`), else nil. transformers loads it; with `do_center_crop` every image fails
    /// (`ImagePreprocessingError.cropSizeWithoutHeightAndWidth`).
    public var unusableCropSize: String?
    /// Keys set to `null` among `size`, `crop_size`, `resample`, `rescale_factor`, `image_mean`, `image_std`
    /// (their fields then hold the defaults, unused). transformers reads `null` as `None`: a step that needs one of
    /// them fails every image (`ImagePreprocessingError.missingValue`).
    public var nullKeys: Set<String>
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
        doConvertRGB: Bool = true,
        unusableCropSize: String? = nil,
        nullKeys: Set<String> = []
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
        self.unusableCropSize = unusableCropSize
        self.nullKeys = nullKeys
    }

    /// Checks the values the processor relies on. Zero and negative sides pass: transformers loads them and
    /// fails (or, for a crop, empties) each image, which `CLIPImageProcessor.outputSize(width:height:)` mirrors.
    /// - Throws: `ImageProcessorConfigError.invalidValue` naming the key and the reason.
    public func validate() throws {
        func withinLimit(_ v: Int, _ key: String) throws {
            if v > Self.maxSide || v < -Self.maxSide {
                throw ImageProcessorConfigError.invalidValue(
                    key: key, reason: "\(v) pixels is over the limit of \(Self.maxSide) pixels per side")
            }
        }
        if doResize {
            switch size {
            case let .shortestEdge(s): try withinLimit(s, "size.shortest_edge")
            case let .shortestAndLongestEdge(s, l):
                try withinLimit(s, "size.shortest_edge"); try withinLimit(l, "size.longest_edge")
            case let .exact(h, w): try withinLimit(h, "size.height"); try withinLimit(w, "size.width")
            case let .maxHeightWidth(h, w): try withinLimit(h, "size.max_height"); try withinLimit(w, "size.max_width")
            case .notResizable: break
            }
        }
        if doCenterCrop {
            try withinLimit(cropHeight, "crop_size.height")
            try withinLimit(cropWidth, "crop_size.width")
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
        var nullKeys = Set<String>()
        /// A key present with `null` is `None` in transformers (falsy for the flags, missing for values).
        func isNull(_ key: CodingKeys) throws -> Bool {
            guard c.contains(key), try c.decodeNil(forKey: key) else { return false }
            nullKeys.insert(key.stringValue)
            return true
        }
        func flag(_ key: CodingKeys, _ fallback: Bool) throws -> Bool {
            if c.contains(key), try c.decodeNil(forKey: key) { return false }
            return try c.decodeIfPresent(Bool.self, forKey: key) ?? fallback
        }
        doResize = try flag(.doResize, defaults.doResize)
        doCenterCrop = try flag(.doCenterCrop, defaults.doCenterCrop)
        doRescale = try flag(.doRescale, defaults.doRescale)
        doNormalize = try flag(.doNormalize, defaults.doNormalize)
        doConvertRGB = try flag(.doConvertRGB, defaults.doConvertRGB)
        let defaultToSquare = try flag(.defaultToSquare, false)
        // The values of a step that is off are never read by transformers (any JSON loads: "resample": 9 or
        // "rescale_factor": "0.5" with the step off classifies as without them), so they are only read here
        // when their step is on.
        _ = try isNull(.rescaleFactor)
        rescaleFactor = doRescale
            ? try c.decodeIfPresent(Double.self, forKey: .rescaleFactor) ?? defaults.rescaleFactor
            : defaults.rescaleFactor

        _ = try isNull(.resample)
        if doResize, let raw = try c.decodeIfPresent(Int.self, forKey: .resample) {
            guard let filter = ResamplingFilter(rawValue: raw) else {
                throw ImageProcessorConfigError.invalidValue(
                    key: "resample", reason: "unknown PIL resampling filter \(raw) (expected 0-7)")
            }
            resample = filter
        } else {
            resample = defaults.resample
        }

        _ = try isNull(.imageMean)
        _ = try isNull(.imageStd)
        if doNormalize {
            imageMean = try c.decodeIfPresent(ChannelValues.self, forKey: .imageMean)?.values ?? defaults.imageMean
            imageStd = try c.decodeIfPresent(ChannelValues.self, forKey: .imageStd)?.values ?? defaults.imageStd
        } else {
            imageMean = defaults.imageMean
            imageStd = defaults.imageStd
        }
        if imageMean.count == 1 { imageMean = Array(repeating: imageMean[0], count: 3) }
        if imageStd.count == 1 { imageStd = Array(repeating: imageStd[0], count: 3) }

        // get_size_dict checks the key set of `size` and `crop_size` when loading, whether or not they are used.
        _ = try isNull(.size)
        if let rawSize = try c.decodeIfPresent(SizeValue.self, forKey: .size) {
            size = Self.resizeSize(try rawSize.dictionary(key: "size", defaultToSquare: defaultToSquare))
        } else {
            size = defaults.size
        }
        if try c.decodeIfPresent(Bool.self, forKey: .useSquareSize) == true {
            // CLIPImageProcessorPil.__init__ squares its class default shortest edge (224), not the file's size.
            size = .exact(height: 224, width: 224)
            nullKeys.remove("size")
        }

        _ = try isNull(.cropSize)
        unusableCropSize = nil
        cropHeight = defaults.cropHeight
        cropWidth = defaults.cropWidth
        if let rawCrop = try c.decodeIfPresent(SizeValue.self, forKey: .cropSize) {
            let dict = try rawCrop.dictionary(key: "crop_size", defaultToSquare: true)
            if let h = dict["height"] ?? nil, let w = dict["width"] ?? nil {
                cropHeight = h
                cropWidth = w
            } else {
                unusableCropSize = SizeValue.describe(dict)
            }
        }
        self.nullKeys = nullKeys
        try validate()
    }

    /// The resize rule transformers' `PilBackend.resize` picks for a size dictionary, testing values for truth as
    /// Python does (a missing, `null` or zero value is false): `shortest_edge` with `longest_edge`, then
    /// `shortest_edge`, then `max_height` with `max_width`, then `height` with `width`.
    private static func resizeSize(_ d: [String: Int?]) -> Size {
        func value(_ key: String) -> Int? {
            guard let v = d[key] ?? nil, v != 0 else { return nil }
            return v
        }
        if let s = value("shortest_edge"), let l = value("longest_edge") {
            return .shortestAndLongestEdge(shortest: s, longest: l)
        }
        if let s = value("shortest_edge") { return .shortestEdge(s) }
        if let h = value("max_height"), let w = value("max_width") { return .maxHeightWidth(maxHeight: h, maxWidth: w) }
        if let h = value("height"), let w = value("width") { return .exact(height: h, width: w) }
        return .notResizable(SizeValue.describe(d))
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

/// `size` / `crop_size`: an integer, a `[height, width, ...]` list, or a dictionary of integers (or nulls).
private enum SizeValue: Decodable {
    case int(Int)
    case list([Int])
    case dict([String: Int?])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Int.self) {
            self = .int(v)
        } else if let v = try? c.decode([Int].self) {
            self = .list(v)
        } else {
            self = .dict(try c.decode([String: Int?].self))
        }
    }

    /// transformers' `get_size_dict`: the size dictionary, with the key sets it accepts.
    func dictionary(key: String, defaultToSquare: Bool) throws -> [String: Int?] {
        switch self {
        case let .int(v):
            return defaultToSquare ? ["height": v, "width": v] : ["shortest_edge": v]
        case let .list(v):
            // convert_to_size_dict reads size[0] and size[1] and ignores the rest.
            guard v.count >= 2 else {
                throw ImageProcessorConfigError.invalidValue(
                    key: key, reason: "a list must be [height, width], got \(v.count) value\(v.count == 1 ? "" : "s")")
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

    /// `{"longest_edge": 64}`, keys sorted, for messages.
    static func describe(_ d: [String: Int?]) -> String {
        "{" + d.keys.sorted().map { k in "\"\(k)\": \(d[k].flatMap { $0 }.map(String.init) ?? "null")" }
            .joined(separator: ", ") + "}"
    }
}
