import Foundation
import XCTest

@testable import ChineseCLIP
@testable import Layers
import Models

final class ChineseCLIPErrorTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("chinese-clip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func testRegistryPicksTheFamily() throws {
        XCTAssertTrue(ModelTypeRegistry.supportedModelTypes.contains("chinese_clip"))
        for name in chineseCLIPCheckpoints {
            let family = try ModelTypeRegistry.family(directory: modelsDirectory.appendingPathComponent(name))
            XCTAssertTrue(family == ChineseCLIPModel.self, name)
            XCTAssertEqual(family.imageProcessorClass, "ChineseCLIPImageProcessor")
            XCTAssertEqual(try family.textMaxLength(configIn: modelsDirectory.appendingPathComponent(name)),
                           (try ChineseCLIPConfig(contentsOf: modelsDirectory.appendingPathComponent(name)
                               .appendingPathComponent("config.json"))).textConfig.maxPositionEmbeddings)
        }
        XCTAssertEqual(try ChineseCLIPModel.textMaxLength(configIn: modelsDirectory.appendingPathComponent("chinese-clip-full-f16")), 64)
    }

    func testConfigValuesAndDefaults() throws {
        let url = modelsDirectory.appendingPathComponent("chinese-clip-crop/config.json")
        let config = try ChineseCLIPConfig(contentsOf: url)
        XCTAssertEqual(config.projectionDim, 24)
        XCTAssertEqual(config.textConfig.numAttentionHeads, 3)
        XCTAssertEqual(config.textConfig.layerNormEps, 1e-6)
        XCTAssertEqual(config.textConfig.hiddenAct, .gelu)
        XCTAssertEqual(config.visionConfig.hiddenAct, .gelu)
        XCTAssertEqual(config.visionConfig.gridSize, 3)
        XCTAssertEqual(try ChineseCLIPConfig(contentsOf: modelsDirectory.appendingPathComponent("chinese-clip-odd/config.json"))
            .textConfig.hiddenAct, .geluTanh)
        // The OFA-Sys layout: torch_dtype, null text_config_dict / vision_config_dict, BERT keys that do not matter.
        let full = try ChineseCLIPConfig(contentsOf: modelsDirectory.appendingPathComponent("chinese-clip-full-f16/config.json"))
        XCTAssertEqual(full.dtype, "float16")
        XCTAssertEqual(full.textConfig.vocabSize, 21128)
        XCTAssertEqual(full.textConfig.layerNormEps, 1e-12)

        // Missing keys take ChineseCLIPConfig's defaults (text: BERT-base, exact gelu, eps 1e-12; vision: ViT-B/32,
        // quick_gelu, eps 1e-5).
        let minimal = dir.appendingPathComponent("config.json")
        try Data(#"{"model_type": "chinese_clip", "text_config": {"vocab_size": 21128}, "vision_config": null}"#.utf8)
            .write(to: minimal)
        let d = try ChineseCLIPConfig(contentsOf: minimal)
        XCTAssertEqual(d.projectionDim, 512)
        XCTAssertEqual(d.textConfig.vocabSize, 21128)
        XCTAssertEqual([d.textConfig.hiddenSize, d.textConfig.intermediateSize, d.textConfig.numHiddenLayers,
                        d.textConfig.numAttentionHeads, d.textConfig.maxPositionEmbeddings, d.textConfig.typeVocabSize],
                       [768, 3072, 12, 12, 512, 2])
        XCTAssertEqual(d.textConfig.hiddenAct, .gelu)
        XCTAssertEqual(d.textConfig.layerNormEps, 1e-12)
        XCTAssertEqual([d.visionConfig.hiddenSize, d.visionConfig.imageSize, d.visionConfig.patchSize,
                        d.visionConfig.numHiddenLayers], [768, 224, 32, 12])
        XCTAssertEqual(d.visionConfig.hiddenAct, .quickGELU)
        XCTAssertEqual(d.visionConfig.layerNormEps, 1e-5)

        // A non-null text_config_dict replaces text_config, as transformers' ChineseCLIPConfig.__post_init__.
        try Data(#"{"model_type": "chinese_clip", "text_config": {"hidden_size": 64, "num_attention_heads": 4}, "text_config_dict": {"hidden_size": 48}, "vision_config": {"image_size": [48, 48]}}"#.utf8)
            .write(to: minimal)
        let legacy = try ChineseCLIPConfig(contentsOf: minimal)
        XCTAssertEqual(legacy.textConfig.hiddenSize, 48)
        XCTAssertEqual(legacy.textConfig.numAttentionHeads, 12)
        XCTAssertEqual(legacy.visionConfig.imageSize, 48)
    }

    func testConfigErrorsNameTheKey() throws {
        let url = dir.appendingPathComponent("config.json")
        func reason(_ json: String) -> String {
            do {
                try Data(json.utf8).write(to: url)
                _ = try ChineseCLIPConfig(contentsOf: url)
                XCTFail("accepted \(json)")
            } catch ModelError.invalidConfig(let path, let reason) {
                XCTAssertEqual(path, url.path)
                return reason
            } catch {
                XCTFail("\(error)")
            }
            return ""
        }
        XCTAssertEqual(reason(#"{"model_type": "chinese_clip", "text_config": {"hidden_size": "big"}}"#),
                       "text_config.hidden_size should be an integer")
        XCTAssertTrue(reason(#"{"model_type": "chinese_clip", "vision_config": {"hidden_act": "swish"}}"#)
            .contains("vision_config.hidden_act \"swish\" is not supported"))
        XCTAssertTrue(reason(#"{"model_type": "chinese_clip", "vision_config": {"image_size": [32, 48]}}"#)
            .contains("vision_config.image_size"))
        XCTAssertEqual(reason(#"{"model_type": "chinese_clip", "text_config": {"hidden_size": 30, "num_attention_heads": 4}}"#),
                       "text_config.hidden_size 30 is not a multiple of num_attention_heads 4")
        XCTAssertEqual(reason(#"{"model_type": "chinese_clip", "text_config": {"type_vocab_size": 0}}"#),
                       "text_config.type_vocab_size must be positive, found 0")
        XCTAssertEqual(reason(#"{"text_config": {}}"#), "model_type is missing (expected \"chinese_clip\")")
        XCTAssertEqual(reason("[1, 2]"), "top level is not a JSON object")
        XCTAssertTrue(reason("{oops").hasPrefix("not valid JSON"))
        // Integers as transformers reads them: 3.0 is 3, 1.5 is an error naming the key.
        XCTAssertEqual(reason(#"{"model_type": "chinese_clip", "text_config": {"num_hidden_layers": 1.5}}"#),
                       "text_config.num_hidden_layers should be an integer, found 1.5")

        try Data(#"{"model_type": "clip"}"#.utf8).write(to: url)
        XCTAssertThrowsError(try ChineseCLIPConfig(contentsOf: url)) { error in
            XCTAssertEqual(error as? ModelError, .unsupportedModelType(path: url.path, modelType: "clip", supported: ["chinese_clip"]))
        }
        XCTAssertThrowsError(try ChineseCLIPModel(directory: dir.appendingPathComponent("absent"))) { error in
            guard case ModelError.missingFile(let path) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("absent/config.json"))
        }
    }

    func testMissingTensorIsNamed() throws {
        let model = try copyCheckpoint("chinese-clip-crop", to: dir)
        let name = "text_model.encoder.layer.1.attention.self.query.weight"
        try editSafeTensorsHeader(model.appendingPathComponent("model.safetensors")) { header in
            header["renamed.query.weight"] = header.removeValue(forKey: name)
        }
        XCTAssertThrowsError(try ChineseCLIPModel(directory: model)) { error in
            XCTAssertEqual(error as? ModelError, .missingTensor(name: name, expectedShape: [24, 24], checkpoint: model.path))
            XCTAssertTrue("\(error)".contains(name))
        }
        for missing in ["text_model.embeddings.token_type_embeddings.weight", "text_projection.weight",
                        "text_model.encoder.layer.0.output.LayerNorm.bias", "vision_model.pre_layrnorm.weight"] {
            let copy = try copyCheckpoint("chinese-clip-squash", to: dir.appendingPathComponent(UUID().uuidString))
            try editSafeTensorsHeader(copy.appendingPathComponent("model.safetensors")) { header in
                header["other." + missing] = header.removeValue(forKey: missing)
            }
            XCTAssertThrowsError(try ChineseCLIPModel(directory: copy)) { error in
                guard case ModelError.missingTensor(let tensor, _, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(tensor, missing)
            }
        }
    }

    func testWrongShapeIsNamed() throws {
        let model = try copyCheckpoint("chinese-clip-crop", to: dir)
        let config = model.appendingPathComponent("config.json")
        try editJSON(config) { json in
            var text = json["text_config"] as! [String: Any]
            text["intermediate_size"] = 50
            json["text_config"] = text
        }
        XCTAssertThrowsError(try ChineseCLIPModel(directory: model)) { error in
            XCTAssertEqual(error as? ModelError, .wrongShape(
                name: "text_model.encoder.layer.0.intermediate.dense.weight", expected: [50, 24], found: [48, 24],
                checkpoint: model.path))
        }
        try editJSON(config) { json in
            var text = json["text_config"] as! [String: Any]
            text["intermediate_size"] = 48
            text["type_vocab_size"] = 3
            json["text_config"] = text
        }
        XCTAssertThrowsError(try ChineseCLIPModel(directory: model)) { error in
            XCTAssertEqual(error as? ModelError, .wrongShape(
                name: "text_model.embeddings.token_type_embeddings.weight", expected: [3, 24], found: [2, 24],
                checkpoint: model.path))
        }
    }

    /// transformers reports the stored BERT pooler as unexpected keys on every load; it is expected for this
    /// family and not listed. Tensors the config really does not read are.
    func testUnusedTensors() throws {
        for name in chineseCLIPCheckpoints {
            let golden = try ChineseCLIPGolden.load(name)
            XCTAssertTrue(Set(golden.unexpected_keys).isSubset(of: ChineseCLIPModel.unusedPoolerTensors), name)
            XCTAssertEqual(try ChineseCLIPModel(directory: modelsDirectory.appendingPathComponent(name)).unusedTensors, [], name)
        }
        XCTAssertEqual(try ChineseCLIPGolden.load("chinese-clip-crop").unexpected_keys.count, 2)
        let model = try copyCheckpoint("chinese-clip-crop", to: dir)
        try editJSON(model.appendingPathComponent("config.json")) { json in
            var text = json["text_config"] as! [String: Any]
            text["num_hidden_layers"] = 2
            json["text_config"] = text
        }
        let unused = try ChineseCLIPModel(directory: model).unusedTensors
        XCTAssertEqual(unused.count, 16, "\(unused)")
        XCTAssertTrue(unused.allSatisfy { $0.hasPrefix("text_model.encoder.layer.2.") }, "\(unused)")
    }

    func testInvalidInput() throws {
        let model = try ChineseCLIPModel(directory: modelsDirectory.appendingPathComponent("chinese-clip-odd"))
        func message(_ body: () throws -> Any) -> String {
            do { _ = try body() } catch ModelError.invalidInput(let reason) { return reason } catch { XCTFail("\(error)") }
            XCTFail("no error")
            return ""
        }
        XCTAssertEqual(message { try model.textEmbeddings(inputIds: [[101, 102], []]) }, "input_ids row 1 is empty")
        XCTAssertEqual(message { try model.textEmbeddings(inputIds: [[101, 695, 102]]) },
                       "input_ids row 0 contains id 695, outside the vocabulary 0..<695")
        XCTAssertEqual(message { try model.textEmbeddings(inputIds: [Array(repeating: 101, count: 41)]) },
                       "input_ids row 0 has 41 tokens, more than max_position_embeddings 40")
        XCTAssertEqual(message { try model.textEmbeddings(TextBatch(inputIds: [[101, 102]], attentionMask: [[1]])) },
                       "attention_mask row 0 has 1 values, input_ids row 0 2")
        XCTAssertTrue(message { try model.imageEmbeddings(pixelValues: [0, 1], batchSize: 1) }.contains("pixel_values has 2 values"))
        XCTAssertEqual(try model.textEmbeddings(inputIds: []), [])
        XCTAssertEqual(try model.imageEmbeddings(pixelValues: [], batchSize: 0), [])
        // The longest row the position embeddings take is accepted.
        XCTAssertEqual(try model.textEmbeddings(inputIds: [Array(repeating: 101, count: 40)]).count, 1)
    }

    func testInt8StaysClose() throws {
        for name in ["chinese-clip-full-f16", "chinese-clip-crop"] {
            let url = modelsDirectory.appendingPathComponent(name)
            let golden = try ChineseCLIPGolden.load(name)
            let int8 = try ChineseCLIPModel(directory: url, precision: .int8)
            XCTAssertEqual(int8.precision, .int8)
            let image = try int8.imageEmbeddings(pixelValues: try golden.pixelValues(), batchSize: golden.pixel_values_shape[0])
            let text = try int8.textEmbeddings(inputIds: golden.input_ids)
            for (a, b) in zip(image + text, golden.image_embeds + golden.text_embeds) {
                let cosine = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                XCTAssertGreaterThanOrEqual(cosine, 0.99, name)
            }
            XCTAssertGreaterThan(maxAbsDiff(image, golden.image_embeds), 1e-6, "\(name): int8 should differ from float32")
            XCTAssertGreaterThan(maxAbsDiff(text, golden.text_embeds), 1e-6, "\(name): int8 should differ from float32")
        }
    }
}
