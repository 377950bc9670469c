import Foundation
import XCTest
@testable import Tokenizers

/// Parity with transformers 5.24's SentencePiece-based tokenizers on the committed golden ids
/// (Tools/reference/sentencepiece_tokenizer_fixtures.py): SiglipTokenizer from spiece.model, GemmaTokenizer and
/// Siglip2Tokenizer from a byte-fallback BPE tokenizer.json, and a Unigram tokenizer.json.
final class SentencePieceGoldenTests: XCTestCase {
    static let root = fixturesDirectory.appendingPathComponent("sentencepiece")

    struct Golden: Decodable {
        struct Layout: Decodable {
            let `class`: String
            let model_input_names: [String]
            let pad_token_id: Int32?
            let model_max_length: Int?
            let ids: [[Int32]]
            let truncated_64: [[Int32]]
            let truncated_8: [[Int32]]
        }
        let texts: [String]
        let layouts: [String: Layout]
    }

    static let golden: Golden? = {
        guard let data = try? Data(contentsOf: root.appendingPathComponent("golden.json")) else { return nil }
        return try? JSONDecoder().decode(Golden.self, from: data)
    }()

    func golden(_ layout: String) throws -> (texts: [String], layout: Golden.Layout) {
        let g = try XCTUnwrap(Self.golden, "Tests/Fixtures/sentencepiece/golden.json missing or unreadable")
        return (g.texts, try XCTUnwrap(g.layouts[layout], "no golden layout \(layout)"))
    }

    /// Every text's ids, truncated ids and the tokenizer's declared values against transformers'.
    func check(_ tokenizer: any Tokenizer, layout name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (texts, layout) = try golden(name)
        XCTAssertGreaterThanOrEqual(texts.count, 50, file: file, line: line)
        var mismatches = 0
        for (i, text) in texts.enumerated() {
            let ids = tokenizer.encode(text)
            if ids != layout.ids[i] {
                mismatches += 1
                XCTFail("\(name): \(text.debugDescription): \(ids) != \(layout.ids[i])", file: file, line: line)
            }
            for (n, expected) in [(64, layout.truncated_64[i]), (8, layout.truncated_8[i])] {
                let e = tokenizer.encode(text, maxLength: n)
                XCTAssertEqual(e.ids, expected, "\(name) max_length \(n): \(text.debugDescription)", file: file, line: line)
                XCTAssertEqual(e.wasTruncated, layout.ids[i].count > n, "\(name) max_length \(n): \(text.debugDescription)",
                               file: file, line: line)
            }
        }
        XCTAssertEqual(mismatches, 0, "\(name): \(mismatches) of \(texts.count) texts differ", file: file, line: line)
        XCTAssertEqual(tokenizer.modelInputNames, layout.model_input_names, name, file: file, line: line)
        XCTAssertEqual(tokenizer.padTokenId, layout.pad_token_id, name, file: file, line: line)
        XCTAssertEqual(tokenizer.modelMaxLength, layout.model_max_length, name, file: file, line: line)
    }

    func testGoldenCoversTruncation() throws {
        let (_, layout) = try golden("siglip")
        XCTAssertTrue(layout.ids.contains { $0.count > 64 }, "a text longer than 64 tokens")
        XCTAssertTrue(layout.truncated_64.contains { $0.count == 64 })
    }

    // MARK: SiglipTokenizer (spiece.model)

    func testSiglipOriginalLayout() throws {
        let tok = try SiglipTokenizer(directory: Self.root.appendingPathComponent("siglip"))
        try check(tok, layout: "siglip")
        XCTAssertEqual(tok.modelInputNames, ["input_ids"], "the original SigLIP passes no attention mask")
        XCTAssertEqual(tok.padTokenId, tok.eosTokenId, "pad = </s>")
    }

    func testSiglipSavedLayoutWithAttentionMask() throws {
        let tok = try SiglipTokenizer(directory: Self.root.appendingPathComponent("siglip-mask"))
        try check(tok, layout: "siglip-mask")
        XCTAssertEqual(tok.modelInputNames, ["input_ids", "attention_mask"])
    }

    func testSiglipCased() throws {
        try check(try SiglipTokenizer(directory: Self.root.appendingPathComponent("siglip-cased")), layout: "siglip-cased")
    }

    // MARK: tokenizer.json (GemmaTokenizer, Siglip2Tokenizer, TokenizersBackend)

    func testGemmaWithEos() throws {
        let tok = try BackendTokenizerLoader.gemma(directory: Self.root.appendingPathComponent("gemma-eos"), lowercase: false)
        try check(tok, layout: "gemma-eos")
        XCTAssertEqual(tok.encode("a"), tok.pipeline.encodeContent("a") + [1], "<eos> appended")
    }

    func testGemmaWithDeclaredBosTemplate() throws {
        try check(try BackendTokenizerLoader.gemma(directory: Self.root.appendingPathComponent("gemma-bos"), lowercase: false),
                  layout: "gemma-bos")
    }

    func testGemmaConfigFlagsDoNotOverrideTheFilePostProcessor() throws {
        let tok = try BackendTokenizerLoader.gemma(directory: Self.root.appendingPathComponent("gemma-flags"), lowercase: false)
        try check(tok, layout: "gemma-flags")
    }

    func testGemmaWithoutPostProcessorAddsNoSpecialTokens() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gemma-nopost-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = Self.root.appendingPathComponent("gemma-bos")
        var json = try XCTUnwrap(JSONSerialization.jsonObject(
            with: Data(contentsOf: source.appendingPathComponent("tokenizer.json"))) as? [String: Any])
        json["post_processor"] = NSNull()
        try JSONSerialization.data(withJSONObject: json).write(to: dir.appendingPathComponent("tokenizer.json"))
        try Data(#"{"tokenizer_class": "GemmaTokenizer", "add_bos_token": true, "add_eos_token": true}"#.utf8)
            .write(to: dir.appendingPathComponent("tokenizer_config.json"))
        let tok = try BackendTokenizerLoader.gemma(directory: dir, lowercase: false)
        XCTAssertEqual(tok.encode("a photo"), tok.pipeline.encodeContent("a photo"))
        XCTAssertFalse(tok.encode("a photo").isEmpty)
    }

    func testSiglip2Lowercases() throws {
        let tok = try BackendTokenizerLoader.gemma(directory: Self.root.appendingPathComponent("siglip2"), lowercase: true)
        try check(tok, layout: "siglip2")
        XCTAssertEqual(tok.encode("A Photo"), tok.encode("a photo"))
    }

    func testByteFallbackForCharactersOutsideTheVocabulary() throws {
        let tok = try BackendTokenizerLoader.gemma(directory: Self.root.appendingPathComponent("gemma-eos"), lowercase: false)
        let vocab = tok.pipeline.model.vocab
        // 😀 is F0 9F 98 80 in UTF-8: four byte tokens.
        XCTAssertNil(vocab["😀"])
        let bytes = ["<0xF0>", "<0x9F>", "<0x98>", "<0x80>"].map { vocab[$0]! }
        XCTAssertEqual(tok.pipeline.encodeContent("😀"), bytes)
    }

    func testUnigramTokenizerJSON() throws {
        let tok = try BackendTokenizerLoader.load(directory: Self.root.appendingPathComponent("unigram-json"))
        try check(tok, layout: "unigram-json")
    }

    func testSiglipByteFallbackUserDefinedPieceAndAdditionalToken() throws {
        let tok = try SiglipTokenizer(directory: Self.root.appendingPathComponent("siglip-bytes"))
        try check(tok, layout: "siglip-bytes")
        XCTAssertTrue(tok.processor.model.byteFallback)
        XCTAssertTrue(tok.processor.model.precompiledCharsmap.isEmpty)
    }

    func testSiglipLegacyFalse() throws {
        try check(try SiglipTokenizer(directory: Self.root.appendingPathComponent("siglip-nolegacy")), layout: "siglip-nolegacy")
    }

    func testUnigramTokenizerJSONPrependFirst() throws {
        let tok = try BackendTokenizerLoader.load(directory: Self.root.appendingPathComponent("unigram-json-first"))
        try check(tok, layout: "unigram-json-first")
    }

    func testCanonicalizeText() {
        func c(_ s: String, _ lower: Bool = true) -> String {
            SiglipTokenizer.canonicalize(Array(s.unicodeScalars), lowercase: lower)
        }
        XCTAssertEqual(c("  A Photo,  of\tthe CAT!! "), "a photo of the cat")
        XCTAssertEqual(c("It's \"x\""), "its x")
        XCTAssertEqual(c("ΟΔΟΣ Σ"), "οδος σ", "final sigma as str.lower")
        XCTAssertEqual(c("Keep Case", false), "Keep Case")
        XCTAssertEqual(c("a\u{3000}b\u{1C}c"), "a b c", "str.isspace whitespace")
        XCTAssertEqual(c("a\u{200B}b"), "a\u{200B}b", "U+200B is not whitespace in Python")
    }
}
