import Foundation
import XCTest
import Layers
@testable import ZeroShot

/// `ScoringRule`: --threshold and --multi-label through the facade and the command line. Expected scores are computed
/// here in Double from logits_per_image (transformers' goldens, or the pipeline logits of the same run).
final class ThresholdMultiLabelTests: XCTestCase {
    struct Golden: Decodable {
        let texts: [String]
        let logit_scale: Double
        let image_embeds: [[Float]]
        let text_embeds: [[Float]]
        let logits_per_image: [[Double]]
    }

    func golden(_ name: String) throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: fixturesDirectory
            .appendingPathComponent("models/golden/\(name).json")))
    }

    /// sigmoid((cos - τ) · exp(logit_scale)), cos = logit / exp(logit_scale) (CLIP has no logit_bias).
    static func multiLabelScore(logit: Double, logitScale: Double, tau: Double) -> Double {
        let scale = Foundation.exp(logitScale)
        return 1 / (1 + Foundation.exp(-(logit / scale - tau) * scale))
    }

    func testCLIPMultiLabelScoresFromTransformersLogits() throws {
        for name in ["tiny-p8-quickgelu", "tiny-p16-gelu", "chinese-clip-crop"] {
            let g = try golden(name)
            let classifier = try ZeroShotClassifier(directory: fixturesDirectory.appendingPathComponent("models/\(name)"),
                                                    options: .init(warn: { _ in }))
            XCTAssertEqual(classifier.model.scoring, .softmax, name)
            for tau: Float in [0.05, -0.1, ScoringRule.defaultMinSimilarity] {
                let rule = try ScoringRule(multiLabel: true, minSimilarity: tau == ScoringRule.defaultMinSimilarity ? nil : tau)
                let rows = try classifier.predictions(imageEmbeddings: g.image_embeds, textEmbeddings: g.text_embeds,
                                                      candidateLabels: g.texts, rule: rule)
                for (row, logits) in zip(rows, g.logits_per_image) {
                    XCTAssertEqual(row.count, g.texts.count)
                    for (label, logit) in zip(g.texts, logits) {
                        let p = try XCTUnwrap(row.first { $0.label == label })
                        let expected = Self.multiLabelScore(logit: logit, logitScale: g.logit_scale, tau: Double(tau))
                        XCTAssertEqual(Double(p.score), expected, accuracy: 1e-5, "\(name) τ \(tau) \(label)")
                        // The logit stays logits_per_image.
                        XCTAssertEqual(Double(p.logit), logit, accuracy: 1e-4, "\(name) \(label)")
                    }
                    XCTAssertEqual(row.map(\.score), row.map(\.score).sorted(by: >), "sorted by score")
                }
            }
        }
    }

    func testMultiLabelScoresSpreadAroundTau() throws {
        // τ at a label's own cosine scores it 0.5; every label stands alone (dropping others changes nothing).
        let g = try golden("tiny-p8-quickgelu")
        let scale = Foundation.exp(g.logit_scale)
        let logits = g.logits_per_image[1].map(Float.init)
        let tau = Float(g.logits_per_image[1][3] / scale)
        let rule = try ScoringRule(multiLabel: true, minSimilarity: tau)
        let all = try ZeroShotClassifier.rank(labels: g.texts, logits: logits, scoring: .softmax,
                                              logitScale: Float(g.logit_scale), rule: rule)
        XCTAssertEqual(try XCTUnwrap(all.first { $0.label == g.texts[3] }).score, 0.5, accuracy: 1e-4)
        let two = try ZeroShotClassifier.rank(labels: [g.texts[1], g.texts[3]], logits: [logits[1], logits[3]],
                                              scoring: .softmax, logitScale: Float(g.logit_scale), rule: rule)
        for p in two { XCTAssertEqual(p, all.first { $0.label == p.label }) }
    }

    func testSiglipMultiLabelIsItsPipelineScores() throws {
        for name in ["siglip-p8-nomask", "siglip-p16-mask-f16"] {
            let classifier = try ZeroShotClassifier(directory: fixturesDirectory.appendingPathComponent("models/\(name)"),
                                                    options: .init(warn: { _ in }))
            XCTAssertEqual(classifier.model.scoring, .sigmoid)
            let labels = ["a cat", "a rocket", "coffee"]
            let input = ImageInput.file(fixtureImage("chelsea.jpg"))
            let plain = try classifier.classify(input, candidateLabels: labels)
            let multi = try classifier.classify(input, candidateLabels: labels, rule: ScoringRule(multiLabel: true))
            XCTAssertEqual(multi, plain, name)
            for p in plain { XCTAssertEqual(Double(p.score), 1 / (1 + Foundation.exp(-Double(p.logit))), accuracy: 1e-6) }
            XCTAssertThrowsError(try classifier.classify(input, candidateLabels: labels,
                                                         rule: ScoringRule(multiLabel: true, minSimilarity: 0.1))) {
                XCTAssertEqual($0 as? ScoringRuleError, .minSimilarityWithSigmoidModel)
            }
        }
    }

    func testThresholdEdgeCasesThroughTheClassifier() throws {
        let classifier = try ZeroShotClassifier(directory: fixtureModelDirectory(), options: .init(warn: { _ in }))
        let labels = ["cat", "dog", "rocket", "coffee"]
        let input = ImageInput.file(fixtureImage("chelsea.jpg"))
        let all = try classifier.classify(input, candidateLabels: labels)
        XCTAssertEqual(all.count, 4)
        // 0 keeps every label, in the same order with the same numbers.
        XCTAssertEqual(try classifier.classify(input, candidateLabels: labels, rule: ScoringRule(threshold: 0)), all)
        // The bound is inclusive: a threshold equal to the second score keeps exactly the first two.
        let second = all[1].score
        XCTAssertEqual(try classifier.classify(input, candidateLabels: labels, rule: ScoringRule(threshold: second)),
                       all.filter { $0.score >= second })
        XCTAssertEqual(try classifier.classify(input, candidateLabels: labels,
                                               rule: ScoringRule(threshold: second.nextUp)),
                       all.filter { $0.score > second })
        // 1 keeps only scores of exactly 1: none for four softmax-scored labels here.
        XCTAssertLessThan(all[0].score, 1)
        XCTAssertEqual(try classifier.classify(input, candidateLabels: labels, rule: ScoringRule(threshold: 1)), [])
        // A threshold never changes a score: it is applied after the softmax over all labels.
        let kept = try classifier.classify(input, candidateLabels: labels, rule: ScoringRule(threshold: all[2].score))
        XCTAssertEqual(kept, Array(all.prefix(kept.count)))
    }

    func testThresholdOneKeepsAScoreOfExactlyOne() throws {
        // Softmax of [0, 200]: float32 gives exactly 1 and 0.
        let ranked = try ZeroShotClassifier.rank(labels: ["a", "b"], logits: [0, 200], scoring: .softmax, logitScale: 0,
                                                 rule: ScoringRule(threshold: 1))
        XCTAssertEqual(ranked, [Prediction(label: "b", score: 1, logit: 200)])
    }

    func testNaNScoresAreNeverKept() throws {
        // softmax: one NaN logit makes every score NaN; none passes even threshold 0.
        let softmax = try ZeroShotClassifier.rank(labels: ["a", "b", "c"], logits: [.nan, 1, 2], scoring: .softmax,
                                                  logitScale: 0, rule: ScoringRule(threshold: 0))
        XCTAssertEqual(softmax, [])
        let unthresholded = try ZeroShotClassifier.rank(labels: ["a", "b", "c"], logits: [.nan, 1, 2], scoring: .softmax,
                                                        logitScale: 0, rule: .pipeline)
        XCTAssertEqual(unthresholded.count, 3)
        XCTAssertTrue(unthresholded.allSatisfy { $0.score.isNaN })
        // sigmoid: only the NaN label goes.
        let sigmoid = try ZeroShotClassifier.rank(labels: ["a", "b", "c"], logits: [1, .nan, -1], scoring: .sigmoid,
                                                  logitScale: 0, rule: ScoringRule(threshold: 0))
        XCTAssertEqual(sigmoid.map(\.label), ["a", "c"])
        XCTAssertEqual(Double(sigmoid[0].score), 1 / (1 + Foundation.exp(-1.0)), accuracy: 1e-7)
    }

    func testRuleErrors() {
        XCTAssertThrowsError(try ScoringRule(threshold: 1.01)) { XCTAssertEqual($0 as? ScoringRuleError, .thresholdOutOfRange(1.01)) }
        XCTAssertThrowsError(try ScoringRule(threshold: -0.01))
        XCTAssertThrowsError(try ScoringRule(threshold: .nan))
        XCTAssertThrowsError(try ScoringRule(minSimilarity: 0.2)) {
            XCTAssertEqual($0 as? ScoringRuleError, .minSimilarityWithoutMultiLabel)
        }
        XCTAssertThrowsError(try ScoringRule(multiLabel: true, minSimilarity: 1.5))
        XCTAssertThrowsError(try ScoringRule(multiLabel: true, minSimilarity: .nan))
        XCTAssertNoThrow(try ScoringRule(threshold: 0, multiLabel: true, minSimilarity: -1))
        XCTAssertEqual(try ScoringRule(threshold: 0.5).droppingThreshold, .pipeline)
        for error: ScoringRuleError in [.thresholdOutOfRange(2), .minSimilarityOutOfRange(3), .minSimilarityWithoutMultiLabel,
                                        .minSimilarityWithSigmoidModel] {
            XCTAssertFalse(error.localizedDescription.isEmpty)
        }
    }

    // MARK: - Command line

    func zeroshot(_ arguments: [String]) throws -> CommandLineTests.Run {
        try CommandLineTests.runProcess(CommandLineTests.executable, arguments)
    }

    var images: [String] { [fixtureImage("chelsea.jpg").path, fixtureImage("rocket.jpg").path] }

    func jsonPredictions(_ text: String) throws -> [[[String: Any]]] {
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        return try json.map { try XCTUnwrap($0["predictions"] as? [[String: Any]]) }
    }

    func testThresholdShapesInEveryFormat() throws {
        let model = try fixtureModelDirectory().path
        let base = ["classify", "--model", model, "--labels", "cat,dog,rocket,coffee"]
        let plain = try zeroshot(base + ["--format", "json"] + images)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let scores = try jsonPredictions(plain.stdout).map { $0.map { $0["score"] as! Double } }
        // A threshold between the two images' best scores: the lower one keeps nothing.
        let (high, low) = scores[0][0] > scores[1][0] ? (0, 1) : (1, 0)
        let s = Float((scores[0][0] + scores[1][0]) / 2)
        let json = try zeroshot(base + ["--threshold", "\(s)", "--format", "json"] + images)
        XCTAssertEqual(json.status, 0, json.stderr)
        let kept = try jsonPredictions(json.stdout)
        XCTAssertEqual(kept[low].count, 0)
        XCTAssertEqual(kept[high].map { $0["score"] as! Double }, scores[high].filter { Float($0) >= s })
        XCTAssertTrue(json.stdout.contains("\"predictions\": []"))

        let jsonl = try zeroshot(base + ["--threshold", "\(s)", "--format", "jsonl"] + images)
        let lines = jsonl.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        let empty = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[low].utf8)) as? [String: Any])
        XCTAssertEqual(empty["image"] as? String, images[low])
        XCTAssertEqual((empty["predictions"] as? [Any])?.count, 0)

        let csv = try zeroshot(base + ["--threshold", "\(s)", "--format", "csv"] + images)
        let rows = csv.stdout.split(separator: "\n")
        XCTAssertEqual(rows.first, "image,rank,label,score,logit")
        XCTAssertEqual(rows.count, 1 + kept[high].count)
        XCTAssertFalse(rows.dropFirst().contains { $0.hasPrefix(images[low] + ",") })

        let table = try zeroshot(base + ["--threshold", "\(s)"] + images)
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains(images[low] + "\n  (no label scored >= \(s))\n"), table.stdout)

        // Threshold 0 is the output without a threshold; --top-k applies after the threshold.
        let zero = try zeroshot(base + ["--threshold", "0", "--format", "json"] + images)
        XCTAssertEqual(zero.stdout, plain.stdout)
        let topK = try zeroshot(base + ["--threshold", "\(s)", "--top-k", "1", "--format", "json"] + images)
        XCTAssertEqual(try jsonPredictions(topK.stdout).map(\.count), kept.map { min(1, $0.count) })
    }

    func testMultiLabelOnTheCommandLine() throws {
        let model = try fixtureModelDirectory().path
        let base = ["classify", "--model", model, "--labels", "cat,dog,rocket", "--format", "json"]
        let plain = try jsonPredictions(try zeroshot(base + images).stdout)
        let scale = Foundation.exp(try golden(URL(fileURLWithPath: model).lastPathComponent).logit_scale)
        for (args, tau) in [(["--min-similarity", "-0.05"], -0.05), ([], Double(ScoringRule.defaultMinSimilarity))] {
            let r = try zeroshot(base + ["--multi-label"] + args + images)
            XCTAssertEqual(r.status, 0, r.stderr)
            for (multi, pipeline) in zip(try jsonPredictions(r.stdout), plain) {
                XCTAssertEqual(multi.count, pipeline.count)
                for p in multi {
                    let logit = p["logit"] as! Double
                    // Same logits_per_image as without --multi-label.
                    XCTAssertTrue(pipeline.contains { $0["label"] as! String == p["label"] as! String
                        && $0["logit"] as! Double == logit })
                    XCTAssertEqual(p["score"] as! Double, 1 / (1 + Foundation.exp(-(logit / scale - tau) * scale)),
                                   accuracy: 1e-5)
                }
            }
        }
        // No single-label softmax warning with --multi-label.
        let one = try zeroshot(["classify", "--model", model, "--label", "cat", "--multi-label", images[0]])
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertFalse(one.stderr.contains("only one candidate label"), one.stderr)
    }

    func testUsageErrors() throws {
        let model = try fixtureModelDirectory().path
        let siglip = fixturesDirectory.appendingPathComponent("models/siglip-p8-nomask").path
        let cases: [([String], String)] = [
            (["--model", model, "--threshold", "1.5"], "--threshold 1.5 is out of range"),
            (["--model", model, "--threshold", "-0.1"], "--threshold -0.1 is out of range"),
            (["--model", model, "--threshold", "nan"], "--threshold nan is out of range"),
            (["--model", model, "--threshold", "0.1", "--threshold", "0.2"], "--threshold is given 2 times"),
            (["--model", model, "--min-similarity", "0.2"], "--min-similarity applies to --multi-label"),
            (["--model", model, "--multi-label", "--min-similarity", "2"], "--min-similarity 2.0 is out of range"),
            (["--model", siglip, "--multi-label", "--min-similarity", "0.2"], "logit_bias"),
        ]
        for (args, message) in cases {
            let r = try zeroshot(["classify", "--labels", "a,b"] + args + [images[0]])
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stdout, "")
        }
        // SigLIP with --multi-label alone is its normal output.
        let plain = try zeroshot(["classify", "--model", siglip, "--labels", "a,b", "--format", "json", images[0]])
        let multi = try zeroshot(["classify", "--model", siglip, "--labels", "a,b", "--format", "json", "--multi-label", images[0]])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(multi.stdout, plain.stdout)
    }

    func testIndexedClassifyTakesTheSameFlags() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zs-threshold-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try fixtureModelDirectory().path, db = dir.appendingPathComponent("i.db").path
        let indexed = try zeroshot(["index", "--db", db, "--model", model] + images)
        XCTAssertEqual(indexed.status, 0, indexed.stderr)
        let labels = ["--labels", "cat,dog,rocket,coffee"]
        // The index's embeddings come from its own run of the image tower, so its numbers are compared with its own
        // pipeline output (no flags), which parity tests tie to transformers.
        let plain = try zeroshot(["classify", "--db", db, "--format", "json"] + labels)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let pipeline = try jsonPredictions(plain.stdout)
        XCTAssertEqual(pipeline.count, 2)
        let threshold = Float(pipeline[0][1]["score"] as! Double)
        let thresholded = try zeroshot(["classify", "--db", db, "--format", "json", "--threshold", "\(threshold)"] + labels)
        XCTAssertEqual(thresholded.status, 0, thresholded.stderr)
        XCTAssertEqual(try jsonPredictions(thresholded.stdout).map { $0.map { $0["label"] as! String } },
                       pipeline.map { $0.filter { Float($0["score"] as! Double) >= threshold }.map { $0["label"] as! String } })
        let scale = Foundation.exp(try golden(URL(fileURLWithPath: model).lastPathComponent).logit_scale)
        let multi = try zeroshot(["classify", "--db", db, "--format", "json", "--multi-label", "--min-similarity", "0.01"]
                                 + labels)
        XCTAssertEqual(multi.status, 0, multi.stderr)
        for (row, plainRow) in zip(try jsonPredictions(multi.stdout), pipeline) {
            XCTAssertEqual(Set(row.map { $0["logit"] as! Double }), Set(plainRow.map { $0["logit"] as! Double }))
            for p in row {
                let logit = p["logit"] as! Double
                XCTAssertEqual(p["score"] as! Double, 1 / (1 + Foundation.exp(-(logit / scale - 0.01) * scale)),
                               accuracy: 1e-5)
            }
        }
        // Every format: an image that keeps nothing is shown as classify shows it.
        let none = try zeroshot(["classify", "--db", db, "--threshold", "1"] + labels)
        XCTAssertEqual(none.stdout, images.map { "\($0)\n  (no label scored >= 1.0)\n" }.joined(separator: "\n"))
        let noneJSON = try zeroshot(["classify", "--db", db, "--threshold", "1", "--format", "json"] + labels)
        XCTAssertEqual(try jsonPredictions(noneJSON.stdout).map(\.count), [0, 0])
        let noneJSONL = try zeroshot(["classify", "--db", db, "--threshold", "1", "--format", "jsonl"] + labels)
        XCTAssertEqual(noneJSONL.stdout.split(separator: "\n").count, 2)
        XCTAssertTrue(noneJSONL.stdout.split(separator: "\n").allSatisfy { $0.hasSuffix("\"predictions\": []}") })
        let noneCSV = try zeroshot(["classify", "--db", db, "--threshold", "1", "--format", "csv"] + labels)
        XCTAssertEqual(noneCSV.stdout, "image,rank,label,score,logit\n")
        let bad = try zeroshot(["classify", "--db", db, "--labels", "a,b", "--min-similarity", "0.1"])
        XCTAssertEqual(bad.status, 64, bad.stderr)
    }
}
