import Foundation
import XCTest
@testable import Tokenizers

/// Bad SentencePiece inputs give errors naming the file and the reason; nothing crashes.
final class SentencePieceErrorTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("spm-errors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    static let realModel = fixturesDirectory.appendingPathComponent("sentencepiece/siglip/spiece.model")

    // A minimal protobuf writer for hand-made ModelProto messages.
    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v
        var out: [UInt8] = []
        repeat {
            var b = UInt8(v & 0x7F)
            v >>= 7
            if v != 0 { b |= 0x80 }
            out.append(b)
        } while v != 0
        return out
    }
    static func field(_ n: Int, varint v: UInt64) -> [UInt8] { varint(UInt64(n << 3)) + varint(v) }
    static func field(_ n: Int, bytes: [UInt8]) -> [UInt8] { varint(UInt64(n << 3 | 2)) + varint(UInt64(bytes.count)) + bytes }
    static func piece(_ s: String, score: Float, type: Int) -> [UInt8] {
        let body = field(1, bytes: Array(s.utf8)) + varint(UInt64(2 << 3 | 5))
            + withUnsafeBytes(of: score.bitPattern.littleEndian) { Array($0) } + field(3, varint: UInt64(type))
        return field(1, bytes: body)
    }
    static func model(type: Int) -> [UInt8] {
        piece("<unk>", score: 0, type: 2) + piece("</s>", score: 0, type: 3) + piece("▁a", score: -1, type: 1)
            + piece("a", score: -2, type: 1) + field(2, bytes: field(3, varint: UInt64(type)))
            + field(3, bytes: field(1, bytes: Array("identity".utf8)))
    }

    func write(_ bytes: [UInt8]) throws -> URL {
        let url = directory.appendingPathComponent("spiece.model")
        try Data(bytes).write(to: url)
        return url
    }

    func assertError(_ body: () throws -> Void, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        do {
            try body()
            XCTFail("no error", file: file, line: line)
        } catch let error as TokenizerError {
            for p in parts {
                XCTAssertTrue(error.description.contains(p), "\"\(error.description)\" lacks \"\(p)\"", file: file, line: line)
            }
            XCTAssertEqual(error.localizedDescription, error.description, file: file, line: line)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    func testHandMadeUnigramModelEncodes() throws {
        let url = try write(Self.model(type: 1))
        let sp = try SentencePieceProcessor(contentsOf: url)
        XCTAssertEqual(sp.encodePieces("a a"), ["▁a", "▁a"])
        XCTAssertEqual(sp.encode("ab").map(\.id), [2, 0], "b is unknown")
    }

    func testUnsupportedModelTypeNamesFileAndType() throws {
        for (type, name) in [(3, "WORD"), (4, "CHAR"), (9, "9")] {
            let url = try write(Self.model(type: type))
            assertError({ _ = try SiglipTokenizer(directory: self.directory) }, contains: [url.path, "model type \(name)"])
        }
    }

    func testTruncatedModelNamesFileAndOffset() throws {
        let bytes = [UInt8](try Data(contentsOf: Self.realModel))
        for cut in [1, 7, 100, 5_000, bytes.count - 3] {
            let url = try write(Array(bytes.prefix(cut)))
            assertError({ _ = try SentencePieceModel(contentsOf: url) }, contains: [url.path, "at byte"])
        }
    }

    func testGarbageIsNotAModel() throws {
        for bytes: [UInt8] in [[0xFF, 0xFF, 0xFF], Array("{\"not\": \"protobuf\"}".utf8), [0x0F, 0x01], []] {
            let url = try write(bytes)
            assertError({ _ = try SiglipTokenizer(directory: self.directory) }, contains: [url.path])
        }
    }

    func testModelWithoutUnknownPiece() throws {
        let url = try write(Self.piece("▁a", score: -1, type: 1) + Self.piece("a", score: -2, type: 1))
        assertError({ _ = try SentencePieceProcessor(contentsOf: url) }, contains: [url.path, "unknown piece"])
    }

    func testBrokenCharsmap() throws {
        let spec = Self.field(1, bytes: Array("nmt_nfkc".utf8)) + Self.field(2, bytes: [0xFF, 0xFF, 0, 0, 1, 2])
        let url = try write(Self.piece("<unk>", score: 0, type: 2) + Self.piece("a", score: -1, type: 1) + Self.field(3, bytes: spec))
        assertError({ _ = try SentencePieceProcessor(contentsOf: url) }, contains: [url.path, "precompiled_charsmap"])
    }

    func testMissingSpieceModel() throws {
        assertError({ _ = try SiglipTokenizer(directory: self.directory) }, contains: ["spiece.model"])
        assertError({ _ = try SiglipTokenizer(directory: self.directory.appendingPathComponent("nope")) }, contains: ["nope"])
    }

    func testMalformedTokenizerConfig() throws {
        try FileManager.default.copyItem(at: Self.realModel, to: directory.appendingPathComponent("spiece.model"))
        let config = directory.appendingPathComponent("tokenizer_config.json")
        try Data("{\"model_input_names\": 5}".utf8).write(to: config)
        assertError({ _ = try SiglipTokenizer(directory: self.directory) }, contains: [config.path, "model_input_names"])
        try Data("{not json".utf8).write(to: config)
        assertError({ _ = try SiglipTokenizer(directory: self.directory) }, contains: [config.path])
    }
}
