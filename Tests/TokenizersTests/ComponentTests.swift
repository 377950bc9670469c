import XCTest
@testable import Tokenizers

final class ComponentTests: XCTestCase {
    func split(_ pattern: String, _ text: String) throws -> [String] {
        let p = try Pattern(pattern)
        let s = Array(text.unicodeScalars)
        return p.matches(in: s).map { String(String.UnicodeScalarView(s[$0])) }
    }

    func testCLIPPatternPieces() throws {
        XCTAssertEqual(try split(CLIPTokenizer.splitPattern, "don't stop's 12ab!?'s <|endoftext|>x"),
                       ["don", "'t", "stop", "'s", "1", "2", "ab", "!?'", "s", "<|endoftext|>", "x"])
        // Combining marks (Mn) are not letters: they form symbol runs, scalar by scalar.
        XCTAssertEqual(try split(CLIPTokenizer.splitPattern, "e\u{301}a"), ["e", "\u{301}", "a"])
    }

    func testGPT2PatternLookahead() throws {
        XCTAssertEqual(try split(ByteLevelPreTokenizer.gpt2Pattern, "a  b "), ["a", " ", " b", " "])
    }

    func testUnsupportedPatternIsAnError() {
        XCTAssertThrowsError(try Pattern("(?<name>a)"))
        XCTAssertThrowsError(try Pattern("[a-"))
        XCTAssertThrowsError(try Pattern("\\p{Greek}"))
    }

    func testNormalizers() throws {
        XCTAssertEqual(LowercaseNormalizer().normalize("ΣΑΣ İ"), "σασ i\u{307}")
        XCTAssertEqual(NFCNormalizer().normalize("e\u{301}"), "é")
        XCTAssertEqual(try ReplaceNormalizer(regex: #"\s+"#, content: " ").normalize("a\t\u{3000}\u{a0}b  "), "a b ")
        XCTAssertEqual(StripNormalizer(left: true, right: false).normalize("  a  "), "a  ")
    }

    func testByteLevelTable() {
        let t = ByteLevelPreTokenizer.byteToScalar
        XCTAssertEqual(t[Int(UInt8(ascii: "a"))], "a")
        XCTAssertEqual(t[0x20], "\u{120}")
        XCTAssertEqual(t[0x00], "\u{100}")
        XCTAssertEqual(Set(t).count, 256)
    }
}
