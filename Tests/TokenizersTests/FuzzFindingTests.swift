import Foundation
import XCTest
@testable import Tokenizers

/// Behaviour fixed after fuzzing the tokenizer files (Tests/Fuzz/Regressions/ holds the inputs that found it).
final class FuzzFindingTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("tok-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: tmp)
    }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: tmp.appendingPathComponent(name))
    }

    /// merges.txt with Windows line ends: "\r\n" is one Swift Character, so splitting lines by Character read the
    /// whole file as one line.
    func testMergesWithCRLFLineEnds() throws {
        try write("vocab.json", #"{"a": 0, "b": 1, "a</w>": 2, "b</w>": 3, "ab</w>": 4, "<|startoftext|>": 5, "<|endoftext|>": 6}"#)
        try write("merges.txt", "#version: 0.2\r\na b</w>\r\n")
        let tokenizer = try CLIPTokenizer(directory: tmp)
        XCTAssertEqual(tokenizer.encode("ab").ids, [5, 4, 6])
    }

    func assertInvalidContent(_ body: () throws -> Any, contains parts: [String], file: StaticString = #filePath,
                              line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard case .invalidContent = error as? TokenizerError else {
                return XCTFail("unexpected error: \(error)", file: file, line: line)
            }
            for part in parts {
                XCTAssertTrue("\(error)".contains(part), "\(error) does not name \(part)", file: file, line: line)
            }
        }
    }

    /// A tokenizer.json of one WordPiece vocabulary with `postProcessor` and `addedTokens` spliced in.
    func writeWordPiece(postProcessor: String = "null", addedTokens: String = "[]") throws {
        try write("tokenizer.json", """
            {"added_tokens": \(addedTokens), "normalizer": null, "pre_tokenizer": {"type": "WhitespaceSplit"},
             "post_processor": \(postProcessor),
             "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "cat": 3}}}
            """)
    }

    /// Post-processor and added-token ids were read with `int32Value`: -1 stayed -1 and 4294967297 became 1.
    func testTokenIdsOutsideTheInt32RangeAreRejected() throws {
        for bad in ["-1", "4294967297", "2147483647", "1.5"] {
            try writeWordPiece(postProcessor: #"{"type": "BertProcessing", "cls": ["[CLS]", \#(bad)], "sep": ["[SEP]", 2]}"#)
            assertInvalidContent({ try PipelineTokenizer(directory: self.tmp) }, contains: ["tokenizer.json", "cls"])
            try writeWordPiece(postProcessor: """
                {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[CLS]"}}, {"Sequence": {"id": "A"}}],
                 "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [\(bad)], "tokens": ["[CLS]"]}}}
                """)
            assertInvalidContent({ try PipelineTokenizer(directory: self.tmp) }, contains: ["tokenizer.json", "[CLS]"])
            try writeWordPiece(addedTokens: #"[{"id": \#(bad), "content": "<x>", "special": true}]"#)
            assertInvalidContent({ try PipelineTokenizer(directory: self.tmp) }, contains: ["tokenizer.json", "<x>"])
        }
        try writeWordPiece(postProcessor: #"{"type": "BertProcessing", "cls": ["[CLS]", 1], "sep": ["[SEP]", 2]}"#,
                           addedTokens: #"[{"id": 2147483646, "content": "<x>", "special": true}]"#)
        XCTAssertEqual(try PipelineTokenizer(directory: tmp).encode("cat <x>"), [1, 3, 2147483646, 2])
    }

    /// A SigLIP `added_tokens_decoder` id of 2147483647 overflowed computing the next free id and trapped.
    func testSiglipAddedTokenIdsAreBounded() throws {
        let model = fixturesDirectory.appendingPathComponent("sentencepiece/siglip-bytes/spiece.model")
        try FileManager.default.copyItem(at: model, to: tmp.appendingPathComponent("spiece.model"))
        for bad in ["2147483647", "-3", "x"] {
            try write("tokenizer_config.json", #"{"added_tokens_decoder": {"\#(bad)": {"content": "<x>"}}}"#)
            assertInvalidContent({ try SiglipTokenizer(directory: self.tmp) },
                                 contains: ["tokenizer_config.json", "added_tokens_decoder", bad])
        }
        // The largest id left: the tokens that need a new id have none.
        try write("tokenizer_config.json", #"{"added_tokens_decoder": {"2147483646": {"content": "<x>"}}, "eos_token": "<new>"}"#)
        assertInvalidContent({ try SiglipTokenizer(directory: self.tmp) }, contains: ["<new>", "no id left"])
        try write("tokenizer_config.json", #"{"added_tokens_decoder": {"2147483646": {"content": "<x>"}}}"#)
        XCTAssertTrue(try SiglipTokenizer(directory: tmp).encode("a <x>").contains(2147483646))
    }

    /// Patterns from tokenizer.json: nesting and size are bounded when parsed, backtracking when matched.
    func testPatternLimits() throws {
        let deep = String(repeating: "(", count: 40) + "a" + String(repeating: ")", count: 40)
        XCTAssertThrowsError(try Pattern(deep)) { XCTAssertTrue(($0 as! PatternError).reason.contains("nested")) }
        XCTAssertThrowsError(try Pattern(String(repeating: "[", count: 40) + "a" + String(repeating: "]", count: 40)))
        XCTAssertNoThrow(try Pattern(String(repeating: "(", count: 30) + "a" + String(repeating: ")", count: 30)))
        XCTAssertThrowsError(try Pattern(String(repeating: "a?", count: 1_001))) {
            XCTAssertTrue(($0 as! PatternError).reason.contains("1000 elements"))
        }
        // Catastrophic backtracking: a*a*...a*b on a run of a's would take about 40^12 steps.
        let pattern = try Pattern(String(repeating: "a*", count: 12) + "b")
        let text = Array(String(repeating: "a", count: 40).unicodeScalars)
        let start = Date()
        XCTAssertEqual(pattern.matches(in: text), [])
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
        // Ordinary patterns on long text stay within the budget.
        let words = Array(String(repeating: "word ", count: 20_000).unicodeScalars)
        XCTAssertEqual(try Pattern(ByteLevelPreTokenizer.gpt2Pattern).matches(in: words).count, 20_001)  // and the last space
    }

    /// Through tokenizer.json, a pattern nested too deep is an unsupported configuration naming the file.
    func testDeepPatternInTokenizerJSON() throws {
        let deep = String(repeating: "(", count: 40) + "a" + String(repeating: ")", count: 40)
        try write("tokenizer.json", """
            {"normalizer": {"type": "Replace", "pattern": {"Regex": "\(deep)"}, "content": "b"},
             "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0}}}
            """)
        XCTAssertThrowsError(try PipelineTokenizer(directory: tmp)) { error in
            guard case .unsupported(let path, let reason) = error as? TokenizerError else {
                return XCTFail("unexpected error: \(error)")
            }
            XCTAssertTrue(path.hasSuffix("tokenizer.json"))
            XCTAssertTrue(reason.contains("nested"), reason)
        }
    }

    /// A spiece.model of type BPE whose charsmap replaces "z" with the bytes C3 F0 9F (not UTF-8) and whose only
    /// other piece is an unused "\u{FFFD}\u{FFFD}".
    static func modelWhosePieceReadsAsItsOwnPart() -> [UInt8] {
        typealias P = SentencePieceErrorTests
        // A Darts trie of one rule: the root's offset is 0, so "z" (0x7A) leads to unit 122, labelled "z", with a
        // leaf; its offset 1 leads to unit 122 ^ 1, the leaf, whose value 0 is the replacement's offset.
        var units = [UInt32](repeating: 0, count: 124)
        units[122] = 0x7A | 1 << 8 | 1 << 10
        units[123] = 1 << 31
        let trie = units.flatMap { unit in withUnsafeBytes(of: unit.littleEndian) { Array($0) } }
        let charsmap = withUnsafeBytes(of: UInt32(trie.count).littleEndian) { Array($0) } + trie + [0xC3, 0xF0, 0x9F, 0]
        let normalizer = P.field(1, bytes: Array("rules".utf8)) + P.field(2, bytes: charsmap) + P.field(3, varint: 0)
        return P.piece("<unk>", score: 0, type: 2) + P.piece("\u{FFFD}\u{FFFD}", score: -1, type: 5)
            + P.field(2, bytes: P.field(3, varint: 2)) + P.field(3, bytes: normalizer)
    }

    /// SentencePiece BPE splits a merged unused piece back into its two parts. Text that is not UTF-8 (a charsmap
    /// replacement can be any bytes) reads with replacement characters, and a part can then read as the whole:
    /// C3 F0 9F is split into C3 F0 and 9F, read as U+FFFD U+FFFD, U+FFFD U+FFFD and U+FFFD, so the piece was split
    /// into itself until the stack overflowed (a crash, not an error). The piece is now kept whole.
    func testBPEPieceThatReadsAsItsOwnPartIsKeptWhole() throws {
        let url = tmp.appendingPathComponent("spiece.model")
        try Data(Self.modelWhosePieceReadsAsItsOwnPart()).write(to: url)
        let processor = try SentencePieceProcessor(contentsOf: url)
        XCTAssertEqual(processor.encode("z").map(\.piece), ["\u{FFFD}\u{FFFD}"])
        XCTAssertEqual(processor.encode("zz").count, 2)
        // The regression input of the spiece-model harness is this model and a tokenizer_config.json of "{}".
        let regression = fixturesDirectory.deletingLastPathComponent()
            .appendingPathComponent("Fuzz/Regressions/spiece-model/unused-piece-reads-as-its-part")
        XCTAssertEqual([UInt8](try Data(contentsOf: regression)),
                       Self.modelWhosePieceReadsAsItsOwnPart() + Array("\n--zeroshot-fuzz-file--\n{}".utf8))
    }
}
