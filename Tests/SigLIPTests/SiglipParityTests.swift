import Foundation
import ImageIO
import XCTest

@testable import Layers
@testable import SigLIP

/// The repository's committed fixtures (Tests/Fixtures), located from this source file.
let fixturesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")
let modelsDirectory = fixturesDirectory.appendingPathComponent("models")
let checkpoints = ["siglip-p8-nomask", "siglip-p16-mask-f16", "siglip-p6-pos16"]

/// Golden outputs written by Tools/reference/siglip_fixtures.py (transformers' SiglipModel, SiglipImageProcessorPil
/// and zero-shot-image-classification pipeline, float32).
struct SiglipGolden: Decodable {
    struct Prediction: Decodable {
        let label: String
        let score: Float
    }

    struct PipelineCase: Decodable {
        let image: String
        let labels: [String]
        let template: String
        let sequences: [String]
        let text_input_keys: [String]?
        let input_ids: [[Int32]]?
        let attention_mask: [[Int32]]?
        let predictions: [Prediction]?
        let logits: [Float]?
        let pipeline_error: String?
    }

    let checkpoint: String
    let images: [String]
    let pixel_values_file: String
    let pixel_values_shape: [Int]
    let texts: [String]
    /// `tokenizer(text).input_ids` for each text.
    let token_ids: [[Int32]]
    let text_length: Int
    let text_input_keys: [String]
    let input_ids: [[Int32]]
    let attention_mask: [[Int32]]?
    let logit_scale: Float
    let logit_bias: Float
    let image_embeds: [[Float]]
    let text_embeds: [[Float]]
    let logits_per_image: [[Float]]
    let image_flops_per_image: Int
    let pipeline_cases: [PipelineCase]

    static func load(_ name: String) throws -> SiglipGolden {
        try JSONDecoder().decode(
            SiglipGolden.self, from: Data(contentsOf: modelsDirectory.appendingPathComponent("golden/\(name).json")))
    }

    /// pixel_values `[images, 3, S, S]`, flat.
    func pixelValues() throws -> [Float] {
        let raw = try Data(contentsOf: modelsDirectory.appendingPathComponent("golden/\(pixel_values_file)"))
        let values: [Float] = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        precondition(values.count == pixel_values_shape.reduce(1, *))
        return values
    }

    var textBatch: TextBatch { TextBatch(inputIds: input_ids, attentionMask: attention_mask) }
}

func maxAbsDiff(_ a: [[Float]], _ b: [[Float]]) -> Float {
    precondition(a.count == b.count && zip(a, b).allSatisfy { $0.count == $1.count }, "shape mismatch")
    return zip(a, b).map { zip($0, $1).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
}

func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

/// pixel_values of one image file through ImageIO, with the checkpoint's preprocessor_config.json and
/// SiglipImageProcessor's defaults for the keys it lacks.
func pixelValues(image name: String, checkpoint: URL) throws -> [Float] {
    let processor = try ImageProcessor(contentsOf: checkpoint.appendingPathComponent("preprocessor_config.json"),
                                       processorClass: .siglip)
    let image = try ImageDecoder.decode(
        contentsOf: fixturesDirectory.appendingPathComponent("pipeline/images").appendingPathComponent(name))
    return try processor.preprocess(image).values
}

final class SiglipParityTests: XCTestCase {
    func testEmbeddingsAndLogitsMatchTransformers() throws {
        for name in checkpoints {
            let golden = try SiglipGolden.load(name)
            let model = try SiglipModel(directory: modelsDirectory.appendingPathComponent(name))
            XCTAssertEqual(model.unusedTensors, [], name)
            XCTAssertEqual(model.logitScale, golden.logit_scale, name)
            XCTAssertEqual(model.logitBias, golden.logit_bias, name)
            XCTAssertEqual(model.imageSize, golden.pixel_values_shape[2], name)
            XCTAssertEqual(model.textMaxLength, golden.text_length, name)  // 64, or 16 below the pipeline's 64
            XCTAssertEqual(2 * model.pooledImageMultiplyAdds, Double(golden.image_flops_per_image), name)

            let image = try model.imageEmbeddings(pixelValues: try golden.pixelValues(),
                                                  batchSize: golden.pixel_values_shape[0])
            let text = try model.textEmbeddings(golden.textBatch)
            let logits = model.logitsPerImage(imageEmbeddings: image, textEmbeddings: text)
            let dImage = maxAbsDiff(image, golden.image_embeds)
            let dText = maxAbsDiff(text, golden.text_embeds)
            let dLogits = maxAbsDiff(logits, golden.logits_per_image)
            XCTAssertLessThanOrEqual(dImage, 1e-4, "\(name) image_embeds")
            XCTAssertLessThanOrEqual(dText, 1e-4, "\(name) text_embeds")
            XCTAssertLessThanOrEqual(dLogits, 1e-4 * exp(golden.logit_scale), "\(name) logits_per_image")
            print("\(name): max |Δ| image_embeds \(dImage), text_embeds \(dText), logits_per_image \(dLogits)")
        }
    }

    func testGoldensCoverBothMaskKinds() throws {
        // The pipeline sends the attention mask only when the tokenizer's model_input_names has it.
        XCTAssertEqual(try SiglipGolden.load("siglip-p8-nomask").text_input_keys, ["input_ids"])
        XCTAssertEqual(try SiglipGolden.load("siglip-p16-mask-f16").text_input_keys, ["attention_mask", "input_ids"])
        for name in checkpoints {
            let golden = try SiglipGolden.load(name)
            XCTAssertTrue(golden.input_ids.allSatisfy { $0.count == golden.text_length }, name)
            // Padded rows: the pooled last position holds the pad token (</s>, 1) for the short texts.
            XCTAssertEqual(golden.input_ids[0].last, 1, name)
        }
    }

    func testTheMaskHidesPaddingAsKeys() throws {
        let name = "siglip-p16-mask-f16"
        let golden = try SiglipGolden.load(name)
        let model = try SiglipModel(directory: modelsDirectory.appendingPathComponent(name))
        let unmasked = try model.textEmbeddings(TextBatch(inputIds: golden.input_ids))
        XCTAssertGreaterThan(maxAbsDiff(unmasked, golden.text_embeds), 1e-3, "the mask must change the embeddings")
        // Without padding the mask is all ones and changes nothing; the row is pooled at its own last token.
        let short = Array(golden.input_ids[0].prefix(7))
        let masked = try model.textEmbeddings(TextBatch(inputIds: [short], attentionMask: [Array(repeating: 1, count: 7)]))
        XCTAssertLessThanOrEqual(maxAbsDiff(masked, try model.textEmbeddings(TextBatch(inputIds: [short]))), 1e-6)
    }

    func testRowsAreIndependentOfTheirBatch() throws {
        for name in checkpoints {
            let golden = try SiglipGolden.load(name)
            let model = try SiglipModel(directory: modelsDirectory.appendingPathComponent(name))
            let row = 3
            let single = try model.textEmbeddings(TextBatch(inputIds: [golden.input_ids[row]],
                                                            attentionMask: golden.attention_mask.map { [$0[row]] }))
            XCTAssertLessThanOrEqual(maxAbsDiff(single, [golden.text_embeds[row]]), 1e-4, name)
            let pixels = try golden.pixelValues()
            let perImage = pixels.count / golden.pixel_values_shape[0]
            let one = try model.imageEmbeddings(pixelValues: Array(pixels[perImage..<(2 * perImage)]), batchSize: 1)
            XCTAssertLessThanOrEqual(maxAbsDiff(one, [golden.image_embeds[1]]), 1e-4, name)
        }
    }

    func testPixelValuesThroughImageIO() throws {
        for name in checkpoints {
            let golden = try SiglipGolden.load(name)
            let expected = try golden.pixelValues()
            let perImage = expected.count / golden.images.count
            for (i, image) in golden.images.enumerated() {
                let values = try pixelValues(image: image, checkpoint: modelsDirectory.appendingPathComponent(name))
                XCTAssertEqual(values.count, perImage, "\(name) \(image)")
                guard values.count == perImage else { continue }
                let d = zip(values, expected[(i * perImage)..<((i + 1) * perImage)]).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThanOrEqual(d, 1e-6, "\(name) \(image) pixel_values")
            }
        }
    }

    /// The pipeline's scores from the image file: ImageIO, both towers on the text inputs the pipeline sent,
    /// sigmoid per label, sorted by score (ties in label order, as Python's stable sort).
    func testPipelineScores() throws {
        var compared = 0
        for name in checkpoints {
            let golden = try SiglipGolden.load(name)
            let directory = modelsDirectory.appendingPathComponent(name)
            let model = try SiglipModel(directory: directory)
            for c in golden.pipeline_cases {
                guard c.pipeline_error == nil else { continue }
                let ids = try XCTUnwrap(c.input_ids)
                XCTAssertEqual(c.text_input_keys, golden.text_input_keys)
                XCTAssertEqual(ids.map(\.count), Array(repeating: 64, count: ids.count))
                let image = try model.imageEmbeddings(pixelValues: try pixelValues(image: c.image, checkpoint: directory),
                                                      batchSize: 1)
                let text = try model.textEmbeddings(TextBatch(inputIds: ids, attentionMask: c.attention_mask))
                let logits = model.logitsPerImage(imageEmbeddings: image, textEmbeddings: text)[0]
                let expectedLogits = try XCTUnwrap(c.logits)
                XCTAssertLessThanOrEqual(maxAbsDiff([logits], [expectedLogits]), 1e-4 * exp(golden.logit_scale),
                                         "\(name) \(c.image) \(c.labels)")
                let scores = logits.map(sigmoid)
                let ranked = zip(c.labels, scores).enumerated()
                    .sorted { $0.element.1 != $1.element.1 ? $0.element.1 > $1.element.1 : $0.offset < $1.offset }
                    .map(\.element)
                let predictions = try XCTUnwrap(c.predictions)
                XCTAssertEqual(ranked.map(\.0), predictions.map(\.label), "\(name) \(c.image) \(c.labels)")
                for ((_, score), p) in zip(ranked, predictions) {
                    XCTAssertEqual(score, p.score, accuracy: 1e-5, "\(name) \(c.image) \(p.label)")
                }
                compared += 1
            }
        }
        XCTAssertEqual(compared, 2 * 4 * 4)  // two checkpoints with 64 positions, 4 images, 4 label sets
    }

    func testSixtyFourTokensOverSixteenPositionsIsRefusedAsTransformersRefusesIt() throws {
        let name = "siglip-p6-pos16"
        let golden = try SiglipGolden.load(name)
        XCTAssertTrue(golden.pipeline_cases.allSatisfy { $0.pipeline_error?.contains("max_position_embeddings: 16") == true })
        let model = try SiglipModel(directory: modelsDirectory.appendingPathComponent(name))
        let row = golden.input_ids[0] + Array(repeating: 1, count: 64 - golden.text_length)
        XCTAssertThrowsError(try model.textEmbeddings(TextBatch(inputIds: [row]))) { error in
            guard case ModelError.invalidInput(let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("64 tokens") && reason.contains("max_position_embeddings 16"), reason)
        }
    }

    func testInt8StaysCloseToFloat32() throws {
        func cosine(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        for name in checkpoints {
            let golden = try SiglipGolden.load(name)
            let directory = modelsDirectory.appendingPathComponent(name)
            let int8 = try SiglipModel(directory: directory, precision: .int8)
            XCTAssertEqual(int8.precision, .int8)
            let image = try int8.imageEmbeddings(pixelValues: try golden.pixelValues(), batchSize: golden.pixel_values_shape[0])
            let text = try int8.textEmbeddings(golden.textBatch)
            for (x, y) in Array(zip(image, golden.image_embeds)) + Array(zip(text, golden.text_embeds)) {
                XCTAssertGreaterThanOrEqual(cosine(x, y), 0.99, name)
            }
            XCTAssertLessThan(zip(image, golden.image_embeds).map { cosine($0, $1) }.min()!, 0.999_999,
                              "\(name): int8 should not be identical to float32 (was it used?)")
        }
    }
}
