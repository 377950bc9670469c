import Foundation
import XCTest
@testable import Tokenizers

final class ErrorTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("tok-errors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: tmp)
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(to: tmp.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    /// A tiny valid vocabulary: the characters of "ab" plus the special tokens.
    func writeTinyVocab(merges: String = "#version: 0.2\na b</w>\n") throws {
        try write("vocab.json", #"{"a": 0, "b": 1, "a</w>": 2, "b</w>": 3, "ab</w>": 4, "<|startoftext|>": 5, "<|endoftext|>": 6}"#)
        try write("merges.txt", merges)
    }

    func assertThrows(_ expected: (TokenizerError) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try CLIPTokenizer(directory: tmp)
            XCTFail("expected an error", file: file, line: line)
        } catch let error as TokenizerError {
            XCTAssertTrue(expected(error), "unexpected error: \(error)", file: file, line: line)
            XCTAssertFalse(error.description.isEmpty)
        } catch {
            XCTFail("unexpected error type: \(error)", file: file, line: line)
        }
    }

    func testMissingDirectory() {
        let missing = tmp.appendingPathComponent("nope")
        XCTAssertThrowsError(try CLIPTokenizer(directory: missing)) { error in
            XCTAssertEqual(error as? TokenizerError, .missingDirectory(path: missing.path))
            XCTAssertTrue("\(error)".contains("nope"))
        }
    }

    func testEmptyDirectoryNamesVocabFile() {
        assertThrows {
            if case .missingFile(let path, _) = $0 { return path.hasSuffix("vocab.json") }
            return false
        }
    }

    func testMissingMerges() throws {
        try write("vocab.json", #"{"a": 0}"#)
        assertThrows {
            if case .missingFile(let path, _) = $0 { return path.hasSuffix("merges.txt") }
            return false
        }
    }

    func testMalformedVocabJSON() throws {
        try writeTinyVocab()
        try write("vocab.json", #"{"a": 0, "b": "#)
        assertThrows {
            if case .unreadableFile(let path, _) = $0 { return path.hasSuffix("vocab.json") }
            return false
        }
    }

    func testVocabWithBadIds() throws {
        try writeTinyVocab()
        try write("vocab.json", #"{"a": -1}"#)
        assertThrows {
            if case .invalidContent(let path, _) = $0 { return path.hasSuffix("vocab.json") }
            return false
        }
    }

    /// Regression: added tokens past the largest vocabulary id used to overflow Int32 and trap.
    func testAddedTokensBeyondTheLargestIdFailInsteadOfOverflowing() throws {
        try write("vocab.json", #"{"a": 0, "b": 1, "a</w>": 2, "b</w>": 3, "ab</w>": 4, "<|startoftext|>": 2147483645, "<|endoftext|>": 2147483646}"#)
        try write("merges.txt", "#version: 0.2\na b</w>\n")
        try write("tokenizer_config.json", #"{"additional_special_tokens": ["<extra1>", "<extra2>"]}"#)
        assertThrows {
            if case .invalidContent(let path, let reason) = $0 { return path.hasSuffix("vocab.json") && reason.contains("<extra2>") }
            return false
        }
    }

    func testMalformedTokenizerJSON() throws {
        try write("tokenizer.json", "{ not json")
        assertThrows {
            if case .unreadableFile(let path, _) = $0 { return path.hasSuffix("tokenizer.json") }
            return false
        }
    }

    func testTokenizerJSONWithoutModel() throws {
        try write("tokenizer.json", #"{"version": "1.0"}"#)
        assertThrows {
            if case .invalidContent(let path, _) = $0 { return path.hasSuffix("tokenizer.json") }
            return false
        }
    }

    func testTokenizerJSONWrongModelType() throws {
        try write("tokenizer.json", #"{"model": {"type": "WordPiece", "vocab": {"a": 0}}}"#)
        assertThrows {
            if case .unsupported = $0 { return true }
            return false
        }
    }

    func testMalformedConfig() throws {
        try writeTinyVocab()
        try write("tokenizer_config.json", "[1, 2")
        assertThrows {
            if case .unreadableFile(let path, _) = $0 { return path.hasSuffix("tokenizer_config.json") }
            return false
        }
    }

    func testBadMergeLine() throws {
        try writeTinyVocab(merges: "#version: 0.2\na b c\n")
        assertThrows {
            if case .invalidContent(let path, let reason) = $0 { return path.hasSuffix("merges.txt") && reason.contains("line 2") }
            return false
        }
    }

    func testMergeOutOfVocabulary() throws {
        try writeTinyVocab(merges: "#version: 0.2\nb a\n")
        assertThrows {
            if case .missingVocabularyEntry(_, let token, _) = $0 { return token == "ba" }
            return false
        }
    }

    func testSpecialTokenMissingFromVocab() throws {
        try write("vocab.json", #"{"a": 0, "a</w>": 1}"#)
        try write("merges.txt", "#version: 0.2\n")
        try write("tokenizer_config.json", #"{"unk_token": "<unk>"}"#)
        assertThrows {
            if case .missingVocabularyEntry(_, let token, _) = $0 { return token == "<unk>" }
            return false
        }
    }

    func testTinyVocabWorks() throws {
        try writeTinyVocab()
        let tok = try CLIPTokenizer(directory: tmp)
        XCTAssertEqual(tok.encode("ab").ids, [5, 4, 6])
        XCTAssertEqual(tok.encode("AB ba").ids, [5, 4, 1, 2, 6])
        // A character outside the vocabulary becomes the unknown token (<|endoftext|>), one per byte.
        XCTAssertEqual(tok.encode("é").ids, [5, 6, 6, 6])
    }
}
