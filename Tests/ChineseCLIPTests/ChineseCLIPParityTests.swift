import Foundation
import ImageIO
import XCTest

@testable import ChineseCLIP
@testable import Layers
import Models

/// Chinese-CLIP against transformers' numbers (Tools/reference/chinese_clip_fixtures.py): embeddings within 1e-4,
/// the pipeline's scores within 1e-5, pixel_values within 1e-6.
final class ChineseCLIPParityTests: XCTestCase {
    func load(_ name: String) throws -> ChineseCLIPModel {
        let model = try ModelTypeRegistry.load(directory: modelsDirectory.appendingPathComponent(name))
        return try XCTUnwrap(model as? ChineseCLIPModel, "\(name) loaded as \(type(of: model))")
    }

    func testEmbeddingsAndLogits() throws {
        for name in chineseCLIPCheckpoints {
            let golden = try ChineseCLIPGolden.load(name)
            let model = try load(name)
            let shape = golden.pixel_values_shape
            XCTAssertEqual(model.imageSize, shape[2], name)
            XCTAssertEqual(model.logitScale, golden.logit_scale, accuracy: 1e-6, name)
            XCTAssertEqual(model.logitBias, 0)
            XCTAssertEqual(model.scoring, .softmax)
            XCTAssertEqual(model.textPadding, .none)
            XCTAssertEqual(2 * model.config.imageMultiplyAdds, Double(golden.image_flops_per_image), name)

            let image = try model.imageEmbeddings(pixelValues: try golden.pixelValues(), batchSize: shape[0])
            let text = try model.textEmbeddings(TextBatch(inputIds: golden.input_ids))
            let logits = model.logitsPerImage(imageEmbeddings: image, textEmbeddings: text)
            let dImage = maxAbsDiff(image, golden.image_embeds)
            let dText = maxAbsDiff(text, golden.text_embeds)
            let dLogits = maxAbsDiff(logits, golden.logits_per_image)
            print("parity \(name): image_embeds \(dImage), text_embeds \(dText), logits_per_image \(dLogits) "
                  + "(logit scale \(exp(golden.logit_scale)))")
            XCTAssertLessThanOrEqual(dImage, 1e-4, name)
            XCTAssertLessThanOrEqual(dText, 1e-4, name)
            XCTAssertLessThanOrEqual(dLogits, 1e-4 * max(1, exp(golden.logit_scale)), name)
            // Rows of many lengths, the empty text ([CLS] [SEP]) among them: the test covers unpadded rows.
            XCTAssertTrue(golden.input_ids.contains { $0.count == 2 }, name)
            XCTAssertGreaterThan(Set(golden.input_ids.map(\.count)).count, 5, name)
        }
    }

    /// A right-padded batch with its attention mask (what the pipeline passes) gives the unpadded rows' numbers.
    func testPaddedBatchWithMaskEqualsUnpaddedRows() throws {
        let name = "chinese-clip-crop"
        let golden = try ChineseCLIPGolden.load(name)
        let model = try load(name)
        let width = golden.input_ids.map(\.count).max()!
        let padded = golden.input_ids.map { $0 + Array(repeating: golden.pad_token_id, count: width - $0.count) }
        let mask = golden.input_ids.map { Array(repeating: Int32(1), count: $0.count) + Array(repeating: 0, count: width - $0.count) }
        let text = try model.textEmbeddings(TextBatch(inputIds: padded, attentionMask: mask))
        XCTAssertLessThanOrEqual(maxAbsDiff(text, golden.text_embeds), 1e-4)
        // Without the mask the padding would count: the result differs (the test can tell the two apart).
        let unmasked = try model.textEmbeddings(TextBatch(inputIds: padded))
        XCTAssertGreaterThan(maxAbsDiff(unmasked, golden.text_embeds), 1e-3)
        // One row at a time gives the same as the whole batch.
        for (i, row) in golden.input_ids.enumerated().prefix(6) {
            let single = try model.textEmbeddings(inputIds: [row])
            XCTAssertLessThanOrEqual(maxAbsDiff(single, [golden.text_embeds[i]]), 1e-4)
        }
    }

    /// The zero-shot pipeline's scores: softmax of logits_per_image over the candidate labels, sorted by score
    /// (ties in label order), for Chinese labels with "一张{}的照片。" and with the default English template.
    func testPipelineScores() throws {
        for name in chineseCLIPCheckpoints {
            let golden = try ChineseCLIPGolden.load(name)
            let model = try load(name)
            let pixels = try golden.pixelValues()
            let perImage = 3 * model.imageSize * model.imageSize
            var maxScore: Double = 0, maxLogit: Float = 0
            XCTAssertTrue(golden.pipeline.contains { $0.template == "一张{}的照片。" })
            XCTAssertTrue(golden.pipeline.contains { !$0.template_given && $0.template == "This is a photo of {}." })
            for c in golden.pipeline {
                let index = try XCTUnwrap(golden.images.firstIndex { $0.hasSuffix("/" + c.image) })
                let image = try model.imageEmbeddings(
                    pixelValues: Array(pixels[(index * perImage)..<((index + 1) * perImage)]), batchSize: 1)
                let text = try model.textEmbeddings(TextBatch(inputIds: c.input_ids))
                let logits = model.logitsPerImage(imageEmbeddings: image, textEmbeddings: text)[0]
                maxLogit = max(maxLogit, zip(logits, c.logits).map { abs($0 - $1) }.max()!)
                // softmax in float32, as torch computes it
                let top = logits.max()!
                let e = logits.map { Foundation.exp($0 - top) }
                let sum = e.reduce(0, +)
                let scores = e.map { $0 / sum }
                let ranked = zip(c.labels, scores).enumerated()
                    .sorted { $0.element.1 != $1.element.1 ? $0.element.1 > $1.element.1 : $0.offset < $1.offset }
                    .map(\.element)
                XCTAssertEqual(ranked.count, c.predictions.count)
                for (r, p) in zip(ranked, c.predictions) {
                    maxScore = max(maxScore, abs(Double(r.1) - p.score))
                    XCTAssertEqual(Double(r.1), p.score, accuracy: 1e-5, "\(name) \(c.image) \(c.labels)")
                    if r.0 != p.label {
                        // Only scores tied within rounding may swap places.
                        XCTAssertEqual(Double(r.1), p.score, accuracy: 1e-7, "\(name) \(c.image): order \(r.0) vs \(p.label)")
                    }
                }
            }
            print("pipeline \(name): \(golden.pipeline.count) cases, scores within \(maxScore), logits within \(maxLogit)")
            XCTAssertLessThanOrEqual(maxScore, 1e-5)
        }
    }

    /// pixel_values of the photos through the checkpoint's preprocessor_config.json: squash to height x width
    /// without crop (OFA-Sys layout, BICUBIC and BILINEAR), the class default shortest edge + center crop, and the
    /// class defaults filling a file that names only the sizes.
    func testPixelValues() throws {
        for name in chineseCLIPCheckpoints {
            let golden = try ChineseCLIPGolden.load(name)
            let pixels = try golden.pixelValues()
            // The family's class fills keys the file leaves out when it names no class (the OFA-Sys layout names
            // the older feature_extractor_type).
            let processorClass = try XCTUnwrap(ImageProcessorClass(rawValue: ChineseCLIPModel.imageProcessorClass))
            let processor = try ImageProcessor(
                contentsOf: modelsDirectory.appendingPathComponent(name).appendingPathComponent("preprocessor_config.json"),
                processorClass: processorClass)
            let size = golden.pixel_values_shape[2]
            let perImage = 3 * size * size
            var worst: Float = 0
            for (i, path) in golden.images.enumerated() {
                let image = try ImageDecoder.decode(contentsOf: fixturesDirectory.appendingPathComponent(path))
                let (values, h, w) = try processor.preprocess(image)
                XCTAssertEqual([h, w], [size, size], "\(name) \(path)")
                let expected = pixels[(i * perImage)..<((i + 1) * perImage)]
                worst = max(worst, zip(values, expected).map { abs($0 - $1) }.max()!)
            }
            print("pixel_values \(name): within \(worst)")
            XCTAssertLessThanOrEqual(worst, 1e-6, name)
        }
    }
}
