import XCTest
@testable import ImageIO

/// The TIFF/EXIF reader on hand-built blocks: both byte orders, hostile offsets, XMP fallback.
final class DecodeEXIFTests: XCTestCase {
    func block(bigEndian: Bool, entries: [(tag: UInt16, type: UInt16, count: UInt32, value: [UInt8])],
               ifdOffset: UInt32 = 8, prefix: Bool = true) -> [UInt8] {
        func u16(_ v: UInt16) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: UInt32) -> [UInt8] {
            let b = [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
            return bigEndian ? b : b.reversed()
        }
        var out: [UInt8] = prefix ? Array("Exif".utf8) + [0, 0] : []
        out += bigEndian ? [0x4D, 0x4D, 0x00, 0x2A] : [0x49, 0x49, 0x2A, 0x00]
        out += u32(ifdOffset)
        out += u16(UInt16(entries.count))
        for e in entries {
            out += u16(e.tag) + u16(e.type) + u32(e.count) + e.value + [UInt8](repeating: 0, count: 4 - e.value.count)
        }
        out += u32(0)
        return out
    }

    func testShortOrientationInBothByteOrders() {
        for o in 1...8 {
            let le = block(bigEndian: false, entries: [(0x0112, 3, 1, [UInt8(o), 0])])
            let be = block(bigEndian: true, entries: [(0x0112, 3, 1, [0, UInt8(o)])])
            XCTAssertEqual(EXIFOrientation.orientation(exif: le, xmp: nil, rawProfileText: nil), o)
            XCTAssertEqual(EXIFOrientation.orientation(exif: be, xmp: nil, rawProfileText: nil), o)
        }
    }

    func testOtherNumericTypesAndFirstTagWins() {
        let long = block(bigEndian: false, entries: [(0x010F, 2, 3, Array("ab\0".utf8)), (0x0112, 4, 1, [6, 0, 0, 0])])
        XCTAssertEqual(EXIFOrientation.orientation(exif: long, xmp: nil, rawProfileText: nil), 6)
        let dup = block(bigEndian: true, entries: [(0x0112, 3, 1, [0, 3]), (0x0112, 3, 1, [0, 8])])
        XCTAssertEqual(EXIFOrientation.orientation(exif: dup, xmp: nil, rawProfileText: nil), 3)
        let ascii = block(bigEndian: true, entries: [(0x0112, 2, 2, Array("6\0".utf8))])
        XCTAssertEqual(EXIFOrientation.orientation(exif: ascii, xmp: nil, rawProfileText: nil), 1)
        let outOfRange = block(bigEndian: true, entries: [(0x0112, 3, 1, [0, 9])])
        XCTAssertEqual(EXIFOrientation.orientation(exif: outOfRange, xmp: nil, rawProfileText: nil), 1)
    }

    func testHostileBlocksNeverCrash() {
        // IFD offset past the end, entry count larger than the data, value offset past the end.
        let far = block(bigEndian: false, entries: [(0x0112, 3, 1, [6, 0])], ifdOffset: 0xFFFF_FFF0)
        XCTAssertEqual(EXIFOrientation.orientation(exif: far, xmp: nil, rawProfileText: nil), 1)
        var many = block(bigEndian: false, entries: [(0x0112, 3, 1, [6, 0])])
        many[14] = 0xFF; many[15] = 0xFF
        XCTAssertEqual(EXIFOrientation.orientation(exif: many, xmp: nil, rawProfileText: nil), 6)
        let huge = block(bigEndian: true, entries: [(0x0112, 3, 0x4000_0000, [0x7F, 0xFF, 0xFF, 0xFF])])
        XCTAssertEqual(EXIFOrientation.orientation(exif: huge, xmp: nil, rawProfileText: nil), 1)
        for n in 0..<40 {
            let full = block(bigEndian: true, entries: [(0x0100, 4, 3, [0, 0, 0, 8]), (0x0112, 3, 1, [0, 6])])
            _ = EXIFOrientation.orientation(exif: Array(full.prefix(n)), xmp: nil, rawProfileText: nil)
        }
        XCTAssertEqual(EXIFOrientation.orientation(exif: Array("Exif".utf8) + [0, 0, 1, 2], xmp: nil, rawProfileText: nil), 1)
    }

    func testXMPFallbackAndRawProfile() {
        let xmp = Array(#"<rdf:Description tiff:Orientation="8"/>"#.utf8)
        XCTAssertEqual(EXIFOrientation.orientation(exif: nil, xmp: xmp, rawProfileText: nil), 8)
        XCTAssertEqual(EXIFOrientation.orientation(exif: nil, xmp: Array("<tiff:Orientation>3</tiff:Orientation>".utf8),
                                                   rawProfileText: nil), 3)
        // An EXIF Orientation tag, even 1, takes precedence over XMP.
        let one = block(bigEndian: false, entries: [(0x0112, 3, 1, [1, 0])])
        XCTAssertEqual(EXIFOrientation.orientation(exif: one, xmp: xmp, rawProfileText: nil), 1)
        let raw = block(bigEndian: true, entries: [(0x0112, 3, 1, [0, 7])], prefix: false)
        let hex = raw.map { String(format: "%02x", $0) }.joined()
        let text = Array("\nexif\n      \(raw.count)\n\(hex)\n".utf8)
        XCTAssertEqual(EXIFOrientation.orientation(exif: nil, xmp: nil, rawProfileText: text), 7)
    }

    func testTransposeMatchesPillowDefinitions() {
        // 3x2 image with distinct pixels p(x, y) = 10*y + x; check where pixel (2, 0) lands.
        let w = 3, h = 2
        var px: [UInt8] = []
        for y in 0..<h { for x in 0..<w { px += [UInt8(10 * y + x), 0, 0] } }
        let image = RGBImage(width: w, height: h, pixels: px)
        func at(_ im: RGBImage, _ x: Int, _ y: Int) -> UInt8 { im.pixels[(y * im.width + x) * 3] }
        XCTAssertEqual(image.transposed(forOrientation: 1), image)
        XCTAssertEqual(at(image.transposed(forOrientation: 2), 0, 0), 2)    // FLIP_LEFT_RIGHT
        XCTAssertEqual(at(image.transposed(forOrientation: 3), 0, 0), 12)   // ROTATE_180
        XCTAssertEqual(at(image.transposed(forOrientation: 4), 0, 0), 10)   // FLIP_TOP_BOTTOM
        let t5 = image.transposed(forOrientation: 5)                        // TRANSPOSE
        XCTAssertEqual([t5.width, t5.height], [2, 3]); XCTAssertEqual(at(t5, 1, 0), 10)
        let t6 = image.transposed(forOrientation: 6)                        // ROTATE_270 (clockwise)
        XCTAssertEqual(at(t6, 0, 0), 10); XCTAssertEqual(at(t6, 1, 0), 0)
        let t7 = image.transposed(forOrientation: 7)                        // TRANSVERSE
        XCTAssertEqual(at(t7, 0, 0), 12)
        let t8 = image.transposed(forOrientation: 8)                        // ROTATE_90 (counter-clockwise)
        XCTAssertEqual(at(t8, 0, 0), 2); XCTAssertEqual(at(t8, 1, 0), 12)
    }
}
