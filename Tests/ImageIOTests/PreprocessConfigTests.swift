import Foundation
import XCTest
@testable import ImageIO

final class PreprocessConfigTests: XCTestCase {
    func decode(_ json: String) throws -> ImageProcessorConfig {
        try JSONDecoder().decode(ImageProcessorConfig.self, from: Data(json.utf8))
    }

    func temporaryFile(_ contents: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("preprocess-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent("preprocessor_config.json")
        try Data(contents.utf8).write(to: url)
        return url
    }

    func testEmptyConfigHasCLIPDefaults() throws {
        let config = try decode("{}")
        XCTAssertEqual(config, ImageProcessorConfig())
        XCTAssertEqual(config.size, .shortestEdge(224))
        XCTAssertEqual(config.resample, .bicubic)
        XCTAssertEqual([config.cropHeight, config.cropWidth], [224, 224])
        XCTAssertEqual(config.rescaleFactor.bitPattern, (1.0 / 255.0).bitPattern)
        XCTAssertEqual(config.imageMean, [0.48145466, 0.4578275, 0.40821073])
        XCTAssertEqual(config.imageStd, [0.26862954, 0.26130258, 0.27577711])
        XCTAssertTrue(config.doResize && config.doCenterCrop && config.doRescale && config.doNormalize)
        let processor = ImageProcessor(config: config)
        XCTAssertTrue(processor.fixedOutputSize! == (224, 224))
        XCTAssertNil(processor.everyImageError)
    }

    /// transformers reads null as None, not as the default: a null flag is false, a null value that an enabled step
    /// needs fails each image (transformers 5.24, CLIPImageProcessorPil.from_pretrained).
    func testNullIsNoneAsInTransformers() throws {
        let flags = try decode(#"{"do_resize": null, "do_center_crop": null, "do_rescale": null, "do_normalize": null}"#)
        XCTAssertFalse(flags.doResize || flags.doCenterCrop || flags.doRescale || flags.doNormalize)
        XCTAssertTrue(try ImageProcessor(config: flags).outputSize(width: 7, height: 5) == (5, 7))
        let image = RGBImage(width: 2, height: 2, pixels: [UInt8](repeating: 9, count: 12))
        let cases: [(String, ImagePreprocessingError)] = [
            (#"{"size": null}"#, .missingValue(key: "size", step: "do_resize")),
            (#"{"resample": null}"#, .missingValue(key: "resample", step: "do_resize")),
            (#"{"crop_size": null}"#, .missingValue(key: "crop_size", step: "do_center_crop")),
            (#"{"image_mean": null}"#, .missingValue(key: "image_mean", step: "do_normalize")),
            (#"{"rescale_factor": null, "size": null}"#, .missingValue(key: "rescale_factor", step: "do_rescale")),
        ]
        for (json, expected) in cases {
            let processor = ImageProcessor(config: try decode(json))
            XCTAssertEqual(processor.everyImageError, expected, json)
            XCTAssertThrowsError(try processor.preprocess(image), json) { XCTAssertEqual($0 as? ImagePreprocessingError, expected) }
        }
        // Unused null values change nothing.
        XCTAssertNil(ImageProcessor(config: try decode(#"{"do_resize": false, "size": null}"#)).everyImageError)
    }

    func testRescaleFactorParsesToTheSameDouble() throws {
        let config = try decode(#"{"rescale_factor": 0.00392156862745098}"#)
        XCTAssertEqual(config.rescaleFactor.bitPattern, (1.0 / 255.0).bitPattern)
    }

    func testSizeForms() throws {
        XCTAssertEqual(try decode(#"{"size": 336}"#).size, .shortestEdge(336))
        XCTAssertEqual(try decode(#"{"size": 336, "default_to_square": true}"#).size, .exact(height: 336, width: 336))
        XCTAssertEqual(try decode(#"{"size": [240, 320]}"#).size, .exact(height: 240, width: 320))
        XCTAssertEqual(try decode(#"{"size": {"height": 10, "width": 20}}"#).size, .exact(height: 10, width: 20))
        XCTAssertEqual(try decode(#"{"size": {"shortest_edge": 8, "longest_edge": 12}}"#).size,
                       .shortestAndLongestEdge(shortest: 8, longest: 12))
        XCTAssertEqual(try decode(#"{"size": {"max_height": 8, "max_width": 12}}"#).size,
                       .maxHeightWidth(maxHeight: 8, maxWidth: 12))
        // CLIPImageProcessorPil squares its class default shortest edge, 224, whatever the file's size.
        XCTAssertEqual(try decode(#"{"size": 30, "use_square_size": true}"#).size, .exact(height: 224, width: 224))
        XCTAssertEqual(try decode(#"{"size": {"height": 3, "width": 3}, "use_square_size": true}"#).size,
                       .exact(height: 224, width: 224))
        // A list gives its first two values; zero values are false for transformers' resize.
        XCTAssertEqual(try decode(#"{"size": [240, 320, 3]}"#).size, .exact(height: 240, width: 320))
        XCTAssertEqual(try decode(#"{"size": {"shortest_edge": 8, "longest_edge": 0}}"#).size, .shortestEdge(8))
        XCTAssertEqual(try decode(#"{"size": {"longest_edge": 9}}"#).size, .notResizable(#"{"longest_edge": 9}"#))
        XCTAssertEqual(try decode(#"{"size": {"height": 0, "width": 9}}"#).size,
                       .notResizable(#"{"height": 0, "width": 9}"#))
        let crop = try decode(#"{"crop_size": 336}"#)
        XCTAssertEqual([crop.cropHeight, crop.cropWidth], [336, 336])
        let cropList = try decode(#"{"crop_size": [20, 30]}"#)
        XCTAssertEqual([cropList.cropHeight, cropList.cropWidth], [20, 30])
        // A JSON boolean is Python's int 1 or 0.
        XCTAssertEqual(try decode(#"{"size": true}"#).size, try decode(#"{"size": 1}"#).size)
        XCTAssertEqual(try decode(#"{"crop_size": true}"#).cropHeight, 1)
        let scalarMean = try decode(#"{"image_mean": 0.5, "image_std": 2}"#)
        XCTAssertEqual(scalarMean.imageMean, [0.5, 0.5, 0.5])
        XCTAssertEqual(scalarMean.imageStd, [2, 2, 2])
    }

    /// transformers 5.24 loads a config whose values for a step that is off are of any type or out of range, and
    /// classifies as without them (checked with the pipeline: `{"resample": 9, "do_resize": false}` gives the
    /// scores of `{"do_resize": false}`); these once refused the whole model.
    func testValuesOfAStepThatIsOffAreNotRead() throws {
        let cases: [(String, String)] = [
            (#"{"do_resize": false, "resample": 9}"#, #"{"do_resize": false}"#),
            (#"{"do_resize": false, "resample": "bicubic"}"#, #"{"do_resize": false}"#),
            (#"{"do_rescale": false, "rescale_factor": "0.5"}"#, #"{"do_rescale": false}"#),
            (#"{"do_normalize": false, "image_mean": "x", "image_std": [1, 2]}"#, #"{"do_normalize": false}"#),
            (#"{"do_normalize": false, "image_mean": [0.5, 0.5]}"#, #"{"do_normalize": false}"#),
        ]
        // A 5 x 3 picture: every case gives the pixel_values of its equivalent, with no error.
        let image = RGBImage(width: 5, height: 3, pixels: (0..<45).map { UInt8($0 * 5) })
        for (json, equivalent) in cases {
            let got = try ImageProcessor(config: decode(json)).preprocess(image)
            let expected = try ImageProcessor(config: decode(equivalent)).preprocess(image)
            XCTAssertEqual(got.values, expected.values, json)
            XCTAssertEqual([got.height, got.width], [expected.height, expected.width], json)
        }
        // With the step on they load too, and each image fails naming the key (a string resample is BILINEAR).
        for (json, key) in [(#"{"resample": 9}"#, "resample"), (#"{"rescale_factor": "0.5"}"#, "rescale_factor"),
                            (#"{"image_mean": "x"}"#, "image_mean")] {
            XCTAssertThrowsError(try ImageProcessor(config: decode(json)).preprocess(image), json) { error in
                guard case let .unusableValue(k, _, _, _)? = error as? ImagePreprocessingError else {
                    return XCTFail("\(json): \(error)")
                }
                XCTAssertEqual(k, key)
            }
        }
    }

    func testInvalidValuesAreRejectedWithTheKey() {
        let bad: [(String, String)] = [
            (#"{"size": {"width": 9}}"#, "size"),
            (#"{"size": [1]}"#, "size"),
            (#"{"crop_size": {"side": 9}}"#, "crop_size"),
            (#"{"crop_size": [9]}"#, "crop_size"),
            // Regression: a huge shortest edge overflowed the resize arithmetic and trapped.
            (#"{"size": {"shortest_edge": 4611686018427387904}}"#, "size.shortest_edge"),
            (#"{"size": {"height": 224, "width": 100000}}"#, "size.width"),
            (#"{"crop_size": 100000}"#, "crop_size.height"),
            (#"{"do_pad": true, "pad_size": 100000}"#, "pad_size.height"),
            (#"{"pad_size": {"h": 9}}"#, "pad_size"),
        ]
        for (json, key) in bad {
            XCTAssertThrowsError(try decode(json), json) { error in
                guard case let ImageProcessorConfigError.invalidValue(k, reason) = error else {
                    return XCTFail("\(json): unexpected error \(error)")
                }
                XCTAssertEqual(k, key, json)
                XCTAssertFalse(reason.isEmpty)
            }
        }
        // transformers checks the key set of size and crop_size when loading, even when they are unused.
        XCTAssertThrowsError(try decode(#"{"do_center_crop": false, "crop_size": {"side": 9}}"#))
        // Values it loads but cannot apply fail each image instead (see PreprocessTests' combinations).
        for json in [#"{"size": 0}"#, #"{"crop_size": -4}"#, #"{"size": {"longest_edge": 9}}"#,
                     #"{"crop_size": {"shortest_edge": 9}}"#, #"{"size": {"shortest_edge": -3}}"#,
                     #"{"resample": 9}"#, #"{"resample": [3]}"#, #"{"image_mean": [0.5, 0.5]}"#, #"{"image_std": "1"}"#,
                     #"{"rescale_factor": "0.5"}"#, #"{"do_resize": "yes"}"#, #"{"do_pad": 1, "pad_size": {"shortest_edge": 3}}"#] {
            XCTAssertNoThrow(try decode(json), json)
        }
    }

    func testFileErrorsNameTheFile() throws {
        let missing = URL(fileURLWithPath: "/nonexistent/dir/preprocessor_config.json")
        XCTAssertThrowsError(try ImageProcessor(contentsOf: missing)) { error in
            guard case ImageProcessorConfigError.unreadable = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains(missing.path))
        }
        let notJSON = try temporaryFile("{ not json")
        XCTAssertThrowsError(try ImageProcessor(contentsOf: notJSON)) { error in
            guard case ImageProcessorConfigError.invalidJSON = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains(notJSON.path))
        }
        // transformers refuses a size it cannot turn into a size dictionary ("Could not convert size input to size
        // dict: 224"); the message names the key.
        let wrongType = try temporaryFile(#"{"size": "224"}"#)
        XCTAssertThrowsError(try ImageProcessor(contentsOf: wrongType)) { error in
            guard case ImageProcessorConfigError.invalidJSON = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("size"), "\(error)")
        }
        let badCrop = try temporaryFile(#"{"crop_size": [12]}"#)
        XCTAssertThrowsError(try ImageProcessor(contentsOf: badCrop)) { error in
            guard case let ImageProcessorConfigError.invalidValueInFile(path, key, _) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(path, badCrop.path)
            XCTAssertEqual(key, "crop_size")
        }
    }

    /// Values outside size and crop_size are read as transformers 5.24 reads them (checked in the venv; the
    /// pixel_values themselves are compared bit for bit in PreprocessTests' combinations).
    func testOtherValuesAreReadAsTransformersReadsThem() throws {
        // Flags by Python truth value.
        let flags = try decode(#"{"do_resize": 0, "do_center_crop": "no", "do_rescale": [], "do_normalize": {"a": 1}, "do_convert_rgb": "", "do_pad": 2.5}"#)
        XCTAssertEqual([flags.doResize, flags.doCenterCrop, flags.doRescale, flags.doNormalize, flags.doConvertRGB, flags.doPad],
                       [false, true, false, true, false, true])
        XCTAssertFalse(try decode(#"{"do_convert_rgb": null}"#).doConvertRGB)
        XCTAssertEqual(try decode(#"{"size": 30, "default_to_square": 1}"#).size, .exact(height: 30, width: 30))
        XCTAssertEqual(try decode(#"{"size": 30, "use_square_size": ""}"#).size, .shortestEdge(30))
        // resample: an integer (a boolean is one) names the filter; anything else that is hashable is BILINEAR.
        XCTAssertEqual(try decode(#"{"resample": true}"#).resample, .lanczos)
        XCTAssertEqual(try decode(#"{"resample": false}"#).resample, .nearest)
        XCTAssertEqual(try decode(#"{"resample": 7}"#).resample, .mks2021)
        for json in [#"{"resample": "bicubic"}"#, #"{"resample": "BICUBIC"}"#, #"{"resample": "3"}"#, #"{"resample": 3.5}"#] {
            let config = try decode(json)
            XCTAssertEqual(config.resample, .bilinear, json)
            XCTAssertEqual(config.unusableValues, [:], json)
        }
        // One number (or a bool) for every channel; numeric strings and null elements as numpy converts them.
        let scalars = try decode(#"{"image_mean": true, "image_std": "0.5", "rescale_factor": [[2]]}"#)
        XCTAssertEqual(scalars.imageMean, [1, 1, 1])
        XCTAssertEqual(scalars.imageStd, [0.5, 0.5, 0.5])
        XCTAssertEqual(scalars.rescaleFactor, 2)
        let strings = try decode(#"{"image_mean": [" 1_0 ", "-inf", null], "image_std": [0, -1, false]}"#)
        XCTAssertEqual(Array(strings.imageMean.prefix(2)), [10, -.infinity])
        XCTAssertTrue(strings.imageMean[2].isNaN)
        XCTAssertEqual(strings.imageStd, [0, -1, 0])
        XCTAssertEqual(try decode(#"{"rescale_factor": -0.5}"#).rescaleFactor, -0.5)
        XCTAssertEqual(try decode(#"{"rescale_factor": 0}"#).rescaleFactor, 0)
        // Python's float(str).
        let floats: [(String, Double?)] = [
            ("0.5", 0.5), (" 1e1\n", 10), ("1_000.5", 1000.5), ("+INF", .infinity), ("-Infinity", -.infinity),
            (".5", 0.5), ("5.", 5), ("1__0", nil), ("_1", nil), ("1_", nil), ("0x10", nil), ("abc", nil), ("", nil),
            ("1e", nil), ("- 1", nil),
        ]
        for (text, expected) in floats {
            XCTAssertEqual(ImageProcessorConfig.pythonFloat(text), expected, text)
        }
        XCTAssertTrue(ImageProcessorConfig.pythonFloat("nan")!.isNaN)
    }

    /// Values transformers loads but cannot apply fail each image that reaches their step, with a message that names
    /// the key, the value as written, the step and transformers' error; unused, they change nothing.
    func testUnusableValuesFailEachImage() throws {
        let image = RGBImage(width: 5, height: 4, pixels: [UInt8](repeating: 9, count: 60))
        let cases: [(String, String, [String])] = [
            (#"{"resample": 8}"#, "resample", ["8", "do_resize", "Unknown resampling filter (8)"]),
            (#"{"resample": [3]}"#, "resample", ["[3]", "do_resize", "unhashable"]),
            (#"{"image_mean": [0.5, 0.5]}"#, "image_mean", ["[0.5, 0.5]", "do_normalize", "got 2"]),
            (#"{"image_std": "1"}"#, "image_std", [#""1""#, "do_normalize", "std must have 3 elements"]),
            (#"{"image_std": [1, "x", 1]}"#, "image_std", [#"could not convert string to float: 'x'"#]),
            (#"{"image_mean": {"r": 1, "g": 1, "b": 1}}"#, "image_mean", ["dictionary"]),
            (#"{"rescale_factor": "0.5"}"#, "rescale_factor", [#""0.5""#, "do_rescale", "a string"]),
            (#"{"rescale_factor": [1, 2, 3]}"#, "rescale_factor", ["[1, 2, 3]", "a list"]),
            (#"{"do_pad": true, "pad_size": {"shortest_edge": 3}}"#, "pad_size", [#"{"shortest_edge": 3}"#, "do_pad"]),
        ]
        for (json, key, fragments) in cases {
            let processor = ImageProcessor(config: try decode(json))
            XCTAssertThrowsError(try processor.preprocess(image), json) { error in
                guard case let ImagePreprocessingError.unusableValue(k, _, _, _) = error else {
                    return XCTFail("\(json): \(error)")
                }
                XCTAssertEqual(k, key, json)
                for fragment in fragments {
                    XCTAssertTrue("\(error)".contains(fragment), "\(json): \(error) lacks \(fragment)")
                }
            }
            XCTAssertNotNil(processor.everyImageError, json)
            XCTAssertNil(processor.fixedOutputSize, json)
        }
        // Unused: the step is off.
        for json in [#"{"do_resize": false, "resample": 8}"#, #"{"do_normalize": false, "image_mean": [1]}"#,
                     #"{"do_rescale": false, "rescale_factor": "x"}"#, #"{"pad_size": {"shortest_edge": 3}}"#] {
            XCTAssertNoThrow(try ImageProcessor(config: try decode(json)).preprocess(image), json)
        }
        // Pillow checks the filter even when the size does not change.
        let same = ImageProcessor(config: try decode(#"{"size": {"height": 4, "width": 5}, "do_center_crop": false, "resample": 9}"#))
        XCTAssertThrowsError(try same.preprocess(image))
    }

    /// do_pad with a pad_size puts zeros (after normalization) below and right of the pixel_values; a pad size
    /// smaller than them fails that image.
    func testPaddingAddsZerosBelowAndRight() throws {
        let image = RGBImage(width: 5, height: 4, pixels: (0..<60).map { UInt8($0 * 4) })
        let plain = try ImageProcessor(config: try decode(#"{"do_resize": false, "do_center_crop": false}"#)).preprocess(image)
        let padded = ImageProcessor(config: try decode(
            #"{"do_resize": false, "do_center_crop": false, "do_pad": true, "pad_size": [6, 8]}"#))
        XCTAssertTrue(padded.fixedOutputSize! == (6, 8))
        let out = try padded.preprocess(image)
        XCTAssertEqual([out.height, out.width], [6, 8])
        for c in 0..<3 {
            for y in 0..<6 {
                for x in 0..<8 {
                    let v = out.values[c * 48 + y * 8 + x]
                    XCTAssertEqual(v, y < 4 && x < 5 ? plain.values[c * 20 + y * 5 + x] : 0, "c\(c) y\(y) x\(x)")
                }
            }
        }
        let small = ImageProcessor(config: try decode(
            #"{"do_resize": false, "do_center_crop": false, "do_pad": true, "pad_size": {"height": 3, "width": 8}}"#))
        XCTAssertThrowsError(try small.preprocess(image)) {
            XCTAssertEqual($0 as? ImagePreprocessingError, .padSmallerThanImage(padHeight: 3, padWidth: 8, height: 4, width: 5))
        }
        XCTAssertNoThrow(try small.preprocess(RGBImage(width: 2, height: 2, pixels: [UInt8](repeating: 1, count: 12))))
        // Without pad_size the pipeline's one-image call pads to that image: nothing changes.
        let noSize = ImageProcessor(config: try decode(#"{"do_resize": false, "do_center_crop": false, "do_pad": true}"#))
        XCTAssertEqual(try noSize.preprocess(image).values, plain.values)
    }

    func testResizedSizeRules() throws {
        let p = ImageProcessor(config: ImageProcessorConfig(size: .shortestEdge(224)))
        // The long side is truncated: 224 * 512 / 384 = 298.67 -> 298.
        XCTAssertTrue(try p.resizedSize(width: 512, height: 384) == (224, 298))
        XCTAssertTrue(try p.resizedSize(width: 3, height: 1000) == (74666, 224))
        XCTAssertTrue(try p.resizedSize(width: 1, height: 1) == (224, 224))
        // get_size_with_aspect_ratio: the short side becomes round(40 * 2 / 3) = 27, the long one int(26.67 * 3 / 2).
        XCTAssertTrue(ImageProcessor.sizeWithAspectRatio(height: 2, width: 3, size: 32, maxSize: 40) == (27, 40))
        XCTAssertTrue(ImageProcessor.sizeWithAspectRatio(height: 5, width: 10, size: 5, maxSize: 40) == (5, 10))
        let m = ImageProcessor(config: ImageProcessorConfig(size: .maxHeightWidth(maxHeight: 50, maxWidth: 50),
                                                               doCenterCrop: false))
        XCTAssertTrue(try m.resizedSize(width: 200, height: 100) == (25, 50))
        XCTAssertNil(m.fixedOutputSize)
        XCTAssertTrue(try m.outputSize(width: 200, height: 100) == (25, 50))
        // A side that comes out below one pixel fails that image (Pillow: "height and width must be > 0").
        XCTAssertThrowsError(try m.outputSize(width: 200, height: 1)) {
            XCTAssertEqual($0 as? ImagePreprocessingError, .emptyResize(height: 0, width: 50))
        }
        XCTAssertNil(m.everyImageError)
    }
}
