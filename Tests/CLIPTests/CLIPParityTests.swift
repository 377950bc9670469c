import Foundation
import XCTest

@testable import CLIP
@testable import Layers

/// Golden outputs written by Tools/reference/model_fixtures.py (transformers' CLIPModel in float32).
struct Golden: Decodable {
    let checkpoint: String
    let pixel_values_file: String
    let pixel_values_shape: [Int]
    let texts: [String]
    let input_ids: [[Int32]]
    let logit_scale: Float
    let image_embeds: [[Float]]
    let text_embeds: [[Float]]
    let logits_per_image: [[Float]]
    /// torch's FlopCounterMode count for one image through get_image_features, and through the image tower with
    /// the last layer run for the class token alone (absent in older golden files).
    let image_flops_per_image: Int?
    let pooled_image_flops_per_image: Int?
}

let modelsDirectory = fixturesDirectory.appendingPathComponent("models")

func maxAbsDiff(_ a: [[Float]], _ b: [[Float]]) -> Float {
    precondition(a.count == b.count && zip(a, b).allSatisfy { $0.count == $1.count }, "shape mismatch")
    return zip(a, b).map { zip($0, $1).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
}

final class CLIPParityTests: XCTestCase {
    func checkParity(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let golden = try JSONDecoder().decode(
            Golden.self, from: Data(contentsOf: modelsDirectory.appendingPathComponent("golden/\(name).json")))
        let raw = try Data(contentsOf: modelsDirectory.appendingPathComponent("golden/\(golden.pixel_values_file)"))
        let pixels: [Float] = raw.withUnsafeBytes { bytes in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        let shape = golden.pixel_values_shape
        XCTAssertEqual(pixels.count, shape.reduce(1, *), file: file, line: line)

        let model = try CLIPModel(directory: modelsDirectory.appendingPathComponent(name))
        XCTAssertEqual(model.imageSize, shape[2], file: file, line: line)
        XCTAssertEqual(model.logitScale, golden.logit_scale, accuracy: 1e-6, file: file, line: line)
        // Rows of different lengths, one at the 77-token maximum.
        XCTAssertEqual(golden.input_ids.map(\.count).max(), 77, file: file, line: line)
        XCTAssertGreaterThan(Set(golden.input_ids.map(\.count)).count, 3, file: file, line: line)

        // The image tower's operation count matches torch's flop counter on the same checkpoint.
        XCTAssertEqual(2 * model.config.imageMultiplyAdds, Double(try XCTUnwrap(golden.image_flops_per_image)), file: file, line: line)
        XCTAssertEqual(2 * model.config.pooledImageMultiplyAdds, Double(try XCTUnwrap(golden.pooled_image_flops_per_image)),
                       file: file, line: line)

        let image = try model.imageEmbeddings(pixelValues: pixels, batchSize: shape[0])
        let text = try model.textEmbeddings(inputIds: golden.input_ids)
        let logits = model.logitsPerImage(imageEmbeddings: image, textEmbeddings: text)
        let dImage = maxAbsDiff(image, golden.image_embeds)
        let dText = maxAbsDiff(text, golden.text_embeds)
        let dLogits = maxAbsDiff(logits, golden.logits_per_image)
        print("parity \(name): image_embeds \(dImage), text_embeds \(dText), logits_per_image \(dLogits) "
              + "(\(shape[0]) images, \(golden.input_ids.count) texts)")
        XCTAssertLessThanOrEqual(dImage, 1e-4, file: file, line: line)
        XCTAssertLessThanOrEqual(dText, 1e-4, file: file, line: line)
        // logits = exp(ln 100) · cosine: 1e-4 here is 1e-6 on the cosine.
        XCTAssertLessThanOrEqual(dLogits, 1e-4, file: file, line: line)
        // The embeddings are not degenerate: rows differ from each other.
        XCTAssertGreaterThan(maxAbsDiff([text[0]], [text[1]]), 1e-2, file: file, line: line)
        XCTAssertGreaterThan(maxAbsDiff([image[0]], [image[1]]), 1e-2, file: file, line: line)

        // Batching does not change results: one row at a time gives the same embeddings.
        let single = try model.textEmbeddings(inputIds: [golden.input_ids[3]])
        XCTAssertLessThanOrEqual(maxAbsDiff(single, [text[3]]), 1e-6, file: file, line: line)
        let perImage = shape[1] * shape[2] * shape[3]
        let lastImage = try model.imageEmbeddings(pixelValues: Array(pixels[(shape[0] - 1) * perImage ..< shape[0] * perImage]), batchSize: 1)
        XCTAssertLessThanOrEqual(maxAbsDiff(lastImage, [image[shape[0] - 1]]), 1e-6, file: file, line: line)
    }

    func testParityPatch8QuickGELU() throws { try checkParity("tiny-p8-quickgelu") }
    func testParityPatch16GELU() throws { try checkParity("tiny-p16-gelu") }
    func testParityLegacyEOS() throws { try checkParity("tiny-legacy-eos") }
    func testParityF16() throws { try checkParity("tiny-f16") }
    func testParitySharded() throws { try checkParity("tiny-sharded") }
    func testParityBF16() throws { try checkParity("tiny-bf16") }

    func testFixtureConfigs() throws {
        let a = try CLIPConfig(contentsOf: modelsDirectory.appendingPathComponent("tiny-p8-quickgelu/config.json"))
        XCTAssertEqual(a.textConfig.hiddenAct, .quickGELU)
        XCTAssertEqual(a.textConfig.eosTokenId, 1513)
        XCTAssertEqual(a.visionConfig.patchSize, 8)
        XCTAssertEqual(a.dtype, "float32")
        let b = try CLIPConfig(contentsOf: modelsDirectory.appendingPathComponent("tiny-p16-gelu/config.json"))
        XCTAssertEqual(b.visionConfig.hiddenAct, .gelu)
        XCTAssertEqual(b.visionConfig.layerNormEps, 1e-6)
        let legacy = try CLIPConfig(contentsOf: modelsDirectory.appendingPathComponent("tiny-legacy-eos/config.json"))
        XCTAssertEqual(legacy.textConfig.eosTokenId, 2)
        XCTAssertEqual(legacy.dtype, "float32")  // from torch_dtype
        XCTAssertEqual(legacy.textConfig.maxPositionEmbeddings, 77)  // default
        XCTAssertEqual(legacy.textConfig.hiddenAct, .quickGELU)  // default
        let f16 = try CLIPConfig(contentsOf: modelsDirectory.appendingPathComponent("tiny-f16/config.json"))
        XCTAssertEqual(f16.dtype, "float16")
        XCTAssertEqual(f16.visionConfig.gridSize, 4)  // 36 / 8, remainder ignored
    }

    func testImageOperationCountsOfFullSizeShapes() {
        // torch's FlopCounterMode on transformers' get_image_features (meta tensors), 2 operations per multiply-add.
        XCTAssertEqual(2 * CLIPConfig().imageMultiplyAdds, 8_817_623_040)  // default CLIPConfig: ViT-B/32
        XCTAssertEqual(2 * CLIPConfig().pooledImageMultiplyAdds, 8_232_069_120)  // model_fixtures.pooled_image_flops
        var large = CLIPConfig()  // openai/clip-vit-large-patch14's vision tower and projection
        large.visionConfig.hiddenSize = 1024
        large.visionConfig.intermediateSize = 4096
        large.visionConfig.numHiddenLayers = 24
        large.visionConfig.numAttentionHeads = 16
        large.visionConfig.patchSize = 14
        large.projectionDim = 768
        XCTAssertEqual(2 * large.imageMultiplyAdds, 162_025_537_536)
        XCTAssertEqual(2 * large.pooledImageMultiplyAdds, 156_387_344_384)
    }

    func testPoolingIndex() {
        // Current configs: first eos (pad may equal eos).
        XCTAssertEqual(CLIPTextTransformer.poolingIndex([49406, 320, 49407, 49407], eosTokenId: 49407), 2)
        // No eos in the row: position 0, as torch's argmax over an all-false mask.
        XCTAssertEqual(CLIPTextTransformer.poolingIndex([49406, 320], eosTokenId: 49407), 0)
        // eos_token_id == 2: argmax of the ids (first of equal maxima), whatever the real eos is.
        XCTAssertEqual(CLIPTextTransformer.poolingIndex([49406, 320, 49407, 49407], eosTokenId: 2), 2)
        XCTAssertEqual(CLIPTextTransformer.poolingIndex([5, 900, 7, 2], eosTokenId: 2), 1)
    }
}
