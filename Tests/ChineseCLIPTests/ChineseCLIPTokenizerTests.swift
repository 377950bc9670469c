import Foundation
import XCTest

@testable import ChineseCLIP
@testable import Layers
import Tokenizers

/// The checkpoints' tokenizers (vocab.txt + tokenizer_config.json, BertTokenizer: the real 21,128-token vocabulary,
/// subsets of it, one cased) give transformers' input_ids, and those ids give transformers' text embeddings.
final class ChineseCLIPTokenizerTests: XCTestCase {
    func testInputIdsAndEmbeddingsFromText() throws {
        for name in chineseCLIPCheckpoints {
            let golden = try ChineseCLIPGolden.load(name)
            let directory = modelsDirectory.appendingPathComponent(name)
            let tokenizer = try AutoTokenizer.load(directory: directory)
            XCTAssertEqual(tokenizer.padTokenId, golden.pad_token_id, name)
            XCTAssertEqual(tokenizer.modelInputNames, golden.model_input_names, name)
            let ids = golden.texts.map { tokenizer.encode($0) }
            for (text, (mine, expected)) in zip(golden.texts, zip(ids, golden.input_ids)) {
                XCTAssertEqual(mine, expected, "\(name): \(text.debugDescription)")
            }
            for c in golden.pipeline {
                XCTAssertEqual(c.sequences.map { tokenizer.encode($0) }, c.input_ids, "\(name): \(c.sequences)")
            }
            let model = try ChineseCLIPModel(directory: directory)
            let text = try model.textEmbeddings(TextBatch(inputIds: ids))
            XCTAssertLessThanOrEqual(maxAbsDiff(text, golden.text_embeds), 1e-4, name)
        }
    }
}
