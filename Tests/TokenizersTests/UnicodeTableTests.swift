import Foundation
import XCTest
@testable import Tokenizers

/// Every code point classified and normalized as `tokenizers` does (Tests/Fixtures/tokenizers/unicode.json).
final class UnicodeTableTests: XCTestCase {
    func testEveryCodePointAgreesWithTokenizers() throws {
        let url = fixturesDirectory.appendingPathComponent("tokenizers/unicode.json")
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        func members(_ key: String) throws -> Set<UInt32> {
            let list = try XCTUnwrap(obj[key] as? [[NSNumber]], key)
            var set = Set<UInt32>()
            for r in list { for v in r[0].uint32Value...r[1].uint32Value { set.insert(v) } }
            return set
        }
        let letters = try members("letter"), numbers = try members("number"), spaces = try members("whitespace")
        let lower = try XCTUnwrap(obj["lowercase"] as? [String: String])
        let nfc = try XCTUnwrap(obj["nfc"] as? [String: String])
        XCTAssertGreaterThan(letters.count, 100_000)
        var mismatches: [String] = []
        for v in UInt32(0)..<0x110000 {
            guard let s = Unicode.Scalar(v) else { continue }
            let hex = String(v, radix: 16)
            if UnicodeClass.isLetter(s) != letters.contains(v) { mismatches.append("\\p{L} U+\(hex)") }
            if UnicodeClass.isNumber(s) != numbers.contains(v) { mismatches.append("\\p{N} U+\(hex)") }
            if UnicodeClass.isWhitespace(s) != spaces.contains(v) { mismatches.append("\\s U+\(hex)") }
            let text = String(s)
            if LowercaseNormalizer().normalize(text).unicodeScalars.map(\.value)
                != (lower[String(v)] ?? text).unicodeScalars.map(\.value) { mismatches.append("lowercase U+\(hex)") }
            if NFCNormalizer().normalize(text).unicodeScalars.map(\.value)
                != (nfc[String(v)] ?? text).unicodeScalars.map(\.value) { mismatches.append("NFC U+\(hex)") }
        }
        XCTAssertEqual(mismatches.count, 0, mismatches.prefix(20).joined(separator: ", "))
    }
}
