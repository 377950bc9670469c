import Foundation
import XCTest
@testable import Tokenizers

/// Parity with transformers 5.24's AutoTokenizer on BERT WordPiece layouts (Tools/reference/wordpiece_tokenizer_fixtures.py):
/// the real 21,128-token Chinese BERT vocabulary as vocab.txt + tokenizer_config.json, and tokenizer.json layouts
/// run by BertTokenizer (which ignores the file's pipeline) or by the generic TokenizersBackend.
final class WordPieceGoldenTests: XCTestCase {
    static let root = fixturesDirectory.appendingPathComponent("wordpiece")

    struct Golden: Decodable {
        struct Layout: Decodable {
            let `class`: String
            let pad_token_id: Int32?
            let model_max_length: Int?
            let model_input_names: [String]
            let ids: [[Int32]]
            let truncated: [[[Int32]]]
        }
        let texts: [String]
        let long_texts: [String]
        let max_lengths: [Int]
        let layouts: [String: Layout]
    }

    static let golden: Golden? = {
        guard let data = try? Data(contentsOf: root.appendingPathComponent("golden.json")) else { return nil }
        return try? JSONDecoder().decode(Golden.self, from: data)
    }()

    func loadGolden() throws -> Golden {
        try XCTUnwrap(Self.golden, "Tests/Fixtures/wordpiece/golden.json missing or unreadable")
    }

    func testCorpusAndLayouts() throws {
        let g = try loadGolden()
        XCTAssertGreaterThanOrEqual(g.texts.count, 300)
        XCTAssertGreaterThanOrEqual(g.layouts.count, 15)
        XCTAssertTrue(g.texts.contains("一张猫的照片。"))
        XCTAssertTrue(g.texts.contains(""))
        // Both layouts of the real vocabulary, both classes.
        XCTAssertTrue(g.layouts.values.contains { $0.class == "BertTokenizer" })
        XCTAssertTrue(g.layouts.values.contains { $0.class == "TokenizersBackend" })
    }

    func testEveryLayoutEveryText() throws {
        let g = try loadGolden()
        for (name, layout) in g.layouts.sorted(by: { $0.key < $1.key }) {
            let tok = try AutoTokenizer.load(directory: Self.root.appendingPathComponent(name))
            switch layout.class {
            case "BertTokenizer", "DistilBertTokenizer": XCTAssertTrue(tok is BertTokenizer, name)
            case "TokenizersBackend": XCTAssertTrue(tok is PipelineTokenizer, name)
            default: XCTFail("\(name): unexpected class \(layout.class)")
            }
            XCTAssertEqual(tok.padTokenId, layout.pad_token_id, name)
            XCTAssertEqual(tok.modelMaxLength, layout.model_max_length, name)
            XCTAssertEqual(tok.modelInputNames, layout.model_input_names, name)
            var failures = 0
            for (i, text) in g.texts.enumerated() where tok.encode(text) != layout.ids[i] {
                failures += 1
                if failures <= 10 {
                    XCTFail("\(name) \(text.debugDescription): got \(tok.encode(text)), expected \(layout.ids[i])")
                }
            }
            XCTAssertEqual(failures, 0, "\(name): \(failures) of \(g.texts.count) texts differ")
        }
    }

    /// `tokenizer(text, truncation=True, max_length=n)`: cut to n with the special tokens kept; below the number of
    /// special tokens the text stays whole; `truncation_side` left keeps the end.
    func testTruncation() throws {
        let g = try loadGolden()
        var cut = 0
        for (name, layout) in g.layouts.sorted(by: { $0.key < $1.key }) {
            let tok = try AutoTokenizer.load(directory: Self.root.appendingPathComponent(name))
            for (t, text) in g.long_texts.enumerated() {
                let whole = tok.encode(text)
                for (m, maxLength) in g.max_lengths.enumerated() {
                    let expected = layout.truncated[t][m]
                    let enc = tok.encode(text, maxLength: maxLength)
                    XCTAssertEqual(enc.ids, expected, "\(name) \(text.debugDescription) max_length \(maxLength)")
                    XCTAssertEqual(enc.wasTruncated, expected != whole, "\(name) \(text.debugDescription) \(maxLength)")
                    if expected != whole { cut += 1 }
                }
            }
        }
        XCTAssertGreaterThan(cut, 50)
    }

    /// The same vocabulary in both layouts gives the same ids: vocab.txt + tokenizer_config.json and the
    /// tokenizer.json transformers saves from it.
    func testSlowAndFastLayoutsAgree() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("wp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tmp) }
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.root.appendingPathComponent("subset.txt"),
                                         to: tmp.appendingPathComponent("vocab.txt"))
        try Data(#"{"tokenizer_class": "BertTokenizer"}"#.utf8).write(to: tmp.appendingPathComponent("tokenizer_config.json"))
        let slow = try AutoTokenizer.load(directory: tmp)
        let fast = try AutoTokenizer.load(directory: Self.root.appendingPathComponent("json-bert"))
        let g = try loadGolden()
        for text in g.texts { XCTAssertEqual(slow.encode(text), fast.encode(text), text.debugDescription) }
    }
}
