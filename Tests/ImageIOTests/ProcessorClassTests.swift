import Foundation
import XCTest
@testable import ImageIO

/// The defaults of each image processor class for keys a preprocessor_config.json leaves out, against
/// transformers' AutoImageProcessor (Tests/Fixtures/processor_classes.json, Tools/reference/processor_class_fixtures.py).
extension PreprocessTests {
    struct ProcessorClassFixture: Decodable {
        struct Case: Decodable {
            let `case`: String
            let model_type: String
            let config: String
            let `class`: String?
            let load_error: String?
            let results: [PreprocessTests.Combinations.Result]?
        }
        let cases: [Case]
    }

    /// The class a model family falls back on, as transformers maps config.json's model_type.
    static func familyClass(_ modelType: String) -> ImageProcessorClass {
        switch modelType {
        case "siglip": return .siglip
        case "chinese_clip": return .chineseCLIP
        default: return .clip
        }
    }

    func testProcessorClassDefaultsFillMissingKeysAsTransformers() throws {
        let data = try Data(contentsOf: fixturesDirectory.appendingPathComponent("processor_classes.json"))
        let fixture = try JSONDecoder().decode(ProcessorClassFixture.self, from: data)
        XCTAssertGreaterThanOrEqual(fixture.cases.count, 15)
        let manifest = try loadManifest()
        var images = 0
        for c in fixture.cases {
            let decoder = JSONDecoder()
            decoder.userInfo[ImageProcessorClass.userInfoKey] = Self.familyClass(c.model_type)
            let decoded = Result { try decoder.decode(ImageProcessorConfig.self, from: Data(c.config.utf8)) }
            if let loadError = c.load_error {
                XCTAssertThrowsError(try decoded.get(), "\(c.case): transformers refuses it (\(loadError))")
                continue
            }
            let processor = ImageProcessor(config: try decoded.get())
            for r in try XCTUnwrap(c.results, c.case) {
                let label = "\(c.case)/\(r.input)", img = try image(r.input, manifest)
                if let kind = r.error {
                    XCTAssertThrowsError(try processor.preprocess(img), label) {
                        XCTAssertEqual(PreprocessTests.kind($0), kind, "\(label): \($0)")
                    }
                    continue
                }
                let out = try processor.preprocess(img)
                XCTAssertEqual([3, out.height, out.width], r.shape, label)
                XCTAssertEqual(PreprocessTests.fnv1a64(out.values), r.fnv1a64, "\(label): pixel_values differ")
                images += 1
            }
        }
        XCTAssertGreaterThan(images, 40)
    }

    func testProcessorClassNamesAsTheFilesWriteThem() {
        XCTAssertEqual(ImageProcessorClass(typeName: "SiglipImageProcessorFast"), .siglip)
        XCTAssertEqual(ImageProcessorClass(typeName: "ChineseCLIPFeatureExtractor"), .chineseCLIP)
        XCTAssertEqual(ImageProcessorClass(typeName: "CLIPFeatureExtractor"), .clip)
        XCTAssertNil(ImageProcessorClass(typeName: "ViTImageProcessor"))
    }

    func testAnUnsupportedProcessorClassIsNamed() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pp-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(#"{"image_processor_type": "BlipImageProcessor"}"#.utf8).write(to: url)
        XCTAssertThrowsError(try ImageProcessor(contentsOf: url, processorClass: .siglip)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("BlipImageProcessor") && text.contains("SiglipImageProcessor")
                          && text.contains(url.path), text)
        }
    }
}
