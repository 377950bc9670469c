import Foundation
import XCTest
@testable import Tokenizers

/// The WordPiece model and vocab.txt reading on hand-made vocabularies.
final class WordPieceTests: XCTestCase {
    func model(_ tokens: [String], maxChars: Int = 100) throws -> WordPieceModel {
        try WordPieceModel(vocab: tokens.enumerated().map { ($0.element, Int32($0.offset)) }, unknownToken: "[UNK]",
                           maxInputCharsPerWord: maxChars, source: "test")
    }

    func ids(_ m: WordPieceModel, _ word: String) -> [Int32] { m.tokenize(Array(word.unicodeScalars)) }

    func testGreedyLongestMatchFirst() throws {
        let m = try model(["[UNK]", "un", "##aff", "##able", "una", "##ff", "##a", "##ble", "u"])
        XCTAssertEqual(ids(m, "unaffable"), [4, 5, 3])  // "una" before "un": the longest piece first, no lookahead
        XCTAssertEqual(ids(m, "unaff"), [4, 5])
        XCTAssertEqual(ids(m, "uaff"), [8, 2])
        XCTAssertEqual(ids(m, "unable"), [4, 7])
        XCTAssertEqual(ids(m, "unx"), [0])  // one unmatched piece makes the whole word unknown
        XCTAssertEqual(ids(m, ""), [])
    }

    func testMaximumCharactersPerWord() throws {
        let m = try model(["[UNK]", "a", "##a"], maxChars: 3)
        XCTAssertEqual(ids(m, "aaa"), [1, 2, 2])
        XCTAssertEqual(ids(m, "aaaa"), [0])
        // Characters are Unicode scalars, not bytes: three 4-byte scalars fit.
        let cjk = try model(["[UNK]", "𠀀", "##𠀀"], maxChars: 3)
        XCTAssertEqual(ids(cjk, "𠀀𠀀𠀀"), [1, 2, 2])
    }

    func testVocabularyIsByteExact() throws {
        let m = try model(["[UNK]", "é", "e", "##\u{301}"])
        XCTAssertEqual(ids(m, "é"), [1])
        XCTAssertEqual(ids(m, "e\u{301}"), [2, 3])  // not "é", although Swift's String == calls them equal
    }

    func testUnknownTokenMustBeInVocabulary() {
        XCTAssertThrowsError(try WordPieceModel(vocab: [("a", 0)], unknownToken: "[UNK]", source: "v.txt")) {
            XCTAssertEqual($0 as? TokenizerError,
                           .missingVocabularyEntry(path: "v.txt", token: "[UNK]", reason: "unk_token"))
        }
    }

    func testVocabTextAsTokenizersReadsIt() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vocab-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data("[UNK]\r\na \nb\u{2028}\n\nc\na\n".utf8).write(to: url)
        let vocab = try BertTokenizer.readVocabText(url)
        XCTAssertEqual(vocab.map(\.0), ["[UNK]", "a", "b", "", "c", "a"])
        XCTAssertEqual(vocab.map(\.1), [0, 1, 2, 3, 4, 5])
        let m = try WordPieceModel(vocab: vocab, unknownToken: "[UNK]", source: url.path)
        XCTAssertEqual(m.id(of: "a"), 5)  // listed twice: the last line wins
        XCTAssertEqual(m.vocabularyCount, 5)
    }

    func testBertNormalizerOrder() {
        // strip_accents unset follows lowercase.
        XCTAssertEqual(BertNormalizer(lowercase: true).normalize("Café 北京\tx\u{0}"), "cafe  北  京  x")
        XCTAssertEqual(BertNormalizer(lowercase: false).normalize("Café"), "Café")
        XCTAssertEqual(BertNormalizer(stripAccents: false, lowercase: true).normalize("CAFÉ"), "café")
        // Accents are stripped before lowercasing: İ decomposes to I + U+0307 and loses the dot; without stripping,
        // lowercasing gives i + U+0307.
        XCTAssertEqual(BertNormalizer(lowercase: true).normalize("İ").unicodeScalars.map(\.value), [0x69])
        XCTAssertEqual(BertNormalizer(stripAccents: false, lowercase: true).normalize("İ").unicodeScalars.map(\.value),
                       [0x69, 0x307])
    }

    func testBertPreTokenizer() {
        let words = BertPreTokenizer().preTokenize([Array("Hello,world!! 你好\u{3000}x".unicodeScalars)])
            .map { String(String.UnicodeScalarView($0)) }
        XCTAssertEqual(words, ["Hello", ",", "world", "!", "!", "你好", "x"])
    }
}
