import Foundation
import XCTest
import ZeroShot

final class ModelTypeRegistryTests: XCTestCase {
    private func directory(config: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("registry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        try Data(config.utf8).write(to: dir.appendingPathComponent("config.json"))
        return dir
    }

    func testUnknownModelTypeIsNamedWithTheSupportedOnes() throws {
        let dir = try directory(config: #"{"model_type": "blip"}"#)
        XCTAssertThrowsError(try ModelTypeRegistry.load(directory: dir)) { error in
            XCTAssertEqual(error as? ModelError, .unsupportedModelType(
                path: dir.appendingPathComponent("config.json").path, modelType: "blip",
                supported: ModelTypeRegistry.supportedModelTypes))
            let text = error.localizedDescription
            XCTAssertTrue(text.contains("\"blip\"") && text.contains("\"clip\""), text)
        }
    }

    func testMissingOrMalformedModelType() throws {
        for (config, expected) in [(#"{"projection_dim": 8}"#, "model_type is missing"),
                                   (#"{"model_type": 3}"#, "model_type should be a string"),
                                   (#"[1, 2]"#, "top level is not a JSON object"),
                                   (#"{"model_type": "#, "not valid JSON")] {
            let dir = try directory(config: config)
            XCTAssertThrowsError(try ModelTypeRegistry.family(directory: dir), config) { error in
                guard case ModelError.invalidConfig(_, let reason) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.contains(expected), reason)
            }
        }
    }

    func testEachFamilyIsRegisteredUnderItsModelType() {
        for (type, family) in ModelTypeRegistry.families { XCTAssertEqual(family.modelType, type) }
        XCTAssertTrue(ModelTypeRegistry.supportedModelTypes.contains("clip"))
    }
}
