import Foundation
import XCTest
@testable import Evaluation
import ZeroShot

/// The repository's committed fixtures (Tests/Fixtures), located from this source file.
let fixturesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")
let evalFixtures = fixturesDirectory.appendingPathComponent("eval")

/// A golden of Tools/reference/eval_fixtures.py: transformers' logits, scores and top-5 per image, and scikit-learn's
/// metrics, for one checkpoint on one fixture dataset.
struct EvalGolden: Decodable {
    struct Image: Decodable {
        let image: String
        let true_class: Int
        let top5: [Int]
        let top5_scores: [Float]
        let true_score: Float
        let logits: [String: Float]
    }
    let checkpoint: String
    let dataset: String
    let classnames: String?
    let templates: String?
    let template_list: [String]
    let min_top6_logit_gap: Double
    let classes: [String]
    let images: [Image]
    let n: Int
    let top1: Double
    let top5: Double
    let mean_per_class_recall: Double
    let precision: [Double]
    let recall: [Double]
    let support: [Int]
    let confusion: [[Int]]

    static func all() throws -> [(String, EvalGolden)] {
        let dir = evalFixtures.appendingPathComponent("golden")
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted()
            .map { ($0, try JSONDecoder().decode(EvalGolden.self, from: Data(contentsOf: dir.appendingPathComponent($0)))) }
    }

    /// The template-set argument of `--templates` (a file relative to the fixtures), or nil for the default template.
    var templatesArgument: String? {
        guard let templates else { return nil }
        return PromptSets.templateSetNames.contains(templates) ? templates : evalFixtures.appendingPathComponent(templates).path
    }

    /// The `--classnames` argument: a built-in set name or a file relative to the fixtures.
    var classnamesArgument: String? {
        guard let classnames else { return nil }
        return PromptSets.classNameSetNames.contains(classnames) ? classnames : evalFixtures.appendingPathComponent(classnames).path
    }

    /// The dense confusion matrix from the golden's non-zero [true, predicted, count] cells.
    var denseConfusion: [[Int]] {
        var m = [[Int]](repeating: [Int](repeating: 0, count: classes.count), count: classes.count)
        for cell in confusion { m[cell[0]][cell[1]] = cell[2] }
        return m
    }
}

/// `Evaluator` against transformers and scikit-learn on foolbox's samples (ImageNet, CIFAR-10/100, MNIST,
/// Fashion-MNIST) with CLIP, SigLIP and Chinese-CLIP fixture checkpoints.
final class EvalParityTests: XCTestCase {
    func testGoldensCoverEveryFamilyAndLayout() throws {
        let goldens = try EvalGolden.all().map(\.1)
        XCTAssertEqual(Set(goldens.map(\.checkpoint)), ["tiny-p8-quickgelu", "siglip-p16-mask-f16", "chinese-clip-crop"])
        XCTAssertEqual(Set(goldens.map(\.dataset)), ["cifar10", "fashion-mnist", "cifar100.jsonl", "imagenet.csv", "mnist.csv"])
        // The comparison at 1e-4 decides the same top-5: no two of an image's 6 best logits are that close.
        for g in goldens { XCTAssertGreaterThan(g.min_top6_logit_gap, 1e-3, "\(g.checkpoint) \(g.dataset)") }
    }

    func testEvaluatorMatchesTransformersAndScikitLearn() throws {
        for (file, g) in try EvalGolden.all() {
            let classifier = try ZeroShotClassifier(directory: fixturesDirectory.appendingPathComponent("models/\(g.checkpoint)"),
                                                    options: .init(warn: { _ in }))
            let names = try g.classnamesArgument.map { try PromptSets.classNames($0) }
            let dataset = try EvalDataset.load(evalFixtures.appendingPathComponent(g.dataset).path, classCount: names?.count)
            let classes = try displayNames(names, for: dataset, builtIn: g.classnames.map(PromptSets.classNameSetNames.contains) ?? false)
            XCTAssertEqual(classes, g.classes, file)
            let templates = try g.templatesArgument.map { try PromptSets.templates($0) } ?? [ZeroShotClassifier.defaultHypothesisTemplate]
            XCTAssertEqual(templates, g.template_list, file)
            var logits: [[Float]] = []
            let outcome = try Evaluator(classifier: classifier, templates: templates)
                .run(dataset, classNames: classes, promptNames: names, record: { _, l in logits.append(l) })
            XCTAssertEqual(outcome.failed, [], file)
            let r = outcome.result
            XCTAssertEqual(r.records.map(\.image), g.images.map(\.image), file)
            var worst: Float = 0
            for (i, (record, expected)) in zip(r.records, g.images).enumerated() {
                XCTAssertEqual(record.trueClass, expected.true_class, "\(file) \(expected.image)")
                XCTAssertEqual(record.topClasses, expected.top5, "\(file) \(expected.image)")
                for (k, value) in expected.logits {
                    worst = max(worst, abs(logits[i][Int(k)!] - value))
                }
                for (s, e) in zip(record.topScores, expected.top5_scores) {
                    XCTAssertEqual(s, e, accuracy: 1e-5, "\(file) \(expected.image)")
                }
                XCTAssertEqual(record.trueScore, expected.true_score, accuracy: 1e-5, "\(file) \(expected.image)")
            }
            XCTAssertLessThanOrEqual(worst, 1e-4, file)
            XCTAssertEqual(r.n, g.n, file)
            XCTAssertEqual(r.confusion, g.denseConfusion, file)
            XCTAssertEqual(r.top1, g.top1, accuracy: 1e-12, file)
            XCTAssertEqual(r.top5, g.top5, accuracy: 1e-12, file)
            XCTAssertEqual(r.meanPerClassRecall, g.mean_per_class_recall, accuracy: 1e-12, file)
            XCTAssertEqual(r.perClass.map(\.n), g.support, file)
            for (m, (p, rc)) in zip(r.perClass, zip(g.precision, g.recall)) {
                XCTAssertEqual(m.precision, p, accuracy: 1e-12, file)
                XCTAssertEqual(m.recall, rc, accuracy: 1e-12, file)
            }
        }
    }
}
