import Foundation
import XCTest
@testable import Tokenizers

/// CLIPTokenizer through the `Tokenizer` protocol gives the same ids as its own `encode`.
final class TokenizerProtocolTests: XCTestCase {
    func testCLIPThroughTheProtocol() throws {
        let g = try XCTUnwrap(GoldenTests.golden)
        for name in GoldenTests.layouts {
            let clip = try CLIPTokenizer(directory: GoldenTests.root.appendingPathComponent(name))
            let tok: any Tokenizer = clip
            let layout = try XCTUnwrap(g.layouts[name])
            XCTAssertEqual(tok.padTokenId, layout.pad_token_id, name)
            XCTAssertEqual(tok.modelInputNames, ["input_ids", "attention_mask"], name)
            var truncatedSeen = false
            for (i, text) in g.texts.enumerated() {
                let cut = tok.encode(text, maxLength: g.max_length)
                XCTAssertEqual(cut.ids, layout.ids[i], "\(name) \(text.debugDescription)")
                XCTAssertEqual(cut.wasTruncated, layout.truncated[i], "\(name) \(text.debugDescription)")
                let whole = tok.encode(text)
                if layout.truncated[i] {
                    truncatedSeen = true
                    XCTAssertGreaterThan(whole.count, g.max_length)
                    XCTAssertEqual(Array(whole.prefix(g.max_length - 1)), Array(cut.ids.dropLast()))
                    XCTAssertEqual(whole.last, cut.ids.last)
                } else {
                    XCTAssertEqual(whole, layout.ids[i], "\(name) \(text.debugDescription)")
                }
            }
            XCTAssertTrue(truncatedSeen)
        }
    }

    func testCLIPModelMaxLength() throws {
        let vocab = try CLIPTokenizer(directory: GoldenTests.root.appendingPathComponent("clip-vocab"))
        XCTAssertEqual(vocab.modelMaxLength, 77)
    }
}
