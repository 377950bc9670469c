import Foundation
import SafeTensors
import XCTest

@testable import CLIP
@testable import Layers

final class CLIPErrorTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-\(UUID().uuidString)")
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

    func testMissingConfig() throws {
        XCTAssertThrowsError(try CLIPModel(directory: dir)) { error in
            XCTAssertEqual(error as? ModelError, .missingFile(path: dir.appendingPathComponent("config.json").path))
            XCTAssertTrue("\(error)".contains("config.json"))
        }
    }

    func testMissingWeights() throws {
        let model = try copyFixture("tiny-p8-quickgelu")
        try FileManager.default.removeItem(at: model.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try CLIPModel(directory: model)) { error in
            guard case ModelError.missingFile(let path) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(path.contains("model.safetensors"))
        }
    }

    func testUnsupportedModelType() throws {
        let model = try copyFixture("tiny-p8-quickgelu")
        let config = model.appendingPathComponent("config.json")
        try editJSON(config) { $0["model_type"] = "siglip" }
        XCTAssertThrowsError(try CLIPModel(directory: model)) { error in
            XCTAssertEqual(error as? ModelError, .unsupportedModelType(path: config.path, modelType: "siglip", supported: ["clip"]))
            XCTAssertTrue("\(error)".contains("siglip"))
        }
        try editJSON(config) { $0.removeValue(forKey: "model_type") }
        XCTAssertThrowsError(try CLIPModel(directory: model)) { error in
            guard case ModelError.invalidConfig(_, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("model_type"))
        }
        try Data("{oops".utf8).write(to: config)
        XCTAssertThrowsError(try CLIPModel(directory: model)) { error in
            guard case ModelError.invalidConfig = error else { return XCTFail("\(error)") }
        }
    }

    func testWrongShape() throws {
        let model = try copyFixture("tiny-p8-quickgelu")
        try editJSON(model.appendingPathComponent("config.json")) { $0["projection_dim"] = 17 }
        XCTAssertThrowsError(try CLIPModel(directory: model)) { error in
            XCTAssertEqual(error as? ModelError, .wrongShape(
                name: "visual_projection.weight", expected: [17, 32], found: [16, 32], checkpoint: model.path))
            let text = "\(error)"
            XCTAssertTrue(text.contains("visual_projection.weight") && text.contains("[17, 32]") && text.contains("[16, 32]"))
        }
        try editJSON(model.appendingPathComponent("config.json")) { json in
            json["projection_dim"] = 16
            var text = json["text_config"] as! [String: Any]
            text["max_position_embeddings"] = 64
            json["text_config"] = text
        }
        XCTAssertThrowsError(try CLIPModel(directory: model)) { error in
            XCTAssertEqual(error as? ModelError, .wrongShape(
                name: "text_model.embeddings.position_embedding.weight", expected: [64, 32], found: [77, 32],
                checkpoint: model.path))
        }
    }

    func testTensorsTheConfigDoesNotReadAreReported() throws {
        XCTAssertEqual(try CLIPModel(directory: modelsDirectory.appendingPathComponent("tiny-p8-quickgelu")).unusedTensors, [])
        XCTAssertEqual(try CLIPModel(directory: modelsDirectory.appendingPathComponent("tiny-sharded")).unusedTensors, [])
        // A config with one vision layer fewer than stored: the second layer's 16 tensors are not read.
        let model = try copyFixture("tiny-p8-quickgelu")
        try editJSON(model.appendingPathComponent("config.json")) { json in
            var vision = json["vision_config"] as! [String: Any]
            vision["num_hidden_layers"] = 1
            json["vision_config"] = vision
        }
        let unused = try CLIPModel(directory: model).unusedTensors
        XCTAssertEqual(unused.count, 16, "\(unused)")
        XCTAssertTrue(unused.allSatisfy { $0.hasPrefix("vision_model.encoder.layers.1.") }, "\(unused)")
        XCTAssertEqual(unused, unused.sorted())
    }

    func testATensorAShardHoldsOutsideItsIndexIsReported() throws {
        // transformers reads every tensor of every shard, listed in the index or not.
        let model = try copyFixture("tiny-sharded")
        let index = try JSONSerialization.jsonObject(
            with: Data(contentsOf: model.appendingPathComponent("model.safetensors.index.json"))) as! [String: Any]
        let shard = model.appendingPathComponent(Set((index["weight_map"] as! [String: String]).values).sorted()[0])
        let bytes = try Data(contentsOf: shard)
        let headerLength = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian })
        var header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        let dataLength = bytes.count - 8 - headerLength
        header["extra.hidden_in_shard"] = ["dtype": "F32", "shape": [3], "data_offsets": [dataLength, dataLength + 12]]
        let newHeader = try JSONSerialization.data(withJSONObject: header)
        var out = Data()
        withUnsafeBytes(of: UInt64(newHeader.count).littleEndian) { out.append(contentsOf: $0) }
        out += newHeader + bytes.subdata(in: (8 + headerLength)..<bytes.count) + Data(count: 12)
        try out.write(to: shard)
        XCTAssertEqual(try CLIPModel(directory: model).unusedTensors, ["extra.hidden_in_shard"])
    }

    func testMissingTensor() throws {
        let model = try copyFixture("tiny-sharded")
        let name = "vision_model.encoder.layers.1.mlp.fc2.bias"
        try editJSON(model.appendingPathComponent("model.safetensors.index.json")) { json in
            var map = json["weight_map"] as! [String: String]
            map.removeValue(forKey: name)
            json["weight_map"] = map
        }
        XCTAssertThrowsError(try CLIPModel(directory: model)) { error in
            XCTAssertEqual(error as? ModelError, .missingTensor(name: name, expectedShape: [32], checkpoint: model.path))
            XCTAssertTrue("\(error)".contains(name))
        }
    }

    func testHostileWeights() throws {
        let model = try copyFixture("tiny-p8-quickgelu")
        var bytes = Data()
        withUnsafeBytes(of: UInt64(1 << 62).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array("{}".utf8))
        try bytes.write(to: model.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try CLIPModel(directory: model)) { error in
            guard case SafeTensorsError.invalidHeader(let path, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("model.safetensors"))
        }
        // Truncated file: the header promises data that is not there.
        let original = try Data(contentsOf: modelsDirectory.appendingPathComponent("tiny-p8-quickgelu/model.safetensors"))
        try original.prefix(original.count / 2).write(to: model.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try CLIPModel(directory: model)) { error in
            guard case SafeTensorsError.invalidHeader = error else { return XCTFail("\(error)") }
        }
    }

    func testInvalidInputs() throws {
        let model = try CLIPModel(directory: modelsDirectory.appendingPathComponent("tiny-p8-quickgelu"))
        XCTAssertThrowsError(try model.imageEmbeddings(pixelValues: [Float](repeating: 0, count: 10), batchSize: 1)) { error in
            guard case ModelError.invalidInput(let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("3072"))
        }
        XCTAssertEqual(try model.imageEmbeddings(pixelValues: [], batchSize: 0).count, 0)
        XCTAssertThrowsError(try model.textEmbeddings(inputIds: [[1512, 1513], []]))
        XCTAssertThrowsError(try model.textEmbeddings(inputIds: [[1512, 1514]])) { error in
            XCTAssertTrue("\(error)".contains("1514"))
        }
        XCTAssertThrowsError(try model.textEmbeddings(inputIds: [[-1]]))
        XCTAssertThrowsError(try model.textEmbeddings(inputIds: [[Int32]](repeating: [Int32](repeating: 5, count: 78), count: 1))) { error in
            XCTAssertTrue("\(error)".contains("78"))
        }
        XCTAssertEqual(try model.textEmbeddings(inputIds: []).count, 0)
        let e = try model.textEmbeddings(inputIds: [[1512, 1513]])
        XCTAssertEqual(e[0].count, 16)
        XCTAssertEqual(e[0].reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
    }
}

final class CLIPConfigTests: XCTestCase {
    func testDefaultsAreViTB32() throws {
        let config = try CLIPConfig(json: ["model_type": "clip"])
        XCTAssertEqual(config.projectionDim, 512)
        XCTAssertEqual(config.textConfig.vocabSize, 49408)
        XCTAssertEqual(config.textConfig.hiddenSize, 512)
        XCTAssertEqual(config.textConfig.intermediateSize, 2048)
        XCTAssertEqual(config.textConfig.numHiddenLayers, 12)
        XCTAssertEqual(config.textConfig.numAttentionHeads, 8)
        XCTAssertEqual(config.textConfig.maxPositionEmbeddings, 77)
        XCTAssertEqual(config.textConfig.eosTokenId, 49407)
        XCTAssertEqual(config.textConfig.bosTokenId, 49406)
        XCTAssertEqual(config.textConfig.padTokenId, 1)
        XCTAssertEqual(config.textConfig.hiddenAct, .quickGELU)
        XCTAssertEqual(config.textConfig.layerNormEps, 1e-5)
        XCTAssertEqual(config.visionConfig.hiddenSize, 768)
        XCTAssertEqual(config.visionConfig.intermediateSize, 3072)
        XCTAssertEqual(config.visionConfig.numHiddenLayers, 12)
        XCTAssertEqual(config.visionConfig.numAttentionHeads, 12)
        XCTAssertEqual(config.visionConfig.imageSize, 224)
        XCTAssertEqual(config.visionConfig.patchSize, 32)
        XCTAssertEqual(config.visionConfig.numPositions, 50)
        XCTAssertEqual(config.logitScaleInitValue, 2.6592)
        XCTAssertNil(config.dtype)
    }

    func testLegacyKeys() throws {
        // Old configs: `text_config_dict` (non-null) replaces `text_config`; `torch_dtype`; null sections.
        let config = try CLIPConfig(json: [
            "model_type": "clip", "torch_dtype": "float16",
            "text_config": ["hidden_size": 64, "eos_token_id": 49407],
            "text_config_dict": ["hidden_size": 256, "eos_token_id": 2, "hidden_act": "gelu"],
            "vision_config": NSNull(), "vision_config_dict": NSNull(),
        ])
        XCTAssertEqual(config.dtype, "float16")
        XCTAssertEqual(config.textConfig.hiddenSize, 256)
        XCTAssertEqual(config.textConfig.eosTokenId, 2)
        XCTAssertEqual(config.textConfig.hiddenAct, .gelu)
        XCTAssertEqual(config.visionConfig.hiddenSize, 768)
        let both = try CLIPConfig(json: ["model_type": "clip", "dtype": "bfloat16", "torch_dtype": "float32",
                                         "text_config": ["eos_token_id": [49407, 1]],
                                         "vision_config": ["image_size": [336, 336], "patch_size": 14]])
        XCTAssertEqual(both.dtype, "bfloat16")
        XCTAssertEqual(both.textConfig.eosTokenId, 49407)
        XCTAssertEqual(both.visionConfig.imageSize, 336)
        XCTAssertEqual(both.visionConfig.gridSize, 24)
    }

    func testInvalidValues() {
        func reason(_ json: [String: Any]) -> String? {
            do { _ = try CLIPConfig(json: json); return nil } catch { return "\(error)" }
        }
        XCTAssertTrue(reason(["model_type": "clip", "text_config": ["hidden_act": "swish"]])?.contains("swish") ?? false)
        XCTAssertTrue(reason(["model_type": "clip", "projection_dim": "512"])?.contains("projection_dim") ?? false)
        XCTAssertTrue(reason(["model_type": "clip", "projection_dim": 1.5])?.contains("projection_dim") ?? false)
        XCTAssertTrue(reason(["model_type": "clip", "projection_dim": true])?.contains("projection_dim") ?? false)
        XCTAssertTrue(reason(["model_type": "clip", "vision_config": ["hidden_size": 100, "num_attention_heads": 12]])?
            .contains("multiple") ?? false)
        XCTAssertTrue(reason(["model_type": "clip", "vision_config": ["image_size": [224, 336]]])?.contains("square") ?? false)
        XCTAssertTrue(reason(["model_type": "clip", "vision_config": ["patch_size": 0]])?.contains("patch_size") ?? false)
        XCTAssertTrue(reason(["model_type": "clip", "text_config": 3])?.contains("text_config") ?? false)
        XCTAssertTrue(reason(["model_type": "clip_vision_model"])?.contains("clip_vision_model") ?? false)
        XCTAssertTrue(reason(["model_type": "clip", "vision_config": ["num_channels": 100_000_000_000_000]])?
            .contains("vision_config.num_channels 100000000000000 is larger than supported") ?? false)
        XCTAssertTrue(reason(["model_type": "clip", "text_config": ["num_attention_heads": 1 << 21, "hidden_size": 1 << 21]])?
            .contains("larger than supported") ?? false)
    }

    func testOperationCountOfTheLargestAcceptedConfig() throws {
        // Every size at the loader's limit: the count is a Double and does not overflow.
        let limit = 1 << 20
        let config = try CLIPConfig(json: ["model_type": "clip", "projection_dim": limit, "vision_config": [
            "hidden_size": limit, "intermediate_size": limit, "num_hidden_layers": limit, "num_attention_heads": 1,
            "num_channels": limit, "image_size": limit, "patch_size": 1]])
        let n = Double(limit) * Double(limit) + 1, h = Double(limit)
        let expected = (n - 1) * h * h + h * (4 * n * h * h + 2 * n * h * h + 2 * n * n * h) + h * h
        XCTAssertEqual(config.imageMultiplyAdds, expected, accuracy: expected * 1e-12)
        XCTAssertTrue(config.imageMultiplyAdds.isFinite)
    }
}

extension CLIPConfig {
    /// The config of a JSON object built in a test.
    init(json: [String: Any]) throws {
        try self.init(data: try JSONSerialization.data(withJSONObject: json))
    }
}
