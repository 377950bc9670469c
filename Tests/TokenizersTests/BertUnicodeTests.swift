import Foundation
import XCTest
@testable import Tokenizers

/// Every code point through BertNormalizer, BertPreTokenizer, Digits and Whitespace as `tokenizers` 0.23 treats it
/// (Tests/Fixtures/wordpiece/unicode.json).
final class BertUnicodeTests: XCTestCase {
    func testEveryCodePointAgreesWithTokenizers() throws {
        let url = fixturesDirectory.appendingPathComponent("wordpiece/unicode.json")
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        func members(_ key: String) throws -> Set<UInt32> {
            let list = try XCTUnwrap(obj[key] as? [[NSNumber]], key)
            var set = Set<UInt32>()
            for r in list { for v in r[0].uint32Value...r[1].uint32Value { set.insert(v) } }
            return set
        }
        let removed = try members("removed"), space = try members("space"), chinese = try members("chinese")
        let punctuation = try members("punctuation"), whitespace = try members("whitespace")
        let accents = try members("accents"), digits = try members("digits"), word = try members("word")
        let checksum = try XCTUnwrap(obj["accents_fnv1a"] as? String)
        XCTAssertGreaterThan(removed.count, 100_000)
        XCTAssertGreaterThan(chinese.count, 80_000)
        XCTAssertGreaterThan(accents.count, 1_000)

        let clean = BertNormalizer(cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false)
        let cjk = BertNormalizer(cleanText: false, handleChineseChars: true, stripAccents: false, lowercase: false)
        let strip = BertNormalizer(cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false)
        let pre = BertPreTokenizer()
        let digitSplitter = DigitsPreTokenizer(individualDigits: true)
        let whitespaceSplitter = try XCTUnwrap(try ComponentParser.preTokenizer(["type": "Whitespace"], path: "test"))
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var mismatches: [String] = []
        for v in UInt32(0)..<0x110000 {
            guard let s = Unicode.Scalar(v) else { continue }
            let hex = "U+" + String(v, radix: 16, uppercase: true)
            let text = String(s)
            let cleaned = clean.normalize(text)
            if (cleaned.isEmpty) != removed.contains(v) { mismatches.append("removed \(hex)") }
            if (cleaned == " " && s != " ") != space.contains(v) { mismatches.append("space \(hex)") }
            if (cjk.normalize(text) == " " + text + " ") != chinese.contains(v) { mismatches.append("chinese \(hex)") }
            let stripped = strip.normalize(text)
            if !stripped.unicodeScalars.elementsEqual(text.unicodeScalars) {
                if !accents.contains(v) { mismatches.append("accents \(hex)") }
                for b in "\(v):\(stripped);".utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
            } else if accents.contains(v) {
                mismatches.append("accents \(hex)")
            }
            let probe = [Array("a\(text)b".unicodeScalars)]
            let words = pre.preTokenize(probe).map { String(String.UnicodeScalarView($0)) }
            if (digitSplitter.preTokenize(probe).count == 3) != digits.contains(v) { mismatches.append("digit \(hex)") }
            if (whitespaceSplitter.preTokenize(probe).count == 1) != word.contains(v) { mismatches.append("\\w \(hex)") }
            if (words == ["a", text, "b"]) != punctuation.contains(v) { mismatches.append("punctuation \(hex)") }
            if (words == ["a", "b"]) != whitespace.contains(v) { mismatches.append("whitespace \(hex)") }
        }
        XCTAssertEqual(mismatches.count, 0, mismatches.prefix(40).joined(separator: ", "))
        XCTAssertEqual(String(format: "%016llx", hash), checksum, "stripped accents differ from tokenizers'")
    }
}
