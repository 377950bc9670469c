import Foundation
import XCTest
import ZeroShot

/// Chinese-CLIP from text and image files to the pipeline's scores, through the library and the command line,
/// against transformers' zero-shot-image-classification pipeline (Tools/reference/chinese_clip_fixtures.py):
/// Chinese labels with "一张{}的照片。" and the default English template, scores within 1e-5, input_ids identical.
final class ChineseCLIPEndToEndTests: XCTestCase {
    struct Golden: Decodable {
        struct Prediction: Decodable { let label: String; let score: Double }
        struct Case: Decodable {
            let image: String
            let labels: [String]
            let template: String
            let template_given: Bool
            let predictions: [Prediction]
        }
        let images: [String]
        let texts: [String]
        let input_ids: [[Int32]]
        let pipeline: [Case]
    }

    static let checkpoints = [
        "chinese-clip-full-f16", "chinese-clip-crop", "chinese-clip-odd", "chinese-clip-squash", "chinese-clip-no-layers",
    ]

    func golden(_ name: String) throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: fixturesDirectory
            .appendingPathComponent("models/golden/\(name).json")))
    }

    func imageURL(_ golden: Golden, _ c: Golden.Case) throws -> URL {
        fixturesDirectory.appendingPathComponent(try XCTUnwrap(golden.images.first { $0.hasSuffix("/" + c.image) }))
    }

    func check(_ predictions: [(label: String, score: Double)], _ expected: [Golden.Prediction], _ context: String) {
        XCTAssertEqual(predictions.count, expected.count, context)
        for (p, q) in zip(predictions, expected) {
            XCTAssertEqual(p.score, q.score, accuracy: 1e-5, context)
            // Only scores tied within rounding may swap places.
            if p.label != q.label { XCTAssertEqual(p.score, q.score, accuracy: 1e-7, "\(context): order") }
        }
    }

    func testLibrary() throws {
        for name in Self.checkpoints {
            let golden = try golden(name)
            let classifier = try ZeroShotClassifier(directory: fixturesDirectory.appendingPathComponent("models/\(name)"))
            for (text, ids) in zip(golden.texts, golden.input_ids) {
                XCTAssertEqual(classifier.tokenize(text).ids, ids, "\(name): \(text.debugDescription)")
            }
            for c in golden.pipeline {
                let predictions = c.template_given
                    ? try classifier.classify(.file(try imageURL(golden, c)), candidateLabels: c.labels, hypothesisTemplate: c.template)
                    : try classifier.classify(.file(try imageURL(golden, c)), candidateLabels: c.labels)
                check(predictions.map { ($0.label, Double($0.score)) }, c.predictions, "\(name) \(c.image) \(c.labels)")
            }
        }
    }

    func testCommandLine() throws {
        let name = "chinese-clip-full-f16"
        let golden = try golden(name)
        let model = fixturesDirectory.appendingPathComponent("models/\(name)").path
        for c in golden.pipeline.filter({ $0.image == "chelsea.jpg" }) {
            var arguments = ["classify", "--model", model, "--format", "json", "--labels", c.labels.joined(separator: "，")]
            if c.template_given { arguments += ["--template", c.template] }
            let r = try CommandLineTests.runProcess(CommandLineTests.executable, arguments + [try imageURL(golden, c).path])
            XCTAssertEqual(r.status, 0, r.stderr)
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
            let predictions = try XCTUnwrap(json.first?["predictions"] as? [[String: Any]]).map {
                (label: $0["label"] as? String ?? "", score: $0["score"] as? Double ?? .nan)
            }
            check(predictions, c.predictions, "\(name) \(c.labels)")
        }
        let r = try CommandLineTests.runProcess(CommandLineTests.executable, ["tokenize", "--model", model, "一张猫的照片。"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let ids = golden.input_ids[golden.texts.firstIndex(of: "一张猫的照片。")!]
        XCTAssertTrue(r.stdout.contains(ids.map(String.init).joined(separator: ",")), r.stdout)
    }
}
