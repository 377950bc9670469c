import XCTest
@testable import Tokenizers

/// The tokenizer.json components SentencePiece conversions declare: anchored Replace patterns, Metaspace,
/// Precompiled, Unigram; and BPE byte fallback.
final class SentencePieceComponentTests: XCTestCase {
    func matches(_ pattern: String, _ text: String) throws -> [Range<Int>] {
        try Pattern(pattern).matches(in: Array(text.unicodeScalars))
    }

    func testAnchors() throws {
        XCTAssertEqual(try matches(#"\A +| +\z"#, "  a  b  "), [0..<2, 6..<8])
        XCTAssertEqual(try matches(#"\A▁"#, "▁a▁"), [0..<1])
        XCTAssertEqual(try matches("^a|b$", "a\nab\nb"), [0..<1, 2..<3, 3..<4, 5..<6])
        XCTAssertEqual(try matches(#"a\Z"#, "a\n"), [0..<1])
        XCTAssertThrowsError(try Pattern(#"\A+"#))
        let collapse = try ReplaceNormalizer(regex: " {2,}", content: " ")
        XCTAssertEqual(collapse.normalize("a  b   c d"), "a b c d")
    }

    func s(_ text: String) -> [Unicode.Scalar] { Array(text.unicodeScalars) }
    func strings(_ pieces: [[Unicode.Scalar]]) -> [String] { pieces.map { String(String.UnicodeScalarView($0)) } }

    func testMetaspace() {
        let always = MetaspacePreTokenizer(replacement: "▁", prependScheme: .always, split: true)
        XCTAssertEqual(strings(always.preTokenize([s("hey friend")])), ["▁hey", "▁friend"])
        XCTAssertEqual(strings(always.preTokenize([s("▁x")])), ["▁x"], "no second ▁")
        XCTAssertEqual(strings(always.preTokenize([s("")])), [])
        let noSplit = MetaspacePreTokenizer(replacement: "▁", prependScheme: .always, split: false)
        XCTAssertEqual(strings(noSplit.preTokenize([s("a b")])), ["▁a▁b"])
        let first = MetaspacePreTokenizer(replacement: "▁", prependScheme: .first, split: false)
        XCTAssertEqual(strings(first.preTokenize([s("a b")], atTextStart: true)), ["▁a▁b"])
        XCTAssertEqual(strings(first.preTokenize([s("a b")], atTextStart: false)), ["a▁b"])
        let never = MetaspacePreTokenizer(replacement: "▁", prependScheme: .never, split: true)
        XCTAssertEqual(strings(never.preTokenize([s("a b")])), ["a", "▁b"])
    }

    func testMetaspaceFromJSON() throws {
        let p = try ComponentParser.preTokenizer(["type": "Metaspace", "replacement": "▁", "add_prefix_space": false,
                                                  "prepend_scheme": "always", "split": true], path: "t.json")
        XCTAssertEqual(strings(try XCTUnwrap(p).preTokenize([s("a b")])), ["a", "▁b"], "add_prefix_space false: never")
        XCTAssertThrowsError(try ComponentParser.preTokenizer(["type": "Metaspace", "prepend_scheme": "sometimes"],
                                                              path: "t.json")) { error in
            XCTAssertTrue("\(error)".contains("sometimes"))
        }
    }

    func testUnigramViterbiAndFusedUnknowns() throws {
        let m = try UnigramModel(vocab: [("<unk>", 0), ("a", -2), ("b", -2), ("ab", -3), ("abc", -10), ("c", -5)],
                                 unknownTokenId: 0, byteFallback: false, source: "t")
        XCTAssertEqual(m.tokenize("ab"), [3], "ab (-3) beats a+b (-4)")
        XCTAssertEqual(m.tokenize("abc"), [3, 5], "ab+c (-8) beats abc (-10)")
        XCTAssertEqual(m.encode("xyab"), ["xy", "ab"], "unknown run fused")
        XCTAssertEqual(m.tokenize("xyab"), [0, 3])
    }

    func testUnigramByteFallback() throws {
        var vocab: [(String, Double)] = [("<unk>", 0), ("a", -1)]
        for b in 0..<256 { vocab.append((BPEModel.byteToken(UInt8(b)), -20)) }
        let m = try UnigramModel(vocab: vocab, unknownTokenId: 0, byteFallback: true, source: "t")
        XCTAssertEqual(m.tokenize("aé"), [1, 2 + 0xC3, 2 + 0xA9])
    }

    func testBPEByteFallbackAndPendingUnknown() throws {
        let vocab: [String: Int32] = ["<unk>": 0, "a": 1, "<0xC3>": 2, "<0xA9>": 3]
        let bpe = try BPEModel(vocab: vocab, merges: [], unknownToken: "<unk>", endOfWordSuffix: "", fuseUnknown: true,
                               byteFallback: true, source: "t")
        XCTAssertEqual(bpe.tokenize(s("aéa")), [1, 2, 3, 1])
        XCTAssertEqual(bpe.tokenize(s("axya")), [1, 0, 1], "x and y: one fused unknown")
        let noFuse = try BPEModel(vocab: vocab, merges: [], unknownToken: "<unk>", endOfWordSuffix: "", source: "t")
        XCTAssertEqual(noFuse.tokenize(s("axy")), [1, 0, 0])
        XCTAssertEqual(BPEModel.byteToken(0x0A), "<0x0A>")
    }
}

/// Canonically equivalent tokens stay distinct, as in `tokenizers` (transformers gives these ids for this file).
final class ExactVocabularyTests: XCTestCase {
    func testCanonicallyEquivalentTokensKeepTheirIds() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("exact-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = #"""
        {"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": null, "post_processor": null,
         "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": false,
          "vocab": {"<unk>": 0, "e": 1, "\u0301": 2, "\u00e9": 3, "e\u0301": 4, "\u00c5": 5, "\u212b": 6},
          "merges": ["e \u0301"]}}
        """#
        try Data(json.utf8).write(to: dir.appendingPathComponent("tokenizer.json"))
        for tokenizerClass in ["TokenizersBackend", "GemmaTokenizer"] {
            try Data("{\"tokenizer_class\": \"\(tokenizerClass)\"}".utf8).write(to: dir.appendingPathComponent("tokenizer_config.json"))
            let tok = try AutoTokenizer.load(directory: dir)
            let expected: [(String, [Int32])] = [("\u{E9}", [3]), ("e\u{301}", [4]), ("\u{C5}", [5]), ("\u{212B}", [6]),
                                                 ("\u{E9}e\u{301}", [3, 4])]
            for (text, ids) in expected {
                XCTAssertEqual(tok.encode(text), ids, "\(tokenizerClass): \(text.unicodeScalars.map { $0.value })")
            }
        }
    }

    func testReaderKeepsKeysAndRejectsBadIds() throws {
        let good = Data(#"{"x": [1, {"a": "}"}], "model": {"merges": [], "vocab": {"a\"b": 0, "\ud83d\ude00": 1, "\u00e9": 2, "e\u0301": 3}}}"#.utf8)
        let entries = try XCTUnwrap(try ExactVocabularyReader.entries(of: good, path: "t.json"))
        XCTAssertEqual(entries.map(\.0.unicodeScalars.count), [3, 1, 1, 2])
        XCTAssertEqual(entries.map(\.1), [0, 1, 2, 3])
        XCTAssertNil(try ExactVocabularyReader.entries(of: Data(#"{"model": {"vocab": [["a", 0.0]]}}"#.utf8), path: "t"))
        XCTAssertThrowsError(try ExactVocabularyReader.entries(of: Data(#"{"model": {"vocab": {"a": -1}}}"#.utf8), path: "t"))
        XCTAssertThrowsError(try ExactVocabularyReader.entries(of: Data(#"{"model": {"vocab": {"a": 1.5}}}"#.utf8), path: "t"))
        XCTAssertThrowsError(try ExactVocabularyReader.entries(of: Data(#"{"model": {"vocab": {"a": 1"#.utf8), path: "t"))
    }
}
