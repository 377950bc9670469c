import Foundation
import XCTest
@testable import ImageIO

/// Parity of resampling and preprocessing with Pillow 13 / transformers' CLIPImageProcessorPil, on the
/// goldens written by Tools/reference/preprocess_fixtures.py.
final class PreprocessTests: XCTestCase {
    struct Manifest: Decodable {
        struct Input: Decodable {
            let file: String
            let stored_width: Int
            let stored_height: Int
            let construct: String?
            let width: Int
            let height: Int
        }
        struct Case: Decodable {
            let `case`: String
            let config: String
            let input: String
            let shape: [Int]
            let table_counts: [Int]
            let values: String
            let index: String
        }
        struct Resize: Decodable {
            let input: String
            let width: Int
            let height: Int
            let filter: Int
            let file: String
        }
        let inputs: [String: Input]
        let cases: [Case]
        let resize: [Resize]
    }

    static let root = fixturesDirectory.appendingPathComponent("preprocess")

    func loadManifest() throws -> Manifest {
        let data = try Data(contentsOf: Self.root.appendingPathComponent("manifest.json"))
        return try JSONDecoder().decode(Manifest.self, from: data)
    }

    func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: Self.root.appendingPathComponent(relative)))
    }

    func floats(_ relative: String) throws -> [Float] {
        let raw = try bytes(relative)
        XCTAssertEqual(raw.count % 4, 0)
        return (0..<(raw.count / 4)).map { i in
            let bits = UInt32(raw[4 * i]) | UInt32(raw[4 * i + 1]) << 8 | UInt32(raw[4 * i + 2]) << 16
                | UInt32(raw[4 * i + 3]) << 24
            return Float(bitPattern: bits)
        }
    }

    /// The test image as the script built it (same construction rules).
    func image(_ name: String, _ manifest: Manifest) throws -> RGBImage {
        let input = try XCTUnwrap(manifest.inputs[name], "unknown input \(name)")
        let stored = try bytes(input.file)
        XCTAssertEqual(stored.count, input.stored_width * input.stored_height * 3, input.file)
        switch input.construct {
        case nil:
            return RGBImage(width: input.width, height: input.height, pixels: stored)
        case "mirror2x2":
            let (w, h) = (input.stored_width, input.stored_height)
            var out = [UInt8](repeating: 0, count: 4 * w * h * 3)
            for y in 0..<(2 * h) {
                let sy = y < h ? y : 2 * h - 1 - y
                for x in 0..<(2 * w) {
                    let sx = x < w ? x : 2 * w - 1 - x
                    for c in 0..<3 { out[(y * 2 * w + x) * 3 + c] = stored[(sy * w + sx) * 3 + c] }
                }
            }
            return RGBImage(width: 2 * w, height: 2 * h, pixels: out)
        case let other?:
            XCTFail("unknown construction \(other)")
            return RGBImage(width: 1, height: 1, pixels: [0, 0, 0])
        }
    }

    /// Decodes the lossless table + index encoding of the reference pixel_values.
    func expectedPixelValues(_ c: Manifest.Case) throws -> [Float] {
        let table = try floats(c.values)
        let index = try bytes(c.index)
        XCTAssertEqual(table.count, c.table_counts.reduce(0, +))
        let plane = c.shape[1] * c.shape[2]
        XCTAssertEqual(index.count, 3 * plane)
        var offsets = [0, c.table_counts[0], c.table_counts[0] + c.table_counts[1]]
        offsets.append(table.count)
        var out = [Float](repeating: 0, count: index.count)
        for ch in 0..<3 {
            for i in 0..<plane {
                let k = Int(index[ch * plane + i])
                XCTAssertLessThan(k, c.table_counts[ch])
                out[ch * plane + i] = table[offsets[ch] + k]
            }
        }
        return out
    }

    func testPixelValuesMatchTransformers() throws {
        let manifest = try loadManifest()
        XCTAssertGreaterThanOrEqual(manifest.cases.count, 30)
        var worst: Float = 0
        var exact = 0
        for c in manifest.cases {
            let label = "\(c.case)/\(c.input)"
            let processor = try ImageProcessor(contentsOf: Self.root.appendingPathComponent(c.config))
            let img = try image(c.input, manifest)
            let size = try processor.outputSize(width: img.width, height: img.height)
            XCTAssertEqual([3, size.height, size.width], c.shape, label)
            if let fixed = processor.fixedOutputSize {
                XCTAssertEqual([3, fixed.height, fixed.width], c.shape, label)
            }
            let expected = try expectedPixelValues(c)
            let got = processor.pixelValues(img)
            XCTAssertEqual(got.count, expected.count, label)
            guard got.count == expected.count else { continue }
            var maxDiff: Float = 0
            var same = true
            for i in 0..<got.count {
                maxDiff = max(maxDiff, abs(got[i] - expected[i]))
                if got[i].bitPattern != expected[i].bitPattern { same = false }
            }
            XCTAssertLessThanOrEqual(maxDiff, 1e-6, label)
            if same { exact += 1 }
            worst = max(worst, maxDiff)

            // The buffer variant writes the same values.
            var buffer = [Float](repeating: .nan, count: got.count)
            try buffer.withUnsafeMutableBufferPointer { try processor.pixelValues(img, into: $0) }
            XCTAssertEqual(buffer, got, label)
        }
        print("preprocess parity: \(manifest.cases.count) cases, \(exact) bit-identical, max abs diff \(worst)")
        XCTAssertEqual(exact, manifest.cases.count)
    }

    struct Combinations: Decodable {
        struct Result: Decodable {
            let input: String
            let shape: [Int]?
            let fnv1a64: String?
            let error: String?
            let message: String?
        }
        struct Config: Decodable {
            let `case`: String
            let config: String
            let load_error: String?
            let results: [Result]?
        }
        let configs: [Config]
    }

    /// FNV-1a 64 over the float32 bit patterns, as the generator hashes transformers' pixel_values.
    static func fnv1a64(_ values: [Float]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for v in values { h = (h ^ UInt64(v.bitPattern)) &* 0x0000_0100_0000_01B3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func kind(_ error: Error) -> String {
        guard let e = error as? ImagePreprocessingError else { return "\(type(of: error))" }
        switch e {
        case .missingValue: return "missingValue"
        case .notResizable: return "notResizable"
        case .emptyResize: return "emptyResize"
        case .cropSizeWithoutHeightAndWidth: return "cropSizeWithoutHeightAndWidth"
        case .sizeMismatch: return "sizeMismatch"
        case let .unusableValue(key, _, _, _): return "unusableValue:\(key)"
        case .padSmallerThanImage: return "padSmallerThanImage"
        case .tooLarge: return "tooLarge"
        }
    }

    /// Every form of size x do_resize x do_center_crop x crop_size, with zero, negative and null values, on images
    /// of several aspect ratios (Tests/Fixtures/preprocess/combinations.json): the configs transformers refuses when
    /// loading are refused; for the others each image gets transformers' pixel_values (shape and bit-exact hash)
    /// or fails with the kind of error transformers raises for it.
    func testSizeAndCropCombinationsMatchTransformers() throws {
        let manifest = try loadManifest()
        let data = try Data(contentsOf: Self.root.appendingPathComponent("combinations.json"))
        let combinations = try JSONDecoder().decode(Combinations.self, from: data)
        XCTAssertGreaterThanOrEqual(combinations.configs.count, 70)
        var images = 0, failures = 0, refused = 0
        for c in combinations.configs {
            let decoded = Result { try JSONDecoder().decode(ImageProcessorConfig.self, from: Data(c.config.utf8)) }
            if let loadError = c.load_error {
                XCTAssertThrowsError(try decoded.get(), "\(c.case): transformers refuses it when loading (\(loadError))")
                refused += 1
                continue
            }
            let config: ImageProcessorConfig
            do { config = try decoded.get() } catch {
                XCTFail("\(c.case): transformers loads it, zeroshot refuses it: \(error)")
                continue
            }
            let processor = ImageProcessor(config: config)
            let results = try XCTUnwrap(c.results, c.case)
            for r in results {
                let label = "\(c.case)/\(r.input)"
                let img = try image(r.input, manifest)
                if let expectedKind = r.error {
                    failures += 1
                    XCTAssertThrowsError(try processor.preprocess(img), "\(label): transformers fails (\(r.message ?? ""))") {
                        XCTAssertEqual(Self.kind($0), expectedKind, "\(label): \($0)")
                        XCTAssertFalse("\($0)".isEmpty)
                    }
                    XCTAssertThrowsError(try processor.outputSize(width: img.width, height: img.height), label)
                    XCTAssertEqual(processor.pixelValues(img), [], label)
                    continue
                }
                images += 1
                let shape = try XCTUnwrap(r.shape, label)
                do {
                    let out = try processor.preprocess(img)
                    XCTAssertEqual([3, out.height, out.width], shape, label)
                    XCTAssertEqual(out.values.count, shape.reduce(1, *), label)
                    XCTAssertEqual(Self.fnv1a64(out.values), r.fnv1a64, "\(label): pixel_values differ")
                    if let fixed = processor.fixedOutputSize {
                        XCTAssertEqual([3, fixed.height, fixed.width], shape, "\(label): fixedOutputSize")
                    }
                } catch {
                    XCTFail("\(label): transformers gives \(shape), zeroshot fails: \(error)")
                }
            }
            // An error that does not depend on the image is reported once for the config. (An image whose resize
            // fails reports that first, as transformers resizes before it crops.)
            if let every = processor.everyImageError {
                XCTAssertTrue(results.allSatisfy { $0.error != nil }, "\(c.case): everyImageError \(every)")
                XCTAssertTrue(results.contains { $0.error == Self.kind(every) }, "\(c.case): everyImageError \(every)")
            } else {
                XCTAssertTrue(results.contains { $0.error == nil }, "\(c.case): every image fails, everyImageError is nil")
            }
        }
        print("size/crop combinations: \(combinations.configs.count) configs (\(refused) refused when loading), "
              + "\(images) images preprocessed, \(failures) failing as in transformers")
        XCTAssertGreaterThan(refused, 3)
        XCTAssertGreaterThan(failures, 20)
        XCTAssertGreaterThan(images, 150)
    }

    func testResizeMatchesPillow() throws {
        let manifest = try loadManifest()
        XCTAssertGreaterThanOrEqual(manifest.resize.count, 100)
        var mismatched = 0
        var worst = 0
        var filtersSeen = Set<Int>()
        for r in manifest.resize {
            let filter = try XCTUnwrap(ResamplingFilter(rawValue: r.filter))
            filtersSeen.insert(r.filter)
            let src = try image(r.input, manifest)
            let expected = try bytes(r.file)
            let got = src.resized(width: r.width, height: r.height, filter: filter)
            XCTAssertEqual(got.width, r.width)
            XCTAssertEqual(got.height, r.height)
            XCTAssertEqual(got.pixels.count, expected.count, r.file)
            guard got.pixels.count == expected.count else { continue }
            var diff = 0
            for i in 0..<expected.count { diff = max(diff, abs(Int(got.pixels[i]) - Int(expected[i]))) }
            if diff != 0 {
                mismatched += 1
                XCTFail("\(r.file): max byte difference \(diff) (\(filter))")
            }
            worst = max(worst, diff)
        }
        XCTAssertEqual(filtersSeen, Set(ResamplingFilter.allCases.map(\.rawValue)))
        print("resize parity: \(manifest.resize.count) cases, \(mismatched) mismatched, max byte diff \(worst)")
    }

    /// Computing only the cropped window gives the same bytes as resizing fully and cutting.
    /// Regression: a 1 x 400,000 image (within the pixel limit) resized to shortest edge 224 has a
    /// 224 x 89,600,000 resized grid; the resampling taps were computed for every output row (gigabytes)
    /// although only the 224 rows of the crop are kept.
    func testExtremeAspectRatioOnlyComputesTheCroppedRows() throws {
        let height = 400_000
        let image = RGBImage(width: 1, height: height, pixels: [UInt8](repeating: 0, count: height * 3).enumerated().map {
            [200, 100, 50][$0.offset % 3]
        })
        let processor = ImageProcessor(config: ImageProcessorConfig())
        let values = processor.pixelValues(image)
        XCTAssertEqual(values.count, 3 * 224 * 224)
        let config = processor.config
        for c in 0..<3 {
            let byte = Double([200, 100, 50][c])
            let expected = (Float(byte * config.rescaleFactor) - Float(config.imageMean[c])) / Float(config.imageStd[c])
            XCTAssertEqual(values[c * 224 * 224], expected, "channel \(c)")
            XCTAssertEqual(values[c * 224 * 224 + 224 * 224 - 1], expected, "channel \(c)")
        }
    }

    func testWindowedResampleEqualsFullResample() throws {
        let manifest = try loadManifest()
        let src = try image("coffee_77x53", manifest)
        for filter in ResamplingFilter.allCases {
            for (ow, oh) in [(30, 20), (70, 9), (90, 60), (9, 50)] {
                let full = src.resized(width: ow, height: oh, filter: filter)
                let window = PixelWindow(x0: ow / 4, y0: oh / 3, x1: ow - ow / 5, y1: oh - oh / 4)
                let part = src.pixels.withUnsafeBufferPointer {
                    pillowResample($0, width: src.width, height: src.height, outWidth: ow, outHeight: oh,
                                   filter: filter, window: window)
                }
                var cut = [UInt8]()
                for y in window.y0..<window.y1 {
                    cut += full.pixels[((y * ow + window.x0) * 3)..<((y * ow + window.x1) * 3)]
                }
                XCTAssertEqual(part, cut, "\(filter) \(ow)x\(oh)")
            }
        }
    }
}
