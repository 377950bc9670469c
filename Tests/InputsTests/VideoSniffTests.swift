import Foundation
import XCTest
@testable import Inputs

/// Videos are recognised by their first bytes, never by their names.
final class VideoSniffTests: XCTestCase {
    func kind(_ bytes: [UInt8]) -> ContentKind { Data(bytes).withUnsafeBytes { ContentKind.sniff($0) } }

    /// An ISO box: 32-bit size, type, payload.
    func box(_ type: String, _ payload: [UInt8]) -> [UInt8] {
        let size = 8 + payload.count
        return [UInt8(size >> 24), UInt8((size >> 16) & 0xFF), UInt8((size >> 8) & 0xFF), UInt8(size & 0xFF)]
            + Array(type.utf8) + payload
    }

    func ftyp(_ major: String, _ compatible: [String]) -> [UInt8] {
        box("ftyp", Array(major.utf8) + [0, 0, 2, 0] + compatible.flatMap { Array($0.utf8) }) + box("free", [])
    }

    func ts(packet: Int, offset: Int, count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0xFF, count: packet * count)
        for i in 0..<count { bytes[i * packet + offset] = 0x47 }
        return bytes
    }

    func testContainers() {
        XCTAssertEqual(kind(ftyp("isom", ["isom", "iso2", "avc1", "mp41"])), .video("MP4"))
        XCTAssertEqual(kind(ftyp("mp42", ["mp42", "isom"])), .video("MP4"))
        XCTAssertEqual(kind(ftyp("qt  ", ["qt  "])), .video("QuickTime"))
        XCTAssertEqual(kind(ftyp("3gp5", ["3gp5", "isom"])), .video("3GP"))
        // An unknown major brand with a video brand among the compatible ones.
        XCTAssertEqual(kind(ftyp("abcd", ["abcd", "iso6"])), .video("MP4"))
        // HEIF and AVIF stay images that are not supported; audio-only brands are no videos.
        XCTAssertEqual(kind(ftyp("heic", ["mif1", "heic"])), .unsupportedImage("HEIF"))
        XCTAssertEqual(kind(ftyp("avif", ["avif", "mif1"])), .unsupportedImage("AVIF"))
        XCTAssertEqual(kind(ftyp("M4A ", ["M4A ", "mp42", "isom"])), .other)
        XCTAssertEqual(kind(ftyp("abcd", ["abcd"])), .other)
        // QuickTime without ftyp.
        XCTAssertEqual(kind(box("moov", [0, 0, 0, 8]) ), .video("QuickTime"))
        XCTAssertEqual(kind(box("wide", []) + box("mdat", [1, 2, 3])), .video("QuickTime"))
        XCTAssertEqual(kind([0, 0, 0, 4] + Array("mdat".utf8)), .other)
        // EBML with its DocType.
        let ebml: [UInt8] = [0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82]
        XCTAssertEqual(kind(ebml + [0x84] + Array("webm".utf8) + [0x42, 0x87, 0x81, 0x04]), .video("WebM"))
        XCTAssertEqual(kind(ebml + [0x88] + Array("matroska".utf8) + [0x42, 0x87, 0x81, 0x04]), .video("Matroska"))
        // AVI, not WAVE.
        XCTAssertEqual(kind(Array("RIFF".utf8) + [0x10, 0, 0, 0] + Array("AVI LIST".utf8)), .video("AVI"))
        XCTAssertEqual(kind(Array("RIFF".utf8) + [0x10, 0, 0, 0] + Array("WAVEfmt ".utf8)), .other)
        // Transport streams: three packets in a row.
        XCTAssertEqual(kind(ts(packet: 188, offset: 0, count: 5)), .video("MPEG-TS"))
        XCTAssertEqual(kind(ts(packet: 192, offset: 4, count: 5)), .video("M2TS"))
        XCTAssertEqual(kind(ts(packet: 188, offset: 0, count: 2)), .other)
        XCTAssertEqual(kind([0x47] + Array(repeating: 0, count: 600)), .other)
        XCTAssertTrue(ContentKind.video("MP4").isInput)
        XCTAssertGreaterThanOrEqual(ContentKind.headerLength, 389)
    }

    /// A folder walk takes videos by content (whatever their names), and leaves other files out.
    func testWalksTakeVideos() throws {
        let tree = try TestTree(self)
        try tree.file("clips/holiday.bin", Data(ftyp("isom", ["isom", "avc1"])))
        try tree.file("clips/stream", Data(ts(packet: 188, offset: 0, count: 6)))
        try tree.file("clips/song.m4a", Data(ftyp("M4A ", ["M4A ", "isom"])))
        try tree.file("clips/notes.mp4", Header.text)
        try tree.file("clips/a.jpg", Header.jpeg)
        let walk = InputWalker().entries([tree.root.appendingPathComponent("clips").path])
        XCTAssertEqual(walk.entries.map { ($0.name as NSString).lastPathComponent }, ["a.jpg", "holiday.bin", "stream"])
        XCTAssertEqual(walk.skippedNonImages, 2)
        XCTAssertTrue(walk.problems.isEmpty)
    }
}
