import Foundation
import XCTest
@testable import ImageIO

/// Every fixture of Tests/Fixtures/images/manifest.json decodes to exactly the RGB bytes of
/// transformers' load_image (Pillow), and every bad input fails with the expected error kind.
final class DecodeTests: XCTestCase {
    static let imagesDirectory = fixturesDirectory.appendingPathComponent("images")

    func loadManifest() throws -> DecodeManifest {
        try DecodeManifest.load(from: Self.imagesDirectory)
    }

    func testEveryImageFixtureMatchesPillow() throws {
        let manifest = try loadManifest()
        var checked = 0
        for c in manifest.cases where c.error == nil {
            let url = Self.imagesDirectory.appendingPathComponent(c.file)
            let image: RGBImage
            do {
                image = try ImageDecoder.decode(contentsOf: url)
            } catch {
                XCTFail("\(c.file): \(error)")
                continue
            }
            XCTAssertEqual(image.width, c.width, c.file)
            XCTAssertEqual(image.height, c.height, c.file)
            if let rgb = c.rgb {
                let golden = [UInt8](try Data(contentsOf: Self.imagesDirectory.appendingPathComponent(rgb)))
                XCTAssertEqual(image.pixels.count, golden.count, c.file)
                if image.pixels.count == golden.count {
                    var maxDiff = 0, mismatches = 0
                    for (a, b) in zip(image.pixels, golden) where a != b {
                        mismatches += 1
                        maxDiff = max(maxDiff, abs(Int(a) - Int(b)))
                    }
                    XCTAssertEqual(mismatches, 0, "\(c.file): \(mismatches) bytes differ, max abs diff \(maxDiff)")
                }
            } else if let digest = c.sha256 {
                XCTAssertEqual(SHA256.hex(image.pixels), digest, "\(c.file): RGB bytes differ from Pillow's")
            } else {
                XCTFail("\(c.file): manifest entry without golden")
            }
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 70)
    }

    func testEveryBadInputFailsWithTheRightError() throws {
        let manifest = try loadManifest()
        var checked = 0
        for c in manifest.cases {
            guard let expected = c.error else { continue }
            let url = Self.imagesDirectory.appendingPathComponent(c.file)
            do {
                _ = try ImageDecoder.decode(contentsOf: url)
                XCTFail("\(c.file): decoded, expected \(expected)")
            } catch let error as ImageIOError {
                XCTAssertEqual(error.kind.rawValue, expected, "\(c.file): \(error)")
                XCTAssertEqual(error.source, url.path, c.file)
                XCTAssertTrue(error.description.hasPrefix(url.path + ": "), error.description)
                XCTAssertFalse(error.reason.isEmpty)
            }
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 15)
    }

    func testErrorsFromDataHaveNoSourceAndNameTheReason() {
        XCTAssertThrowsError(try ImageDecoder.decode(Data("hello".utf8))) { error in
            let e = error as? ImageIOError
            XCTAssertEqual(e?.kind, .notAnImage)
            XCTAssertNil(e?.source)
            XCTAssertTrue(e?.description.contains("not an image") ?? false)
        }
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: "/nonexistent/x.jpg"))) { error in
            let e = error as? ImageIOError
            XCTAssertEqual(e?.kind, .unreadable)
            XCTAssertEqual(e?.source, "/nonexistent/x.jpg")
        }
    }

    func testPixelLimitIsConfigurable() throws {
        for name in ["jpeg_420.jpg", "png_rgb.png", "webp_lossy.webp", "gif_basic.gif", "bmp_24.bmp"] {
            let data = try Data(contentsOf: Self.imagesDirectory.appendingPathComponent(name))
            let image = try ImageDecoder.decode(data)
            let pixels = image.width * image.height
            XCTAssertNoThrow(try ImageDecoder.decode(data, maxPixels: pixels), name)
            XCTAssertThrowsError(try ImageDecoder.decode(data, maxPixels: pixels - 1), name) { error in
                XCTAssertEqual((error as? ImageIOError)?.kind, .tooLarge, name)
                XCTAssertTrue((error as? ImageIOError)?.reason.contains("exceeds the limit") ?? false, name)
            }
        }
        XCTAssertEqual(ImageDecoder.defaultMaxPixels, 2 * (1024 * 1024 * 1024 / 4 / 3))
    }

    func testEveryPrefixOfAFileIsHandledWithoutCrashing() throws {
        // Cut each format at many lengths and flip bytes: decoding must throw or succeed, never crash.
        for name in ["jpeg_420.jpg", "jpeg_progressive.jpg", "png_interlaced.png", "webp_lossless_alpha.webp",
                     "gif_interlaced.gif", "bmp_4.bmp", "jpeg_orientation_6.jpg", "png_orientation_3.png"] {
            let data = try Data(contentsOf: Self.imagesDirectory.appendingPathComponent(name))
            let step = max(1, data.count / 40)
            for length in stride(from: 0, to: data.count, by: step) {
                _ = try? ImageDecoder.decode(data.prefix(length))
            }
            var flipped = [UInt8](data)
            for i in stride(from: 0, to: flipped.count, by: 7) {
                flipped[i] ^= 0x5A
                _ = try? ImageDecoder.decode(Data(flipped))
                flipped[i] ^= 0x5A
            }
        }
    }

    func testFormatDetectionUsesMagicBytesNotExtension() throws {
        let png = try Data(contentsOf: Self.imagesDirectory.appendingPathComponent("png_rgb.png"))
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("decode-test-\(getpid()).jpg")
        try png.write(to: tmp)
        defer { try? FileManager.default.removeItem(at: tmp) }
        XCTAssertEqual(try ImageDecoder.decode(contentsOf: tmp), try ImageDecoder.decode(png))
        png.withUnsafeBytes { XCTAssertEqual(ImageFormat.detect($0), .png) }
    }
}

/// SHA-256 (FIPS 180-4), used only to compare large decoded images with their golden digests.
enum SHA256 {
    static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    static func hex(_ message: [UInt8]) -> String {
        var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        var data = message
        let bitLength = UInt64(message.count) * 8
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        for i in (0..<8).reversed() { data.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
        var w = [UInt32](repeating: 0, count: 64)
        for chunk in stride(from: 0, to: data.count, by: 64) {
            for i in 0..<16 {
                let o = chunk + 4 * i
                w[i] = UInt32(data[o]) << 24 | UInt32(data[o + 1]) << 16 | UInt32(data[o + 2]) << 8 | UInt32(data[o + 3])
            }
            for i in 16..<64 {
                let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for i in 0..<64 {
                let t1 = hh &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[i] &+ w[i]
                let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            h = zip(h, [a, b, c, d, e, f, g, hh]).map { $0 &+ $1 }
        }
        return h.map { String(format: "%08x", $0) }.joined()
    }
}
