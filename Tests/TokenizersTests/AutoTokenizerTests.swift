import Foundation
import XCTest
@testable import Tokenizers

/// Which class AutoTokenizer picks (transformers 5.24's rules) and the errors for what zeroshot does not support.
final class AutoTokenizerTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("auto-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: tmp)
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(to: tmp.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    /// A tokenizer.json holding a tiny WordPiece vocabulary and the given pipeline entries (JSON text).
    func writeTokenizerJSON(model: String? = nil, normalizer: String = "null", preTokenizer: String = "null",
                            postProcessor: String = "null") throws {
        let vocab = ###"{"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "a": 5, "##b": 6, "b": 7}"###
        let m = model ?? ###"{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": \###(vocab)}"###
        try write("tokenizer.json", #"{"version": "1.0", "added_tokens": [], "normalizer": \#(normalizer), "pre_tokenizer": \#(preTokenizer), "post_processor": \#(postProcessor), "decoder": null, "model": \#(m)}"#)
    }

    func choice() throws -> AutoTokenizer.Choice {
        try AutoTokenizer.tokenizerClass(TokenizerFiles(directory: tmp))
    }

    func assertLoadThrows(_ expected: (TokenizerError) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try AutoTokenizer.load(directory: tmp)
            XCTFail("expected an error", file: file, line: line)
        } catch let error as TokenizerError {
            XCTAssertTrue(expected(error), "unexpected error: \(error)", file: file, line: line)
            XCTAssertEqual(error.localizedDescription, error.description, file: file, line: line)
        } catch {
            XCTFail("unexpected error type: \(error)", file: file, line: line)
        }
    }

    // MARK: - Class choice

    func testCLIPFixturesLoadAsCLIPTokenizer() throws {
        for name in GoldenTests.layouts {
            let dir = GoldenTests.root.appendingPathComponent(name)
            let tok = try AutoTokenizer.load(directory: dir)
            XCTAssertTrue(tok is CLIPTokenizer, name)
            let clip = try CLIPTokenizer(directory: dir)
            XCTAssertEqual(tok.encode("a photo of a cat."), clip.encode("a photo of a cat.").ids, name)
        }
    }

    func testTokenizerClassOfTokenizerConfigFirst() throws {
        try write("tokenizer_config.json", #"{"tokenizer_class": "BertTokenizerFast"}"#)
        XCTAssertEqual(try choice().name, "BertTokenizer")
        try write("config.json", #"{"model_type": "clip"}"#)
        // The Hub's class wins over the model type's.
        XCTAssertEqual(try choice().name, "BertTokenizer")
    }

    func testModelTypeWhenNoClassIsDeclared() throws {
        try write("config.json", #"{"model_type": "chinese_clip"}"#)
        XCTAssertEqual(try choice().name, "BertTokenizer")
        try write("config.json", #"{"model_type": "clip"}"#)
        XCTAssertEqual(try choice().name, "CLIPTokenizer")
        try write("tokenizer_config.json", #"{"do_lower_case": true}"#)
        XCTAssertEqual(try choice().name, "CLIPTokenizer")
        try write("config.json", #"{"model_type": "clip", "tokenizer_class": "BertTokenizer"}"#)
        XCTAssertEqual(try choice().name, "BertTokenizer")
    }

    func testModelTypeWithAWrongHubClassUsesTheRegisteredOne() throws {
        try write("config.json", #"{"model_type": "siglip2"}"#)
        try write("tokenizer_config.json", #"{"tokenizer_class": "GemmaTokenizerFast"}"#)
        XCTAssertEqual(try choice().name, "Siglip2Tokenizer")
    }

    func testGenericClassesAndNoDeclaration() throws {
        XCTAssertEqual(try choice().name, "TokenizersBackend")
        try write("tokenizer_config.json", #"{"tokenizer_class": "PreTrainedTokenizerFast"}"#)
        XCTAssertEqual(try choice().name, "PreTrainedTokenizerFast")
        try write("config.json", #"{"model_type": "chinese_clip"}"#)
        XCTAssertEqual(try choice().name, "TokenizersBackend")
    }

    // MARK: - Unsupported types are errors naming them and the file

    func testUnsupportedTokenizerClass() throws {
        try write("tokenizer_config.json", #"{"tokenizer_class": "XLMRobertaTokenizer"}"#)
        assertLoadThrows {
            guard case .unsupported(let path, let reason) = $0 else { return false }
            return path.hasSuffix("tokenizer_config.json") && reason.contains("\"XLMRobertaTokenizer\"")
                && reason.contains("BertTokenizer")
        }
    }

    func testUnsupportedModelType() throws {
        try write("config.json", #"{"model_type": "gpt2"}"#)
        assertLoadThrows {
            guard case .unsupported(let path, let reason) = $0 else { return false }
            return path.hasSuffix("config.json") && reason.contains("\"gpt2\"") && reason.contains("chinese_clip")
        }
    }

    func testUnsupportedComponentsNameTypeAndFile() throws {
        try write("tokenizer_config.json", #"{"tokenizer_class": "PreTrainedTokenizerFast"}"#)
        let cases: [(String, () throws -> Void)] = [
            ("Nmt", { try self.writeTokenizerJSON(normalizer: #"{"type": "Nmt"}"#) }),
            ("UnicodeScripts", { try self.writeTokenizerJSON(preTokenizer: #"{"type": "UnicodeScripts"}"#) }),
            ("ByteFallbackProcessing", { try self.writeTokenizerJSON(postProcessor: #"{"type": "ByteFallbackProcessing"}"#) }),
            ("WordLevel", { try self.writeTokenizerJSON(model: #"{"type": "WordLevel", "vocab": {"a": 0}, "unk_token": "a"}"#) }),
        ]
        for (type, setUp) in cases {
            try setUp()
            assertLoadThrows {
                guard case .unsupported(let path, let reason) = $0 else { return false }
                return path.hasSuffix("tokenizer.json") && reason.contains("\"\(type)\"")
            }
        }
    }

    // MARK: - Missing and malformed files

    func testBertWithoutVocabulary() throws {
        try write("tokenizer_config.json", #"{"tokenizer_class": "BertTokenizer"}"#)
        assertLoadThrows {
            guard case .missingFile(let path, _) = $0 else { return false }
            return path.hasSuffix("vocab.txt")
        }
    }

    func testGenericWithoutTokenizerJSON() throws {
        try write("tokenizer_config.json", #"{"tokenizer_class": "TokenizersBackend"}"#)
        try write("vocab.txt", "[UNK]\na\n")
        assertLoadThrows {
            guard case .missingFile(let path, _) = $0 else { return false }
            return path.hasSuffix("tokenizer.json")
        }
    }

    func testUnknownTokenMissingFromVocabulary() throws {
        try write("tokenizer_config.json", #"{"tokenizer_class": "BertTokenizer", "unk_token": "<unk>"}"#)
        try write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n")
        assertLoadThrows {
            guard case .missingVocabularyEntry(let path, let token, _) = $0 else { return false }
            return path.hasSuffix("vocab.txt") && token == "<unk>"
        }
    }

    func testBadSettings() throws {
        try write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n")
        for config in [#"{"tokenizer_class": "BertTokenizer", "do_lower_case": "yes"}"#,
                       #"{"tokenizer_class": "BertTokenizer", "strip_accents": 1.5}"#,
                       #"{"tokenizer_class": "BertTokenizer", "model_max_length": "long"}"#,
                       #"{"tokenizer_class": "BertTokenizer", "model_input_names": "input_ids"}"#,
                       #"{"tokenizer_class": "BertTokenizer", "truncation_side": "middle"}"#,
                       #"{"tokenizer_class": 7}"#] {
            try write("tokenizer_config.json", config)
            assertLoadThrows {
                guard case .invalidContent(let path, _) = $0 else { return false }
                return path.hasSuffix("tokenizer_config.json")
            }
        }
        try write("tokenizer_config.json", "{not json")
        assertLoadThrows { if case .unreadableFile = $0 { return true } else { return false } }
        try FileManager.default.removeItem(at: tmp)
        assertLoadThrows { $0 == .missingDirectory(path: self.tmp.path) }
    }

    func testGenericWordPieceFromTokenizerJSON() throws {
        try write("tokenizer_config.json", #"{"tokenizer_class": "PreTrainedTokenizerFast", "pad_token": "[PAD]"}"#)
        try writeTokenizerJSON(
            normalizer: #"{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true}"#,
            preTokenizer: #"{"type": "BertPreTokenizer"}"#,
            postProcessor: #"{"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]}"#)
        let tok = try AutoTokenizer.load(directory: tmp)
        XCTAssertTrue(tok is PipelineTokenizer)
        XCTAssertEqual(tok.encode("AB a, Ab"), [2, 5, 6, 5, 1, 5, 6, 3])
        XCTAssertEqual(tok.encode(""), [2, 3])
        XCTAssertEqual(tok.padTokenId, 0)
        XCTAssertNil(tok.modelMaxLength)
        XCTAssertEqual(tok.encode("ab ab ab", maxLength: 4), Encoding(ids: [2, 5, 6, 3], wasTruncated: true))
        XCTAssertEqual(tok.encode("ab", maxLength: 4), Encoding(ids: [2, 5, 6, 3], wasTruncated: false))
    }

    /// A U+FEFF written as raw UTF-8 at the start of a token or after an escape stays (JSONSerialization alone
    /// drops it).
    func testTokensStartingWithByteOrderMark() throws {
        // A byte order mark opening a file is not part of the JSON.
        try write("tokenizer_config.json", "\u{feff}" + #"{"tokenizer_class": "TokenizersBackend"}"#)
        try write("tokenizer.json", """
            {"version": "1.0", "added_tokens": [{"id": 3, "content": "\u{feff}[X]", "single_word": false, "lstrip": false, \
            "rstrip": false, "normalized": false, "special": true}], "normalizer": null, \
            "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": null, "decoder": null, \
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", \
            "max_input_chars_per_word": 100, "vocab": {"[UNK]": 0, "\u{feff}x": 1, "x": 2, "\\\"\u{feff}": 4, "\\u0079\u{feff}": 5, "a\u{feff}": 6}}}
            """)
        let tok = try AutoTokenizer.load(directory: tmp)
        XCTAssertEqual(tok.encode("\u{feff}x x \u{feff}[X]"), [1, 2, 3])
        XCTAssertEqual(tok.encode("\"\u{feff} y\u{feff} a\u{feff}"), [4, 5, 6])
    }
}
