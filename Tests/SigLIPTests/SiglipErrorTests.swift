import Foundation
import Models
import XCTest

@testable import Layers
@testable import SigLIP

final class SiglipErrorTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("siglip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// Copies a committed checkpoint into the temporary directory.
    func copyFixture(_ name: String) throws -> URL {
        let target = dir.appendingPathComponent(name)
        try FileManager.default.copyItem(at: modelsDirectory.appendingPathComponent(name), to: target)
        return target
    }

    func editJSON(_ url: URL, _ edit: (inout [String: Any]) -> Void) throws {
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: url)
    }

    func editConfig(_ model: URL, section: String? = nil, _ edit: @escaping (inout [String: Any]) -> Void) throws {
        try editJSON(model.appendingPathComponent("config.json")) { json in
            guard let section else { return edit(&json) }
            var sub = json[section] as! [String: Any]
            edit(&sub)
            json[section] = sub
        }
    }

    /// Rewrites the header of `model.safetensors` (the tensor data stays as it is).
    func editHeader(_ model: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let file = model.appendingPathComponent("model.safetensors")
        let bytes = try Data(contentsOf: file)
        let headerLength = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian })
        var header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        edit(&header)
        let newHeader = try JSONSerialization.data(withJSONObject: header)
        var out = Data()
        withUnsafeBytes(of: UInt64(newHeader.count).littleEndian) { out.append(contentsOf: $0) }
        out += newHeader + bytes.subdata(in: (8 + headerLength)..<bytes.count)
        try out.write(to: file)
    }

    func testRegistryLoadsSiglipCheckpoints() throws {
        XCTAssertTrue(ModelTypeRegistry.families["siglip"] == SiglipModel.self)
        let directory = modelsDirectory.appendingPathComponent("siglip-p8-nomask")
        let model = try ModelTypeRegistry.load(directory: directory)
        XCTAssertTrue(model is SiglipModel)
        XCTAssertEqual(model.scoring, .sigmoid)
        XCTAssertEqual(model.textPadding, .maxLength(64))
        XCTAssertEqual(type(of: model).imageProcessorClass, "SiglipImageProcessor")
        XCTAssertEqual(try ModelTypeRegistry.family(directory: directory).textMaxLength(configIn: directory), 64)
        let short = modelsDirectory.appendingPathComponent("siglip-p6-pos16")
        XCTAssertEqual(try ModelTypeRegistry.family(directory: short).textMaxLength(configIn: short), 16)
    }

    func testMissingTensorIsNamed() throws {
        for (name, shape) in [("vision_model.head.probe", [1, 1, 32]),
                              ("vision_model.head.attention.in_proj_bias", [96]),
                              ("text_model.head.weight", [32, 32]),
                              ("logit_bias", [])] {
            let model = try copyFixture("siglip-p8-nomask")
            try editHeader(model) { header in header[name + ".renamed"] = header.removeValue(forKey: name) }
            XCTAssertThrowsError(try SiglipModel(directory: model), name) { error in
                XCTAssertEqual(error as? ModelError, .missingTensor(name: name, expectedShape: shape, checkpoint: model.path))
                XCTAssertTrue(error.localizedDescription.contains(name), error.localizedDescription)
            }
            try FileManager.default.removeItem(at: model)
        }
    }

    func testMisShapedTensorIsNamed() throws {
        let model = try copyFixture("siglip-p8-nomask")
        let name = "vision_model.head.attention.in_proj_weight"
        try editHeader(model) { header in
            var entry = header[name] as! [String: Any]
            entry["shape"] = [32, 96]  // same size, transposed
            header[name] = entry
        }
        XCTAssertThrowsError(try SiglipModel(directory: model)) { error in
            XCTAssertEqual(error as? ModelError, .wrongShape(name: name, expected: [96, 32], found: [32, 96], checkpoint: model.path))
            XCTAssertTrue(error.localizedDescription.contains(name))
        }
        let other = try copyFixture("siglip-p16-mask-f16")
        try editConfig(other, section: "text_config") { $0["max_position_embeddings"] = 32 }
        XCTAssertThrowsError(try SiglipModel(directory: other)) { error in
            XCTAssertEqual(error as? ModelError, .wrongShape(
                name: "text_model.embeddings.position_embedding.weight", expected: [32, 40], found: [64, 40],
                checkpoint: other.path))
        }
    }

    func testConfigErrors() throws {
        let model = try copyFixture("siglip-p8-nomask")
        let config = model.appendingPathComponent("config.json")
        let cases: [(edit: (inout [String: Any]) -> Void, section: String?, expected: String)] = [
            ({ $0["projection_size"] = 16 }, "text_config", "projection_size 16 differs from vision_config.hidden_size 32"),
            ({ $0["vision_use_head"] = false }, "vision_config", "vision_use_head"),
            ({ $0["hidden_act"] = "swish" }, "vision_config", "vision_config.hidden_act \"swish\""),
            ({ $0["image_size"] = [40, 48] }, "vision_config", "not square"),
            ({ $0["hidden_size"] = "32" }, "text_config", "text_config.hidden_size should be an integer"),
            ({ $0["num_attention_heads"] = 5 }, "text_config", "not a multiple of num_attention_heads"),
            ({ $0.removeValue(forKey: "model_type") }, nil, "model_type is missing"),
        ]
        for c in cases {
            try FileManager.default.removeItem(at: config)
            try FileManager.default.copyItem(
                at: modelsDirectory.appendingPathComponent("siglip-p8-nomask/config.json"), to: config)
            try editConfig(model, section: c.section, c.edit)
            XCTAssertThrowsError(try SiglipModel(directory: model), c.expected) { error in
                guard case ModelError.invalidConfig(let path, let reason) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(path, config.path)
                XCTAssertTrue(reason.contains(c.expected), reason)
            }
        }
        try editConfig(model) { $0["model_type"] = "clip" }
        XCTAssertThrowsError(try SiglipModel(directory: model)) { error in
            XCTAssertEqual(error as? ModelError, .unsupportedModelType(path: config.path, modelType: "clip", supported: ["siglip"]))
        }
    }

    func testDefaultsAreTransformers() throws {
        let config = try SiglipConfig(data: Data(#"{"model_type": "siglip", "text_config": {"projection_size": null}}"#.utf8))
        XCTAssertEqual(config.textConfig.vocabSize, 32000)
        XCTAssertEqual(config.textConfig.maxPositionEmbeddings, 64)
        XCTAssertEqual(config.textConfig.projectionSize, 768)
        XCTAssertEqual(config.textConfig.hiddenAct, .geluTanh)
        XCTAssertEqual(config.textConfig.layerNormEps, 1e-6)
        XCTAssertEqual(config.visionConfig.imageSize, 224)
        XCTAssertEqual(config.visionConfig.patchSize, 16)
        XCTAssertEqual(config.visionConfig.numPatches, 196)
        XCTAssertTrue(config.visionConfig.visionUseHead)
        // google/siglip-base-patch16-224's image tower: torch's FlopCounterMode counts 35,416,584,192 for
        // SiglipVisionModel(SiglipVisionConfig()) on one 224 x 224 image.
        XCTAssertEqual(2 * config.imageMultiplyAdds, 35_416_584_192)
    }

    func testBadInputs() throws {
        let model = try SiglipModel(directory: modelsDirectory.appendingPathComponent("siglip-p16-mask-f16"))
        func reason(_ body: () throws -> Any) -> String {
            do { _ = try body() } catch ModelError.invalidInput(let reason) { return reason } catch { return "\(error)" }
            return "no error"
        }
        XCTAssertTrue(reason { try model.imageEmbeddings(pixelValues: [0, 1], batchSize: 1) }.contains("pixel_values has 2 values"))
        XCTAssertTrue(reason { try model.textEmbeddings(TextBatch(inputIds: [[]])) }.contains("row 0 is empty"))
        XCTAssertTrue(reason { try model.textEmbeddings(TextBatch(inputIds: [[4, 500]])) }.contains("id 500"))
        XCTAssertTrue(reason { try model.textEmbeddings(TextBatch(inputIds: [Array(repeating: 1, count: 65)])) }
            .contains("more than max_position_embeddings 64"))
        XCTAssertTrue(reason { try model.textEmbeddings(TextBatch(inputIds: [[4, 1]], attentionMask: [[1]])) }
            .contains("attention_mask row 0 has 1 values"))
        XCTAssertTrue(reason { try model.textEmbeddings(TextBatch(inputIds: [[4, 1]], attentionMask: [[0, 0]])) }
            .contains("has no 1"))
        XCTAssertEqual(try model.textEmbeddings(TextBatch(inputIds: [])), [])
        XCTAssertEqual(try model.imageEmbeddings(pixelValues: [], batchSize: 0), [])
    }
}
