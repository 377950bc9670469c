import Foundation
import Tokenizers
import XCTest

@testable import Layers
@testable import SigLIP

/// From the label text to the pipeline's scores: the checkpoint's own tokenizer (spiece.model), the rows padded
/// as the pipeline pads them, the attention mask exactly when the tokenizer's model_input_names has it.
final class SiglipTokenizerPipelineTests: XCTestCase {
    /// `tokenizer(sequences, padding="max_length", max_length=length, truncation=True)` as the pipeline calls it.
    func pipelineTextBatch(_ sequences: [String], tokenizer: any Tokenizer, length: Int) throws -> TextBatch {
        let pad = try XCTUnwrap(tokenizer.padTokenId)
        let ids = sequences.map { tokenizer.encode($0, maxLength: length).ids }
        let padded = ids.map { $0 + Array(repeating: pad, count: length - $0.count) }
        let mask = ids.map { Array(repeating: Int32(1), count: $0.count) + Array(repeating: 0, count: length - $0.count) }
        return TextBatch(inputIds: padded, attentionMask: tokenizer.modelInputNames.contains("attention_mask") ? mask : nil)
    }

    func testTokenIdsMatchTransformers() throws {
        for name in checkpoints {
            let golden = try SiglipGolden.load(name)
            let tokenizer = try loadTokenizer(modelsDirectory.appendingPathComponent(name))
            for (text, ids) in zip(golden.texts, golden.token_ids) {
                XCTAssertEqual(tokenizer.encode(text), ids, "\(name) \(text)")
            }
            let batch = try pipelineTextBatch(golden.texts, tokenizer: tokenizer, length: golden.text_length)
            XCTAssertEqual(batch.inputIds, golden.input_ids, name)
            XCTAssertEqual(batch.attentionMask, golden.attention_mask, name)
        }
    }

    func testScoresFromLabelsMatchThePipeline() throws {
        var compared = 0
        for name in checkpoints {
            let golden = try SiglipGolden.load(name)
            let directory = modelsDirectory.appendingPathComponent(name)
            let model = try SiglipModel(directory: directory)
            let tokenizer = try loadTokenizer(directory)
            guard case .maxLength(let length) = model.textPadding else { return XCTFail("SigLIP pads to a length") }
            for c in golden.pipeline_cases {
                let sequences = c.labels.map { c.template.replacingOccurrences(of: "{}", with: $0) }
                XCTAssertEqual(sequences, c.sequences)
                let batch = try pipelineTextBatch(sequences, tokenizer: tokenizer, length: length)
                XCTAssertEqual(c.text_input_keys, batch.attentionMask == nil ? ["input_ids"] : ["attention_mask", "input_ids"])
                guard c.pipeline_error == nil else {
                    // 64 tokens over 16 positions: refused, as transformers refuses it.
                    XCTAssertThrowsError(try model.textEmbeddings(batch))
                    continue
                }
                XCTAssertEqual(batch.inputIds, c.input_ids)
                XCTAssertEqual(batch.attentionMask, c.attention_mask)
                let image = try model.imageEmbeddings(pixelValues: try pixelValues(image: c.image, checkpoint: directory),
                                                      batchSize: 1)
                let logits = model.logitsPerImage(imageEmbeddings: image, textEmbeddings: try model.textEmbeddings(batch))[0]
                let byLabel = Dictionary(zip(c.labels, logits.map(sigmoid)), uniquingKeysWith: { a, _ in a })
                for p in try XCTUnwrap(c.predictions) {
                    XCTAssertEqual(try XCTUnwrap(byLabel[p.label]), p.score, accuracy: 1e-5, "\(name) \(c.image) \(p.label)")
                }
                compared += 1
            }
        }
        XCTAssertEqual(compared, 32)
    }
}

func loadTokenizer(_ directory: URL) throws -> any Tokenizer { try AutoTokenizer.load(directory: directory) }
