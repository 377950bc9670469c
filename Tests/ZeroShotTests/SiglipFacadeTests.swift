import Foundation
import XCTest
@testable import ZeroShot

/// SigLIP through the facade, from label strings to the pipeline's sigmoid scores: tokenizer, padding to 64, the
/// attention mask by model_input_names, preprocessing and scoring as transformers' pipeline (goldens from
/// Tools/reference/siglip_fixtures.py).
final class SiglipFacadeTests: XCTestCase {
    struct Golden: Decodable {
        struct Prediction: Decodable { let label: String; let score: Float }
        struct Case: Decodable {
            let image: String
            let labels: [String]
            let template: String
            let predictions: [Prediction]?
            let pipeline_error: String?
        }
        let pipeline_cases: [Case]
    }

    func testClassifierGivesThePipelineScores() throws {
        var compared = 0, failing = 0
        for name in ["siglip-p8-nomask", "siglip-p16-mask-f16", "siglip-p6-pos16"] {
            let data = try Data(contentsOf: fixturesDirectory.appendingPathComponent("models/golden/\(name).json"))
            let golden = try JSONDecoder().decode(Golden.self, from: data)
            let classifier = try ZeroShotClassifier(
                directory: fixturesDirectory.appendingPathComponent("models/\(name)"), options: .init(warn: { _ in }))
            XCTAssertEqual(classifier.model.scoring, .sigmoid)
            for c in golden.pipeline_cases {
                let label = "\(name) \(c.image) \(c.labels)"
                let run = Result {
                    try classifier.classify(.file(fixtureImage(c.image)), candidateLabels: c.labels,
                                            hypothesisTemplate: c.template)
                }
                if c.pipeline_error != nil {
                    // 16 text positions: the pipeline pads to 64 and fails; so does the classifier.
                    XCTAssertThrowsError(try run.get(), label)
                    failing += 1
                    continue
                }
                let got = try run.get(), expected = try XCTUnwrap(c.predictions, label)
                XCTAssertEqual(got.map(\.label), expected.map(\.label), label)
                for (g, e) in zip(got, expected) { XCTAssertEqual(g.score, e.score, accuracy: 1e-5, label) }
                compared += 1
            }
        }
        XCTAssertEqual(compared, 32)
        XCTAssertGreaterThan(failing, 0)
    }
}
