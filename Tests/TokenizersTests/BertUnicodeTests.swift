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

    /// NFC, NFD, NFKC and NFKD of every code point, and of sequences around the mappings `tokenizers` lacks.
    func testNormalizationFormsAgreeWithTokenizers() throws {
        let url = fixturesDirectory.appendingPathComponent("wordpiece/unicode.json")
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let forms = try XCTUnwrap(obj["forms"] as? [String: [String: Any]])
        let normalizers: [String: any Normalizer] = ["NFC": NFCNormalizer(), "NFD": NFDNormalizer(),
                                                     "NFKC": NFKCNormalizer(), "NFKD": NFKDNormalizer()]
        for (name, normalizer) in normalizers.sorted(by: { $0.key < $1.key }) {
            let form = try XCTUnwrap(forms[name], name)
            var changed = Set<UInt32>()
            for r in try XCTUnwrap(form["changed"] as? [[NSNumber]]) {
                for v in r[0].uint32Value...r[1].uint32Value { changed.insert(v) }
            }
            XCTAssertGreaterThan(changed.count, 1_000, name)
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            var mismatches: [String] = []
            for v in UInt32(0)..<0x110000 {
                guard let s = Unicode.Scalar(v) else { continue }
                let text = String(s)
                let result = normalizer.normalize(text)
                if !result.unicodeScalars.elementsEqual(text.unicodeScalars) {
                    if !changed.contains(v) { mismatches.append("U+" + String(v, radix: 16, uppercase: true)) }
                    for b in "\(v):\(result);".utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
                } else if changed.contains(v) {
                    mismatches.append("U+" + String(v, radix: 16, uppercase: true))
                }
            }
            XCTAssertEqual(mismatches.count, 0, "\(name): " + mismatches.prefix(20).joined(separator: ", "))
            XCTAssertEqual(String(format: "%016llx", hash), form["fnv1a"] as? String, "\(name) results differ")
        }
        let sequences = try XCTUnwrap(obj["sequences"] as? [[String: String]])
        XCTAssertGreaterThan(sequences.count, 5)
        for sequence in sequences {
            let text = try XCTUnwrap(sequence["text"])
            for (name, normalizer) in normalizers {
                XCTAssertEqual(normalizer.normalize(text).unicodeScalars.map(\.value),
                               try XCTUnwrap(sequence[name]).unicodeScalars.map(\.value), "\(name) \(text.debugDescription)")
            }
        }
    }
}
