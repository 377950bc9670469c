import Foundation
import XCTest
@testable import ImageIO

/// The single transparent colour Pillow keeps through `load_image` (info["transparency"] after convert("RGB")),
/// and transformers' `convert_to_rgb`, which turns the pixels of that colour white before resizing.
/// Goldens: Tools/reference/image_fixtures.py.
final class TransparencyTests: XCTestCase {
    struct Manifest: Decodable {
        struct Case: Decodable {
            let file: String
            let error: String?
            let transparent_color: [Int]?
            let whitened_pixels: Int?
        }
        struct PixelValuesCase: Decodable {
            let image: String
            let config: String
            let pixel_values: String
            let shape: [Int]
        }
        let cases: [Case]
        let transparency_pixel_values: [PixelValuesCase]
    }

    static let imagesDirectory = fixturesDirectory.appendingPathComponent("images")

    func loadManifest() throws -> Manifest {
        let data = try Data(contentsOf: Self.imagesDirectory.appendingPathComponent("manifest.json"))
        return try JSONDecoder().decode(Manifest.self, from: data)
    }

    func decode(_ name: String) throws -> RGBImage {
        try ImageDecoder.decode(contentsOf: Self.imagesDirectory.appendingPathComponent(name))
    }

    func testDecodedKeyEqualsPillowsTransparency() throws {
        let manifest = try loadManifest()
        var keyed = 0, plain = 0
        for c in manifest.cases where c.error == nil {
            let image = try decode(c.file)
            let expected = c.transparent_color.map { RGBColor(red: UInt8($0[0]), green: UInt8($0[1]), blue: UInt8($0[2])) }
            XCTAssertEqual(image.transparentColor, expected, c.file)
            if expected == nil { plain += 1 } else { keyed += 1 }
        }
        XCTAssertGreaterThanOrEqual(keyed, 20)
        XCTAssertGreaterThanOrEqual(plain, 70)
    }

    func testPixelValuesMatchTransformersConvertToRGB() throws {
        let manifest = try loadManifest()
        XCTAssertGreaterThanOrEqual(manifest.transparency_pixel_values.count, 12)
        var worst: Float = 0
        for c in manifest.transparency_pixel_values {
            let processor = try ImageProcessor(contentsOf: Self.imagesDirectory.appendingPathComponent(c.config))
            let image = try decode(c.image)
            let data = try Data(contentsOf: Self.imagesDirectory.appendingPathComponent(c.pixel_values))
            let expected = data.withUnsafeBytes { raw in
                (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            }
            XCTAssertEqual(expected.count, c.shape.reduce(1, *), c.pixel_values)
            let got = processor.pixelValues(image)
            XCTAssertEqual(got.count, expected.count, c.image)
            guard got.count == expected.count else { continue }
            let diff = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(diff, 1e-6, "\(c.image) (\(c.config)): max abs diff \(diff)")
            worst = max(worst, diff)
        }
        print("transparency pixel_values: \(manifest.transparency_pixel_values.count) cases, max abs diff \(worst)")
    }

    /// Without whitening the keyed images differ from transformers: the goldens above can fail.
    func testWhiteningIsWhatMakesTheDifference() throws {
        let url = Self.imagesDirectory.appendingPathComponent("transparency/convert/preprocessor_config.json")
        let processor = try ImageProcessor(contentsOf: url)
        var image = try decode("gif_offset_frame_transparent.gif")
        XCTAssertNotNil(image.transparentColor)
        let with = processor.pixelValues(image)
        image.transparentColor = nil
        let without = processor.pixelValues(image)
        let diff = zip(with, without).map { abs($0 - $1) }.max() ?? 0
        XCTAssertGreaterThan(diff, 0.1)
    }

    func testConvertToRGBWhitensExactlyTheKeyColour() {
        let pixels: [UInt8] = [10, 20, 30, 10, 20, 31, 0, 0, 0, 10, 20, 30, 255, 255, 255, 30, 20, 10]
        var image = RGBImage(width: 3, height: 2, pixels: pixels)
        XCTAssertNil(image.transparentColor)
        XCTAssertEqual(ImageProcessor.convertedToRGB(image), pixels)
        image.transparentColor = RGBColor(red: 10, green: 20, blue: 30)
        XCTAssertEqual(ImageProcessor.convertedToRGB(image),
                       [255, 255, 255, 10, 20, 31, 0, 0, 0, 255, 255, 255, 255, 255, 255, 30, 20, 10])
    }

    func testDoConvertRGBFalseIgnoresTheKey() throws {
        var config = ImageProcessorConfig()
        config.doConvertRGB = false
        let processor = ImageProcessor(config: config)
        var image = try decode("png_palette_simple_trns.png")
        XCTAssertNotNil(image.transparentColor)
        let keyed = processor.pixelValues(image)
        image.transparentColor = nil
        XCTAssertEqual(keyed, processor.pixelValues(image))
    }

    func testKeyIsKeptThroughTransposeAndResize() throws {
        let key = RGBColor(red: 1, green: 2, blue: 3)
        let image = RGBImage(width: 2, height: 1, pixels: [1, 2, 3, 4, 5, 6], transparentColor: key)
        for o in 1...8 { XCTAssertEqual(image.transposed(forOrientation: o).transparentColor, key) }
        XCTAssertEqual(image.resized(width: 3, height: 2).transparentColor, key)
        XCTAssertEqual(RGBImage(width: 1, height: 1, pixels: [0, 0, 0]).transparentColor, nil)
        XCTAssertEqual(key.description, "(1, 2, 3)")
        // Orientation 6 on a keyed palette PNG: the key survives the EXIF transposition.
        let rotated = try decode("png_palette_trns_orientation_6.png")
        XCTAssertEqual(rotated.transparentColor, RGBColor(red: 164, green: 131, blue: 108))
    }
}
