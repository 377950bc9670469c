import Foundation
import XCTest
@testable import Tokenizers

/// The words of each pre-tokenizer, declared as tokenizer.json declares it, as `tokenizers` gives them
/// (Tests/Fixtures/wordpiece/pretokenizers.json): BertPreTokenizer, Whitespace, WhitespaceSplit, Digits, and
/// Punctuation and Split under every split behavior (a delimiter merges into a neighbour only when that neighbour
/// is not a delimiter itself).
final class PreTokenizerGoldenTests: XCTestCase {
    func testEveryPreTokenizerEveryBehavior() throws {
        let url = fixturesDirectory.appendingPathComponent("wordpiece/pretokenizers.json")
        let root = try XCTUnwrap(try CLIPTokenizer.readJSONObject(url))
        let texts = try XCTUnwrap(root["texts"] as? [String])
        let cases = try XCTUnwrap(root["cases"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(cases.count, 25)
        for c in cases {
            let spec = try XCTUnwrap(c["pre_tokenizer"] as? [String: Any])
            let expected = try XCTUnwrap(c["words"] as? [[String]])
            let pre = try XCTUnwrap(try ComponentParser.preTokenizer(spec, path: "pretokenizers.json"))
            for (i, text) in texts.enumerated() {
                let words = pre.preTokenize([Array(text.unicodeScalars)]).map { String(String.UnicodeScalarView($0)) }
                XCTAssertEqual(words, expected[i], "\(spec) \(text.debugDescription)")
            }
        }
    }
}
