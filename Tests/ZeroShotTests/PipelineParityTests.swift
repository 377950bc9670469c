import Foundation
import XCTest
@testable import ZeroShot

/// Parity with transformers' zero-shot-image-classification pipeline on real photos, for every tiny checkpoint
/// (golden files written by Tools/reference/pipeline_fixtures.py).
final class PipelineParityTests: XCTestCase {
    struct Golden: Decodable {
        struct Case: Decodable {
            struct Item: Decodable { let label: String; let score: Double }
            let image: String
            let labels: [String]
            let template: String
            let predictions: [Item]
            let logits: [Double]
        }
        let model: String
        let image_embeddings: [String: [Double]]
        let cases: [Case]
    }

    static var pipelineDirectory: URL { fixturesDirectory.appendingPathComponent("pipeline") }

    func goldenFiles() throws -> [URL] {
        let files = try FileManager.default.contentsOfDirectory(at: Self.pipelineDirectory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }.sorted { $0.path < $1.path }
        XCTAssertGreaterThanOrEqual(files.count, 3, "expected golden files for several checkpoints")
        return files
    }

    func testPipelineScoresMatchTransformers() throws {
        var worstScore = 0.0, worstLogit = 0.0, compared = 0
        for file in try goldenFiles() {
            let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: file))
            let classifier = try ZeroShotClassifier(
                directory: fixturesDirectory.appendingPathComponent("models").appendingPathComponent(golden.model))
            for c in golden.cases {
                let url = Self.pipelineDirectory.appendingPathComponent("images").appendingPathComponent(c.image)
                let predictions = try classifier.classify(.file(url), candidateLabels: c.labels, hypothesisTemplate: c.template)
                let context = "\(golden.model) \(c.image) \(c.labels)"
                XCTAssertEqual(predictions.map(\.label), c.predictions.map(\.label), context)
                for (p, g) in zip(predictions, c.predictions) {
                    worstScore = max(worstScore, abs(Double(p.score) - g.score))
                    XCTAssertEqual(Double(p.score), g.score, accuracy: 1e-5, context)
                }
                // logits in label order
                for (label, logit) in zip(c.labels, c.logits) {
                    let p = predictions.first { $0.label == label }!
                    worstLogit = max(worstLogit, abs(Double(p.logit) - logit))
                    XCTAssertEqual(Double(p.logit), logit, accuracy: 1e-3, context)
                }
                compared += 1
            }
        }
        print("pipeline parity: \(compared) cases, max |score diff| \(worstScore), max |logit diff| \(worstLogit)")
        XCTAssertGreaterThan(compared, 20)
    }

    func testImageEmbeddingsFromFilesMatchTransformers() throws {
        var worst = 0.0
        for file in try goldenFiles() {
            let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: file))
            let classifier = try ZeroShotClassifier(
                directory: fixturesDirectory.appendingPathComponent("models").appendingPathComponent(golden.model))
            let names = golden.image_embeddings.keys.sorted()
            let urls = names.map { Self.pipelineDirectory.appendingPathComponent("images").appendingPathComponent($0) }
            let results = classifier.imageEmbeddings(urls.map { .file($0) })
            for (name, result) in zip(names, results) {
                let embedding = try result.get()
                let expected = golden.image_embeddings[name]!
                XCTAssertEqual(embedding.count, expected.count)
                for (a, b) in zip(embedding, expected) {
                    worst = max(worst, abs(Double(a) - b))
                }
            }
        }
        print("image embeddings from files: max |diff| \(worst)")
        XCTAssertLessThanOrEqual(worst, 1e-4)
    }
}
