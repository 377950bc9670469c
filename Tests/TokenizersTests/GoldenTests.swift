import Foundation
import XCTest
@testable import Tokenizers

/// Parity with transformers' CLIPTokenizer on the committed golden ids (Tools/reference/tokenizer_fixtures.py).
final class GoldenTests: XCTestCase {
    static let root = fixturesDirectory.appendingPathComponent("tokenizers")
    static let layouts = ["clip-vocab", "small-json", "small-hub"]

    struct Golden: Decodable {
        struct Batch: Decodable {
            let texts: [String]
            let input_ids: [[Int32]]
            let attention_mask: [[Int32]]
        }
        struct Layout: Decodable {
            let bos_token_id: Int32
            let eos_token_id: Int32
            let pad_token_id: Int32
            let ids: [[Int32]]
            let truncated: [Bool]
            let batch: Batch
        }
        let max_length: Int
        let texts: [String]
        let layouts: [String: Layout]
    }

    static let golden: Golden? = {
        guard let data = try? Data(contentsOf: root.appendingPathComponent("golden.json")) else { return nil }
        return try? JSONDecoder().decode(Golden.self, from: data)
    }()

    func loadGolden() throws -> Golden {
        try XCTUnwrap(GoldenTests.golden, "Tests/Fixtures/tokenizers/golden.json missing or unreadable")
    }

    func testCorpusSize() throws {
        let g = try loadGolden()
        XCTAssertGreaterThanOrEqual(g.texts.count, 150)
        XCTAssertEqual(Set(g.layouts.keys), Set(GoldenTests.layouts))
    }

    func testEveryGoldenCaseEveryLayout() throws {
        let g = try loadGolden()
        for name in GoldenTests.layouts {
            let layout = try XCTUnwrap(g.layouts[name])
            let tok = try CLIPTokenizer(directory: GoldenTests.root.appendingPathComponent(name))
            XCTAssertEqual(tok.maxLength, g.max_length, name)
            XCTAssertEqual(tok.bosTokenId, layout.bos_token_id, name)
            XCTAssertEqual(tok.eosTokenId, layout.eos_token_id, name)
            XCTAssertEqual(tok.padTokenId, layout.pad_token_id, name)
            var failures = 0
            for (i, text) in g.texts.enumerated() {
                let enc = tok.encode(text)
                if enc.ids != layout.ids[i] || enc.wasTruncated != layout.truncated[i] {
                    failures += 1
                    XCTFail("\(name) case \(i) \(text.debugDescription): got \(enc.ids) truncated \(enc.wasTruncated), "
                        + "expected \(layout.ids[i]) truncated \(layout.truncated[i])")
                }
                XCTAssertLessThanOrEqual(enc.ids.count, tok.maxLength)
                XCTAssertEqual(enc.ids.first, tok.bosTokenId)
                XCTAssertEqual(enc.ids.last, tok.eosTokenId)
            }
            XCTAssertEqual(failures, 0, "\(name): \(failures) of \(g.texts.count) cases differ")
            XCTAssertTrue(layout.truncated.contains(true), "\(name): corpus must contain a truncated case")
        }
    }

    func testBatchPadding() throws {
        let g = try loadGolden()
        for name in GoldenTests.layouts {
            let layout = try XCTUnwrap(g.layouts[name])
            let tok = try CLIPTokenizer(directory: GoldenTests.root.appendingPathComponent(name))
            let (ids, mask) = tok.encodeBatch(layout.batch.texts)
            XCTAssertEqual(ids, layout.batch.input_ids, name)
            XCTAssertEqual(mask, layout.batch.attention_mask, name)
        }
        let tok = try CLIPTokenizer(directory: GoldenTests.root.appendingPathComponent("clip-vocab"))
        let empty = tok.encodeBatch([])
        XCTAssertTrue(empty.inputIds.isEmpty && empty.attentionMask.isEmpty)
    }

    /// The pipeline a tokenizer.json declares (parsed generically) gives the same ids as CLIP's built-in pipeline
    /// for the file transformers writes.
    func testDeclaredPipelineOfSavedTokenizerJSON() throws {
        let g = try loadGolden()
        let dir = GoldenTests.root.appendingPathComponent("small-json")
        let tok = try CLIPTokenizer(directory: dir)
        let path = dir.appendingPathComponent("tokenizer.json").path
        let root = try CLIPTokenizer.readJSONObject(dir.appendingPathComponent("tokenizer.json"))
        let declared = TokenizerPipeline(
            normalizer: try ComponentParser.normalizer(root["normalizer"], path: path),
            preTokenizer: try ComponentParser.preTokenizer(root["pre_tokenizer"], path: path),
            model: tok.pipeline.model,
            postProcessor: try ComponentParser.postProcessor(root["post_processor"], path: path) { tok.pipeline.model.vocab[$0] },
            addedTokens: tok.pipeline.addedTokens)
        let layout = try XCTUnwrap(g.layouts["small-json"])
        for (i, text) in g.texts.enumerated() where !layout.truncated[i] {
            XCTAssertEqual(declared.postProcessor.process(declared.encodeContent(text)), layout.ids[i], text.debugDescription)
        }
    }

    func testMaxLengthIsSettable() throws {
        var tok = try CLIPTokenizer(directory: GoldenTests.root.appendingPathComponent("clip-vocab"))
        let full = tok.encode("a photo of a cat")
        XCTAssertFalse(full.wasTruncated)
        tok.maxLength = 4
        let cut = tok.encode("a photo of a cat")
        XCTAssertTrue(cut.wasTruncated)
        XCTAssertEqual(cut.ids, Array(full.ids.prefix(3)) + [tok.eosTokenId])
    }

    /// Encoding speed of typical labels in a template (reported, not asserted).
    func testTiming() throws {
        let tok = try CLIPTokenizer(directory: GoldenTests.root.appendingPathComponent("clip-vocab"))
        let labels = ["cat", "dog", "golden retriever", "sports car", "crème brûlée", "great white shark",
                      "a bowl of ramen", "Granny Smith apple", "hot-air balloon", "スシ"]
        let texts = labels.map { "This is a photo of \($0)." }
        _ = texts.map { tok.encode($0) }
        let rounds = 500
        let start = DispatchTime.now().uptimeNanoseconds
        var total = 0
        for _ in 0..<rounds { for t in texts { total += tok.encode(t).ids.count } }
        let cached = Double(DispatchTime.now().uptimeNanoseconds - start) / 1000 / Double(rounds * texts.count)
        // Cold: fresh tokenizers so the word cache is empty.
        var coldTotal = 0.0
        for _ in 0..<3 {
            let fresh = try CLIPTokenizer(directory: GoldenTests.root.appendingPathComponent("small-json"))
            let s = DispatchTime.now().uptimeNanoseconds
            for t in texts { total += fresh.encode(t).ids.count }
            coldTotal += Double(DispatchTime.now().uptimeNanoseconds - s) / 1000 / Double(texts.count)
        }
        print("tokenizer timing: \(String(format: "%.2f", cached)) µs per label (warm cache), "
            + "\(String(format: "%.2f", coldTotal / 3)) µs per label (cold cache); \(total) tokens")
        XCTAssertGreaterThan(total, 0)
    }
}
