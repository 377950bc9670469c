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
            let padding_side: String
            let ids: [[Int32]]
            /// null where equal to `ids`.
            let truncated_64: [[Int32]?]
            let truncated_8: [[Int32]?]
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
        let className = layout.class == "TokenizersBackend" ? "PipelineTokenizer" : layout.class
        let expectedType = ["SiglipTokenizer": "SiglipTokenizer", "PipelineTokenizer": "PipelineTokenizer",
                            "GemmaTokenizer": "PipelineTokenizer", "Siglip2Tokenizer": "PipelineTokenizer"][className]
        XCTAssertEqual("\(type(of: tokenizer))", expectedType, "\(name): transformers loads a \(layout.class)",
                       file: file, line: line)
        XCTAssertGreaterThanOrEqual(texts.count, 50, file: file, line: line)
        var mismatches = 0
        for (i, text) in texts.enumerated() {
            let ids = tokenizer.encode(text)
            if ids != layout.ids[i] {
                mismatches += 1
                XCTFail("\(name): \(text.debugDescription): \(ids) != \(layout.ids[i])", file: file, line: line)
            }
            for (n, expected) in [(64, layout.truncated_64[i] ?? layout.ids[i]), (8, layout.truncated_8[i] ?? layout.ids[i])] {
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
        XCTAssertEqual(tokenizer.paddingSide.rawValue, layout.padding_side, name, file: file, line: line)
    }

    /// `AutoTokenizer.load` of a layout, as transformers' `AutoTokenizer.from_pretrained`.
    func load(_ layout: String) throws -> any Tokenizer {
        try AutoTokenizer.load(directory: Self.root.appendingPathComponent(layout))
    }

    func pipeline(_ layout: String) throws -> PipelineTokenizer {
        try XCTUnwrap(try load(layout) as? PipelineTokenizer, "\(layout) loads as a PipelineTokenizer")
    }

    func testEveryGoldenLayoutIsTested() throws {
        let g = try XCTUnwrap(Self.golden)
        let tested: Set = ["siglip", "siglip-bpe", "siglip-mask", "siglip-cased", "siglip-left", "siglip-split", "siglip-bytes", "siglip-nolegacy", "gemma-eos",
                           "gemma-bos", "gemma-flags", "siglip2", "unigram-json", "unigram-json-first"]
        XCTAssertEqual(Set(g.layouts.keys), tested)
    }

    func testGoldenCoversTruncation() throws {
        let (_, layout) = try golden("siglip")
        XCTAssertTrue(layout.ids.contains { $0.count > 64 }, "a text longer than 64 tokens")
        XCTAssertTrue(layout.truncated_64.contains { $0?.count == 64 })
    }

    // MARK: SiglipTokenizer (spiece.model)

    func testSiglipOriginalLayout() throws {
        let tok = try XCTUnwrap(try load("siglip") as? SiglipTokenizer)
        try check(tok, layout: "siglip")
        XCTAssertEqual(tok.modelInputNames, ["input_ids"], "the original SigLIP passes no attention mask")
        XCTAssertEqual(tok.padTokenId, tok.eosTokenId, "pad = </s>")
    }

    func testSiglipSavedLayoutWithAttentionMask() throws {
        let tok = try load("siglip-mask")
        try check(tok, layout: "siglip-mask")
        XCTAssertEqual(tok.modelInputNames, ["input_ids", "attention_mask"])
    }

    func testSiglipCased() throws {
        try check(try load("siglip-cased"), layout: "siglip-cased")
    }

    // MARK: tokenizer.json (GemmaTokenizer, Siglip2Tokenizer, TokenizersBackend)

    func testGemmaWithEos() throws {
        let tok = try pipeline("gemma-eos")
        try check(tok, layout: "gemma-eos")
        XCTAssertEqual(tok.encode("a"), tok.pipeline.encodeContent("a") + [1], "<eos> appended")
    }

    func testGemmaWithDeclaredBosTemplate() throws {
        try check(try pipeline("gemma-bos"),
                  layout: "gemma-bos")
    }

    func testGemmaConfigFlagsDoNotOverrideTheFilePostProcessor() throws {
        let tok = try pipeline("gemma-flags")
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
        let tok = try XCTUnwrap(try AutoTokenizer.load(directory: dir) as? PipelineTokenizer)
        XCTAssertEqual(tok.encode("a photo"), tok.pipeline.encodeContent("a photo"))
        XCTAssertFalse(tok.encode("a photo").isEmpty)
    }

    func testSiglip2Lowercases() throws {
        let tok = try pipeline("siglip2")
        try check(tok, layout: "siglip2")
        XCTAssertEqual(tok.encode("A Photo"), tok.encode("a photo"))
    }

    func testByteFallbackForCharactersOutsideTheVocabulary() throws {
        let tok = try pipeline("gemma-eos")
        let vocab = try XCTUnwrap(tok.pipeline.model.base as? BPEModel).vocab
        // 😀 is F0 9F 98 80 in UTF-8: four byte tokens.
        XCTAssertNil(vocab["😀"])
        let bytes = ["<0xF0>", "<0x9F>", "<0x98>", "<0x80>"].map { vocab[$0]! }
        XCTAssertEqual(tok.pipeline.encodeContent("😀"), bytes)
    }

    func testUnigramTokenizerJSON() throws {
        let tok = try load("unigram-json")
        try check(tok, layout: "unigram-json")
    }

    func testSiglipByteFallbackUserDefinedPieceAndAdditionalToken() throws {
        let tok = try XCTUnwrap(try load("siglip-bytes") as? SiglipTokenizer)
        try check(tok, layout: "siglip-bytes")
        XCTAssertTrue(tok.processor.model.byteFallback)
        XCTAssertTrue(tok.processor.model.precompiledCharsmap.isEmpty)
    }

    func testSiglipSentencePieceBPE() throws {
        let tok = try XCTUnwrap(try load("siglip-bpe") as? SiglipTokenizer)
        XCTAssertEqual(tok.processor.model.modelType, .bpe)
        try check(tok, layout: "siglip-bpe")
    }

    func testSiglipLegacyFalse() throws {
        try check(try load("siglip-nolegacy"), layout: "siglip-nolegacy")
    }

    func testUnigramTokenizerJSONPrependFirst() throws {
        let tok = try load("unigram-json-first")
        try check(tok, layout: "unigram-json-first")
    }

    func testSiglipTruncationSideLeft() throws {
        let tok = try load("siglip-left")
        try check(tok, layout: "siglip-left")
        let text = try golden("siglip").texts.first { $0.hasPrefix("long ") }!
        XCTAssertNotEqual(tok.encode(text, maxLength: 64).ids, try load("siglip").encode(text, maxLength: 64).ids)
    }

    func testSiglipSplitSpecialTokens() throws {
        let tok = try XCTUnwrap(try load("siglip-split") as? SiglipTokenizer)
        try check(tok, layout: "siglip-split")
        XCTAssertTrue(tok.splitSpecialTokens)
        XCTAssertNotEqual(tok.encode("x</s>y"), try load("siglip").encode("x</s>y"))
    }

    /// max_length 0 is falsy in transformers: no truncation.
    func testSiglipZeroMaxLengthIsNoLimit() throws {
        let tok = try load("siglip")
        for text in try golden("siglip").texts {
            XCTAssertEqual(tok.encode(text, maxLength: 0), Encoding(ids: tok.encode(text), wasTruncated: false))
        }
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
        XCTAssertEqual(c("\u{1C89}\u{A7CB}Ÿ"), "\u{1C89}\u{A7CB}ÿ", "Unicode 16 capitals are not lowercased by Python 3.11")
    }
}

/// The class transformers' AutoTokenizer picks for SigLIP checkpoints from config.json's `model_type`.
final class SentencePieceAutoTokenizerTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("spm-auto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func copy(_ layout: String, _ file: String) throws {
        try FileManager.default.copyItem(
            at: SentencePieceGoldenTests.root.appendingPathComponent(layout).appendingPathComponent(file),
            to: directory.appendingPathComponent(file))
    }

    func writeConfig(_ modelType: String) throws {
        try Data("{\"model_type\": \"\(modelType)\"}".utf8).write(to: directory.appendingPathComponent("config.json"))
    }

    /// SigLIP2 fixed-resolution checkpoints: model_type siglip, tokenizer_class GemmaTokenizer -> GemmaTokenizer
    /// (the Hub's class is trusted): no lowercasing.
    func testSiglipModelTypeWithGemmaClassIsGemma() throws {
        try copy("gemma-eos", "tokenizer.json")
        try copy("gemma-eos", "tokenizer_config.json")
        try writeConfig("siglip")
        let tok = try AutoTokenizer.load(directory: directory)
        XCTAssertTrue(tok is PipelineTokenizer)
        XCTAssertNotEqual(tok.encode("A Photo"), tok.encode("a photo"))
    }

    /// model_type siglip2 declares a wrong Hub class in transformers' list: Siglip2Tokenizer, which lowercases.
    func testSiglip2ModelTypeOverridesTheHubClass() throws {
        try copy("gemma-eos", "tokenizer.json")
        try copy("gemma-eos", "tokenizer_config.json")
        try writeConfig("siglip2")
        let tok = try AutoTokenizer.load(directory: directory)
        XCTAssertEqual(tok.encode("A Photo"), tok.encode("a photo"))
    }

    /// spiece.model and config.json alone: SiglipTokenizer with its class defaults.
    func testSpieceModelWithModelTypeSiglip() throws {
        try copy("siglip", "spiece.model")
        try writeConfig("siglip")
        let tok = try XCTUnwrap(try AutoTokenizer.load(directory: directory) as? SiglipTokenizer)
        XCTAssertEqual(tok.modelInputNames, ["input_ids", "attention_mask"])
        XCTAssertEqual(tok.modelMaxLength, 64)
        XCTAssertEqual(tok.padTokenId, tok.eosTokenId)
        let reference = try AutoTokenizer.load(directory: SentencePieceGoldenTests.root.appendingPathComponent("siglip"))
        XCTAssertEqual(tok.encode("A photo of a CAT!"), reference.encode("A photo of a CAT!"))
    }
}
