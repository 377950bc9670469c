import Foundation

/// A `preprocessor_config.json` that cannot be used, with the reason.
public enum ImageProcessorConfigError: Error, LocalizedError, CustomStringConvertible, Equatable, Sendable {
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

/// The preprocessing settings of a checkpoint (`preprocessor_config.json`), with the defaults of its transformers
/// image processor class for missing keys (`ImageProcessorClass`: the file's `image_processor_type`, else the
/// model family's class; `CLIPImageProcessorPil` when decoded without either).
///
/// `size` and `crop_size` are accepted in every form transformers accepts: an integer (`size` N means
/// `{"shortest_edge": N}`, as CLIP sets `default_to_square` to false; `crop_size` N means N x N), a
/// `[height, width, ...]` list (its first two values), or a dictionary with one of transformers' key sets.
/// `use_square_size: true` (KOSMOS-2) makes `size` 224 x 224, as `CLIPImageProcessorPil` does.
///
/// Loading refuses only what `CLIPImageProcessorPil.from_pretrained` refuses (a `size`, `crop_size` or `pad_size`
/// dictionary with another key set, or a list of fewer than two values) plus sides over `maxSide` and what JSON
/// decoding cannot represent (numbers beyond the double range, `NaN`/`Infinity` literals, non-integer sides).
/// Settings that transformers loads but cannot apply (`{"longest_edge": N}` alone as `size`, a zero or negative side,
/// a `crop_size` without height and width, `null` for a value an enabled step needs, a `resample` number Pillow does
/// not know, an `image_mean`/`image_std` without one value per channel, a `rescale_factor` that is not a number) fail
/// each image instead, as transformers' image processor does: see `ImageProcessor.outputSize(width:height:)`.
/// A key set to `null` is `None` in transformers, not its class default: `do_resize: null` disables resizing, `size: null`
/// with resizing fails each image.
///
/// Values are read as Python reads them: the `do_*` flags, `default_to_square` and `use_square_size` by truth value
/// (`0`, `""`, `[]`, `{}` and `null` are false, `1` and `"no"` true); `true`/`false` are the numbers 1/0 where a
/// number is expected; numeric strings are numbers in `image_mean`/`image_std` (numpy converts them) but not in
/// `rescale_factor`.
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
    /// Resampling filter (`resample`, PIL numbering, default 3 = BICUBIC). `true`/`false` are 1/0 (LANCZOS/NEAREST);
    /// a value that is neither an integer nor `null` (a string such as `"bicubic"`, a fractional number) is BILINEAR,
    /// as transformers' `PilBackend.resize` makes it. An integer Pillow does not know, a list or a dictionary is in
    /// `unusableValues`.
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
    /// Values of `resample`, `rescale_factor`, `image_mean`, `image_std` or `pad_size` that transformers loads but
    /// cannot apply, by key (their fields then hold the defaults, unused). Each image that reaches the step using one
    /// fails (`ImagePreprocessingError.unusableValue`).
    public var unusableValues: [String: UnusableValue]
    /// Pad the pixel_values at the bottom and right with 0 to `padHeight` x `padWidth` (`do_pad` with a `pad_size`;
    /// default false). transformers' pipeline preprocesses one image at a time, so `do_pad` without `pad_size`
    /// (pad to the largest image of the batch) changes nothing.
    public var doPad: Bool
    /// `pad_size` height and width in pixels when `do_pad` is set and both are non-zero, else nil.
    public var padSize: (height: Int, width: Int)? {
        get { padHeight.flatMap { h in padWidth.map { (h, $0) } } }
        set { padHeight = newValue?.height; padWidth = newValue?.width }
    }
    private var padHeight: Int?
    private var padWidth: Int?
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
    /// Per-channel mean, R G B (`image_mean`, default OpenAI CLIP's `[0.48145466, 0.4578275, 0.40821073]`). One
    /// number (or a string of three characters numpy reads as a number, such as `"0.5"`) is used for every channel;
    /// a `null` in the list is NaN, as numpy converts it. Non-finite and zero values are kept: the pixel_values are
    /// then infinite or NaN, as in transformers.
    public var imageMean: [Double]
    /// Per-channel standard deviation, R G B (`image_std`, default OpenAI CLIP's
    /// `[0.26862954, 0.26130258, 0.27577711]`), read as `imageMean`.
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
        nullKeys: Set<String> = [],
        unusableValues: [String: UnusableValue] = [:],
        doPad: Bool = false,
        padSize: (height: Int, width: Int)? = nil
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
        self.unusableValues = unusableValues
        self.doPad = doPad
        self.padHeight = padSize?.height
        self.padWidth = padSize?.width
    }

    /// Checks the values the processor relies on: sides within `maxSide`, three values of `imageMean` and `imageStd`.
    /// Zero and negative sides pass: transformers loads them and fails (or, for a crop, empties) each image, which
    /// `ImageProcessor.outputSize(width:height:)` mirrors. Non-finite means, standard deviations and rescale
    /// factors pass too: transformers computes infinite or NaN pixel_values with them.
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
        if doPad, let pad = padSize {
            try withinLimit(pad.height, "pad_size.height")
            try withinLimit(pad.width, "pad_size.width")
        }
        // A decoded config always has three values (or an entry in unusableValues); this guards configs built in code.
        if imageMean.count != 3 || imageStd.count != 3 {
            throw ImageProcessorConfigError.invalidValue(
                key: imageMean.count != 3 ? "image_mean" : "image_std",
                reason: "needs 3 values for RGB, got \(imageMean.count != 3 ? imageMean.count : imageStd.count)")
        }
    }

    private enum CodingKeys: String, CodingKey {
        case imageProcessorType = "image_processor_type", featureExtractorType = "feature_extractor_type"
        case doResize = "do_resize", size, resample, doCenterCrop = "do_center_crop", cropSize = "crop_size"
        case doRescale = "do_rescale", rescaleFactor = "rescale_factor", doNormalize = "do_normalize"
        case imageMean = "image_mean", imageStd = "image_std", doConvertRGB = "do_convert_rgb"
        case defaultToSquare = "default_to_square", useSquareSize = "use_square_size"
        case doPad = "do_pad", padSize = "pad_size"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // The class whose attributes fill missing keys, as transformers' AutoImageProcessor picks it.
        var processorClass = decoder.userInfo[ImageProcessorClass.userInfoKey] as? ImageProcessorClass ?? .clip
        let named = try c.decodeIfPresent(String.self, forKey: .imageProcessorType)
            ?? c.decodeIfPresent(String.self, forKey: .featureExtractorType)
        if let named {
            guard let known = ImageProcessorClass(typeName: named) else {
                throw ImageProcessorConfigError.invalidValue(
                    key: "image_processor_type", reason: "\"\(named)\" is not supported; supported: "
                        + ImageProcessorClass.allCases.map(\.rawValue).joined(separator: ", "))
            }
            processorClass = known
        }
        let defaults = processorClass.defaults
        var nullKeys = defaults.nullKeys
        var unusable: [String: UnusableValue] = [:]
        /// A key present with `null` is `None` in transformers (falsy for the flags, missing for values).
        func isNull(_ key: CodingKeys) throws -> Bool {
            guard c.contains(key), try c.decodeNil(forKey: key) else { return false }
            nullKeys.insert(key.stringValue)
            return true
        }
        /// A flag, by Python truth value (transformers tests it with `if`).
        func flag(_ key: CodingKeys, _ fallback: Bool) throws -> Bool {
            guard c.contains(key) else { return fallback }
            if try c.decodeNil(forKey: key) { return false }
            return try c.decode(JSONValue.self, forKey: key).isTruthy
        }
        doResize = try flag(.doResize, defaults.doResize)
        doCenterCrop = try flag(.doCenterCrop, defaults.doCenterCrop)
        doRescale = try flag(.doRescale, defaults.doRescale)
        doNormalize = try flag(.doNormalize, defaults.doNormalize)
        doConvertRGB = try flag(.doConvertRGB, defaults.doConvertRGB)
        doPad = try flag(.doPad, false)
        let defaultToSquare = try flag(.defaultToSquare, false)

        /// A value read as transformers reads it: `fallback` when absent or null; one it cannot use is recorded in
        /// `unusable` (each image whose step needs it fails) and `fallback` stands in.
        func value<T>(_ key: CodingKeys, _ fallback: T, _ parse: (JSONValue) -> Result<T, Unusable>) throws -> T {
            _ = try isNull(key)
            guard let raw = try c.decodeIfPresent(JSONValue.self, forKey: key) else { return fallback }
            switch parse(raw) {
            case let .success(v): return v
            case let .failure(reason):
                unusable[key.stringValue] = UnusableValue(json: raw.json, reason: reason.text)
                return fallback
            }
        }
        rescaleFactor = try value(.rescaleFactor, defaults.rescaleFactor, Self.rescaleFactor)
        resample = try value(.resample, defaults.resample, Self.resample)
        imageMean = try value(.imageMean, defaults.imageMean) { Self.channelValues($0, name: "mean") }
        imageStd = try value(.imageStd, defaults.imageStd) { Self.channelValues($0, name: "std") }

        // get_size_dict(pad_size) runs when loading, whether or not do_pad is set; do_pad with pad_size null pads
        // to the largest image of the call, one image in the pipeline: nothing.
        padHeight = nil
        padWidth = nil
        if let rawPad = try c.decodeIfPresent(SizeValue.self, forKey: .padSize) {
            let dict = try rawPad.dictionary(key: "pad_size", defaultToSquare: true)
            // PilBackend.pad: `if not (pad_size.height and pad_size.width)`.
            if let h = dict["height"] ?? nil, let w = dict["width"] ?? nil, h != 0, w != 0 {
                (padHeight, padWidth) = (h, w)
            } else {
                unusable["pad_size"] = UnusableValue(
                    json: SizeValue.describe(dict), reason: "it needs non-zero \"height\" and \"width\"")
            }
        }

        // get_size_dict checks the key set of `size` and `crop_size` when loading, whether or not they are used.
        _ = try isNull(.size)
        if let rawSize = try c.decodeIfPresent(SizeValue.self, forKey: .size) {
            size = Self.resizeSize(try rawSize.dictionary(key: "size", defaultToSquare: defaultToSquare))
        } else {
            size = defaults.size
        }
        if processorClass == .clip, try flag(.useSquareSize, false) {
            // CLIPImageProcessorPil.__init__ squares its class default shortest edge (224), not the file's size.
            size = .exact(height: 224, width: 224)
            nullKeys.remove("size")
        }

        _ = try isNull(.cropSize)
        unusableCropSize = nil
        cropHeight = defaults.cropHeight
        cropWidth = defaults.cropWidth
        if let rawCrop = try c.decodeIfPresent(SizeValue.self, forKey: .cropSize) {
            nullKeys.remove("crop_size")
            let dict = try rawCrop.dictionary(key: "crop_size", defaultToSquare: true)
            if let h = dict["height"] ?? nil, let w = dict["width"] ?? nil {
                cropHeight = h
                cropWidth = w
            } else {
                unusableCropSize = SizeValue.describe(dict)
            }
        }
        self.nullKeys = nullKeys
        self.unusableValues = unusable
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

extension ImageProcessorConfig {
    /// A value of `preprocessor_config.json` that transformers loads but cannot apply to an image.
    public struct UnusableValue: Sendable, Equatable {
        /// The value as written (compact JSON).
        public var json: String
        /// Why it cannot be used, with transformers' own error where it helps.
        public var reason: String

        public init(json: String, reason: String) {
            self.json = json
            self.reason = reason
        }
    }

    private struct Unusable: Error { let text: String }

    /// `resample` as `PilBackend.resize` and Pillow use it: an integer (Python's `bool` is one) names a filter, and
    /// Pillow fails for numbers it does not know; a list or dictionary fails the lookup in transformers'
    /// `torch_pil_interpolation_mapping` ("unhashable type"); anything else becomes BILINEAR.
    private static func resample(_ v: JSONValue) -> Result<ResamplingFilter, Unusable> {
        switch v {
        case let .bool(b):
            return .success(b ? .lanczos : .nearest)
        case let .int(i):
            if let filter = ResamplingFilter(rawValue: i) { return .success(filter) }
            return .failure(Unusable(text: "Pillow has no resampling filter \(i); it takes "
                + ResamplingFilter.allCases.map { "\($0.rawValue) (\($0))" }.joined(separator: ", ")
                + " (Pillow: \"Unknown resampling filter (\(i)).\")"))
        case .array, .object:
            return .failure(Unusable(text: "a list or dictionary is not a resampling filter; give a PIL filter number "
                + "(transformers: \"unhashable type\")"))
        case .null, .number, .string:
            return .success(.bilinear)
        }
    }

    /// `rescale_factor` as numpy's `image.astype(np.float64) * scale` takes it: a number (or a boolean), or a list
    /// holding one number (nested at most three deep, which broadcasts like the number). A string, a dictionary or
    /// a list of several values fails. (numpy broadcasts a list of 3 values along the width of images 3 pixels wide,
    /// which is no rescale factor; such a list fails here for every image.)
    private static func rescaleFactor(_ v: JSONValue) -> Result<Double, Unusable> {
        var value = v
        for _ in 0..<3 {
            if case let .array(items) = value, items.count == 1 { value = items[0] } else { break }
        }
        if let number = value.number { return .success(number) }
        let what: String
        switch v {
        case .string: what = "a string"
        case .object: what = "a dictionary"
        default: what = "a list"
        }
        return .failure(Unusable(text: "it must be a number, got \(what) (numpy cannot multiply the image by it)"))
    }

    /// `image_mean` / `image_std` as transformers' `normalize` takes them: a collection (a list, a string, a
    /// dictionary) must have 3 elements; anything else is one number for all channels. numpy then converts each
    /// value to float32: numbers and booleans as numbers, `null` as NaN, numeric strings as Python's `float` reads
    /// them; other strings, lists and dictionaries fail.
    private static func channelValues(_ v: JSONValue, name: String) -> Result<[Double], Unusable> {
        func count(_ n: Int) -> Unusable {
            Unusable(text: "it needs 3 values (one per RGB channel) or one number, got \(n) (transformers: \"\(name) must "
                + "have 3 elements if it is an iterable, got \(n)\")")
        }
        func element(_ e: JSONValue) -> Result<Double, Unusable> {
            switch e {
            case .null: return .success(.nan)
            case let .string(text):
                if let x = pythonFloat(text) { return .success(x) }
                return .failure(Unusable(text: "numpy cannot convert the string \(e.json) to a number (transformers: "
                    + "\"could not convert string to float: '\(text)'\")"))
            case .array, .object:
                return .failure(Unusable(text: "its values must be numbers, got \(e.json)"))
            case .bool, .int, .number:
                return .success(e.number!)
            }
        }
        switch v {
        case let .array(items):
            guard items.count == 3 else { return .failure(count(items.count)) }
            var out: [Double] = []
            for item in items {
                switch element(item) {
                case let .success(x): out.append(x)
                case let .failure(e): return .failure(e)
                }
            }
            return .success(out)
        case let .object(d):
            guard d.count == 3 else { return .failure(count(d.count)) }
            return .failure(Unusable(text: "its values must be numbers, got a dictionary"))
        case let .string(text):
            // A Python str is a collection of its characters (code points), then numpy reads it as one number.
            let n = text.unicodeScalars.count
            guard n == 3 else { return .failure(count(n)) }
            return element(v).map { [$0, $0, $0] }
        case .null, .bool, .int, .number:
            return element(v).map { [$0, $0, $0] }
        }
    }

    /// Python's `float(str)`: surrounding whitespace ignored, `_` allowed between digits, `inf`/`infinity`/`nan` in
    /// any case with an optional sign; no hexadecimal. nil where Python raises ValueError.
    static func pythonFloat(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var unsigned = Substring(trimmed)
        if let first = unsigned.first, first == "+" || first == "-" { unsigned = unsigned.dropFirst() }
        let lower = unsigned.lowercased()
        if ["inf", "infinity", "nan"].contains(lower) {
            let negative = trimmed.hasPrefix("-")
            return lower == "nan" ? (negative ? -Double.nan : .nan) : (negative ? -.infinity : .infinity)
        }
        let scalars = Array(trimmed.unicodeScalars)
        guard !scalars.isEmpty,
              scalars.allSatisfy({ "0123456789+-.eE_".unicodeScalars.contains($0) }) else { return nil }
        // An underscore must sit between two digits.
        for (i, ch) in scalars.enumerated() where ch == "_" {
            guard i > 0, i + 1 < scalars.count,
                  CharacterSet.decimalDigits.contains(scalars[i - 1]),
                  CharacterSet.decimalDigits.contains(scalars[i + 1]) else { return nil }
        }
        return Double(trimmed.replacingOccurrences(of: "_", with: ""))
    }
}

/// A JSON value as Python's `json` module gives it to transformers, for keys whose Python type or truth value decides
/// what transformers does. (JSONDecoder reads `3.0` as the integer 3, so an integral number written with a
/// fraction is an `int` here, where Python has a float.)
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let v = try? c.decode(Bool.self) {
            self = .bool(v)
        } else if let v = try? c.decode(Int.self) {
            self = .int(v)
        } else if let v = try? c.decode(Double.self) {
            self = .number(v)
        } else if let v = try? c.decode(String.self) {
            self = .string(v)
        } else if let v = try? c.decode([JSONValue].self) {
            self = .array(v)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    /// Python's truth value.
    var isTruthy: Bool {
        switch self {
        case .null: false
        case let .bool(v): v
        case let .int(v): v != 0
        case let .number(v): v != 0
        case let .string(v): !v.isEmpty
        case let .array(v): !v.isEmpty
        case let .object(v): !v.isEmpty
        }
    }

    /// The value of a number or boolean as a Python float; nil for the other types.
    var number: Double? {
        switch self {
        case let .bool(v): v ? 1 : 0
        case let .int(v): Double(v)
        case let .number(v): v
        default: nil
        }
    }

    /// Compact JSON, for messages.
    var json: String {
        switch self {
        case .null: return "null"
        case let .bool(v): return v ? "true" : "false"
        case let .int(v): return String(v)
        case let .number(v): return "\(v)"
        case let .string(v):
            let encoded = (try? JSONEncoder().encode(v)).flatMap { String(data: $0, encoding: .utf8) }
            return encoded ?? "\"\(v)\""
        case let .array(v): return "[" + v.map(\.json).joined(separator: ", ") + "]"
        case let .object(v):
            return "{" + v.keys.sorted().map { "\(JSONValue.string($0).json): \(v[$0]!.json)" }.joined(separator: ", ") + "}"
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
        } else if let v = try? c.decode(Bool.self) {
            self = .int(v ? 1 : 0)  // Python's bool is an int: transformers reads `"size": true` as 1
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

extension ImageProcessorConfigError {
    /// The same text as `description`, for `localizedDescription`.
    public var errorDescription: String? { description }
}

/// The transformers image processor classes whose defaults fill keys missing from `preprocessor_config.json`
/// (the class attributes of transformers 5.24's `*ImageProcessorPil`); all run the same Pillow backend.
public enum ImageProcessorClass: String, Sendable, CaseIterable {
    /// `CLIPImageProcessorPil`: shortest edge 224, BICUBIC, center crop 224 x 224, OpenAI CLIP mean and std,
    /// `use_square_size` honoured.
    case clip = "CLIPImageProcessor"
    /// `ChineseCLIPImageProcessorPil`: the same defaults as CLIP's.
    case chineseCLIP = "ChineseCLIPImageProcessor"
    /// `SiglipImageProcessorPil`: resize to 224 x 224 (no aspect ratio kept), BICUBIC, no center crop (and no
    /// crop size), mean = std = 0.5 (`IMAGENET_STANDARD_MEAN`/`_STD`).
    case siglip = "SiglipImageProcessor"

    /// The `JSONDecoder.userInfo` key under which a decoder gets the class to use when the file names none.
    public static let userInfoKey = CodingUserInfoKey(rawValue: "zeroshot.imageProcessorClass")!

    /// A class name as `image_processor_type` (optionally with transformers' `Fast` suffix) or the older
    /// `feature_extractor_type` (`…FeatureExtractor`) gives it; nil for an unsupported one.
    public init?(typeName: String) {
        var name = typeName
        if name.hasSuffix("FeatureExtractor") { name = String(name.dropLast("FeatureExtractor".count)) + "ImageProcessor" }
        if name.hasSuffix("Fast") { name = String(name.dropLast(4)) }
        self.init(rawValue: name)
    }

    /// The class attributes as an `ImageProcessorConfig`.
    public var defaults: ImageProcessorConfig {
        switch self {
        case .clip, .chineseCLIP:
            return ImageProcessorConfig()
        case .siglip:
            // crop_size is None: a `do_center_crop` without a `crop_size` fails each image, as a null one does.
            return ImageProcessorConfig(size: .exact(height: 224, width: 224), doCenterCrop: false,
                                        imageMean: [0.5, 0.5, 0.5], imageStd: [0.5, 0.5, 0.5],
                                        nullKeys: ["crop_size"])
        }
    }
}
