import Foundation
import XCTest
@testable import ImageIO

/// BMP RLE8/RLE4 and the bilevel/grayscale palette modes decode to exactly Pillow's RGB
/// (Tests/Fixtures/images/bmp_rle, written by Tools/reference/bmp_rle_fixtures.py), and the inputs
/// Pillow rejects fail with an error naming the file.
final class DecodeBMPRLETests: XCTestCase {
    static let directory = fixturesDirectory.appendingPathComponent("images/bmp_rle")

    func testRLEAndPaletteModesMatchPillow() throws {
        let manifest = try DecodeManifest.load(from: Self.directory)
        var decoded = 0, rejected = 0
        for c in manifest.cases {
            let url = Self.directory.appendingPathComponent(c.file)
            if c.error != nil {
                XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: url), c.file) { error in
                    guard let e = error as? ImageIOError else { return XCTFail("\(c.file): \(error)") }
                    XCTAssertEqual(e.source, url.path)
                    XCTAssertTrue(e.reason.contains("BMP"), "\(c.file): \(e.reason)")
                }
                rejected += 1
                continue
            }
            let image: RGBImage
            do { image = try ImageDecoder.decode(contentsOf: url) } catch {
                XCTFail("\(c.file): \(error)")
                continue
            }
            XCTAssertEqual(image.width, c.width, c.file)
            XCTAssertEqual(image.height, c.height, c.file)
            let golden = [UInt8](try Data(contentsOf: Self.directory.appendingPathComponent(try XCTUnwrap(c.rgb))))
            XCTAssertEqual(image.pixels, golden, c.file)
            decoded += 1
        }
        XCTAssertGreaterThanOrEqual(decoded, 20)
        XCTAssertGreaterThanOrEqual(rejected, 6)
    }

    /// Random RLE streams never crash the decoder and always give either a full image or an error.
    func testRandomRLEStreamsNeverCrash() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let width = Int.random(in: 1...12, using: &rng), height = Int.random(in: 1...8, using: &rng)
            let compression = UInt32.random(in: 1...2, using: &rng)
            let bits: UInt16 = [1, 4, 8].randomElement(using: &rng)!
            var stream = [UInt8]()
            for _ in 0..<Int.random(in: 0...40, using: &rng) { stream.append(UInt8.random(in: 0...255, using: &rng)) }
            let bmp = Self.bmp(width: width, height: height, bits: bits, compression: compression,
                               palette: (0..<16).map { UInt8($0 * 9) }, pixels: stream)
            do {
                let image = try ImageDecoder.decode(Data(bmp))
                XCTAssertEqual(image.pixels.count, width * height * 3)
            } catch let error as ImageIOError {
                XCTAssertFalse(error.reason.isEmpty)
            }
        }
    }

    /// A 40-byte-header BMP with a palette of gray-ish entries `v` (as B, G, R, 0).
    static func bmp(width: Int, height: Int, bits: UInt16, compression: UInt32, palette: [UInt8], pixels: [UInt8]) -> [UInt8] {
        func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        let pal: [UInt8] = palette.flatMap { v -> [UInt8] in [v &+ 1, v, v &+ 2, 0] }
        var info: [UInt8] = le32(40)
        for field in [le32(UInt32(width)), le32(UInt32(height)), le16(1), le16(bits), le32(compression),
                      le32(UInt32(pixels.count)), le32(0), le32(0), le32(UInt32(palette.count)), le32(0)] {
            info += field
        }
        let offset = 14 + info.count + pal.count
        var file: [UInt8] = Array("BM".utf8)
        file += le32(UInt32(offset + pixels.count))
        file += le32(0)
        file += le32(UInt32(offset))
        file += info
        file += pal
        file += pixels
        return file
    }
}
