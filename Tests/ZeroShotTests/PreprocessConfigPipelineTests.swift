import Foundation
import XCTest
@testable import ZeroShot

/// preprocessor_config.json files that do not give every image the vision model's size (no center crop, no resize,
/// another crop size, a size the resize cannot use) load as in transformers and fail image by image, the others in
/// the same batch still classified (golden files written by Tools/reference/preprocess_pipeline_fixtures.py).
final class PreprocessConfigPipelineTests: XCTestCase {
    struct Golden: Decodable {
        struct Item: Decodable { let label: String; let score: Double }
        struct Result: Decodable {
            let image: String
            let predictions: [Item]?
            let error: String?
            let message: String?
        }
        struct Case: Decodable {
            let `case`: String
            let config: String
            let results: [Result]
        }
        let model: String
        let labels: [String]
        let template: String
        let cases: [Case]
    }

    final class Warnings: @unchecked Sendable {
        private let lock = NSLock()
        private var messages: [String] = []
        func append(_ message: String) { lock.lock(); messages.append(message); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return messages }
    }

    /// A copy of the golden's checkpoint whose preprocessor_config.json is `config`.
    func modelDirectory(_ model: String, config: String) throws -> URL {
        let source = fixturesDirectory.appendingPathComponent("models").appendingPathComponent(model)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zs-preprocess-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where name != "preprocessor_config.json" {
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent(name),
                                                       withDestinationURL: source.appendingPathComponent(name))
        }
        try Data(config.utf8).write(to: dir.appendingPathComponent("preprocessor_config.json"))
        return dir
    }

    func kind(_ error: Error) -> String {
        guard let e = error as? ImagePreprocessingError else { return "\(type(of: error))" }
        switch e {
        case .missingValue: return "missingValue"
        case .notResizable: return "notResizable"
        case .emptyResize: return "emptyResize"
        case .cropSizeWithoutHeightAndWidth: return "cropSizeWithoutHeightAndWidth"
        case .sizeMismatch: return "sizeMismatch"
        case let .unusableValue(key, _, _, _): return "unusableValue:\(key)"
        case .padSmallerThanImage: return "padSmallerThanImage"
        case .tooLarge: return "tooLarge"
        }
    }

    func testEachImageSucceedsOrFailsAsInTransformers() throws {
        let url = fixturesDirectory.appendingPathComponent("pipeline/preprocess/cases.json")
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
        XCTAssertGreaterThanOrEqual(golden.cases.count, 8)
        var classified = 0, failed = 0, mixedCases = 0, worst = 0.0
        for c in golden.cases {
            let dir = try modelDirectory(golden.model, config: c.config)
            defer { try? FileManager.default.removeItem(at: dir) }
            let warnings = Warnings()
            // Batches of 4 mix images that fit with images that fail.
            let classifier = try ZeroShotClassifier(
                directory: dir, options: .init(batchSize: 4, warn: { warnings.append($0) }))
            let inputs = c.results.map { ImageInput.file(fixtureImage($0.image)) }
            let results = try classifier.classify(inputs, candidateLabels: golden.labels, hypothesisTemplate: golden.template)
            XCTAssertEqual(results.count, c.results.count)
            for (expected, result) in zip(c.results, results) {
                let context = "\(c.case) \(expected.image)"
                switch (expected.predictions, result) {
                case let (predictions?, .success(got)):
                    classified += 1
                    XCTAssertEqual(got.map(\.label), predictions.map(\.label), context)
                    for (p, g) in zip(got, predictions) {
                        worst = max(worst, abs(Double(p.score) - g.score))
                        XCTAssertEqual(Double(p.score), g.score, accuracy: 1e-5, context)
                    }
                case let (nil, .failure(error)):
                    failed += 1
                    XCTAssertEqual(kind(error), expected.error, "\(context): \(error)")
                    if expected.error == "sizeMismatch", let message = expected.message {
                        // transformers' own sentence, with the same sizes.
                        XCTAssertTrue("\(error)".contains(message), "\(context): \(error) should quote \(message)")
                    }
                case let (predictions?, .failure(error)):
                    XCTFail("\(context): transformers gives \(predictions.map(\.label)), zeroshot fails: \(error)")
                case let (nil, .success(got)):
                    XCTFail("\(context): transformers fails (\(expected.message ?? "")), zeroshot gives \(got)")
                }
            }
            let succeeded = c.results.filter { $0.predictions != nil }.count
            if succeeded > 0 && succeeded < c.results.count { mixedCases += 1 }
            // A config with which every image fails is said once, when loading.
            if succeeded == 0 {
                XCTAssertEqual(warnings.all.count, 1, "\(c.case): \(warnings.all)")
                XCTAssertTrue(warnings.all.first?.contains("every image will fail") == true, "\(c.case): \(warnings.all)")
            } else {
                XCTAssertEqual(warnings.all, [], c.case)
            }
        }
        print("preprocess configs through the pipeline: \(classified) images classified, \(failed) failed as in "
              + "transformers, max |score diff| \(worst)")
        XCTAssertGreaterThanOrEqual(mixedCases, 3)
        XCTAssertGreaterThan(classified, 20)
        XCTAssertGreaterThan(failed, 20)
    }

    /// The issue's case: no center crop and shortest edge 32 with a 32-pixel vision model. A square image gets scores
    /// alone too; a non-square one fails alone with the sizes in the message, and pixelValues fails the same way.
    func testNoCenterCropSquareImageScoresAndOtherFails() throws {
        let source = fixturesDirectory.appendingPathComponent("models/tiny-p8-quickgelu/preprocessor_config.json")
        var config = try String(contentsOf: source, encoding: .utf8)
        config = config.replacingOccurrences(of: "\"do_center_crop\": true", with: "\"do_center_crop\": false")
        XCTAssertTrue(config.contains("\"do_center_crop\": false"))
        let dir = try modelDirectory("tiny-p8-quickgelu", config: config)
        defer { try? FileManager.default.removeItem(at: dir) }
        let classifier = try ZeroShotClassifier(directory: dir, options: .init(warn: { XCTFail("unexpected warning \($0)") }))
        XCTAssertNil(classifier.imageProcessor.fixedOutputSize)
        let square = try classifier.classify(.file(fixtureImage("imagenet_00_243.jpg")), candidateLabels: ["cat", "dog"])
        XCTAssertEqual(square.count, 2)
        XCTAssertEqual(try classifier.pixelValues(.file(fixtureImage("imagenet_00_243.jpg"))).count, 3 * 32 * 32)
        // coffee.webp is 300 x 200: shortest edge 32 gives 32 x 48.
        let expected = ImagePreprocessingError.sizeMismatch(height: 32, width: 48, modelHeight: 32, modelWidth: 32)
        XCTAssertThrowsError(try classifier.classify(.file(fixtureImage("coffee.webp")), candidateLabels: ["cat", "dog"])) {
            XCTAssertEqual($0 as? ImagePreprocessingError, expected)
            XCTAssertTrue("\($0)".contains("Input image size (32*48) doesn't match model (32*32)."), "\($0)")
        }
        XCTAssertThrowsError(try classifier.pixelValues(.file(fixtureImage("coffee.webp")))) {
            XCTAssertEqual($0 as? ImagePreprocessingError, expected)
        }
    }
}
