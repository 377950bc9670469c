import Foundation
import XCTest
@testable import ZeroShot

/// Candidate labels and templates the pipeline accepts though they look wrong (empty, whitespace-only and
/// zero-width-space labels, a single label, a template without `{}`), and a checkpoint whose logit_scale overflows
/// exp, against transformers (Tests/Fixtures/labels.json, written by Tools/reference/label_fixtures.py).
final class LabelParityTests: XCTestCase {
    struct Golden: Decodable {
        struct Case: Decodable {
            struct Item: Decodable { let label: String; let score: Double? }
            let model: String
            let image: String
            let labels: [String]
            let template: String
            let input_ids: [[Int32]]
            let predictions: [Item]
            /// Numbers, or "inf"/"-inf".
            let logits: [Number]
        }
        enum Number: Decodable {
            case value(Double), text(String)
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let d = try? c.decode(Double.self) { self = .value(d) } else { self = .text(try c.decode(String.self)) }
            }
            var double: Double {
                switch self {
                case .value(let d): return d
                case .text(let t): return t == "inf" ? .infinity : t == "-inf" ? -.infinity : .nan
                }
            }
        }
        struct Overflow: Decodable {
            let model: String
            let logit_scale: Float
            let cases: [Case]
        }
        let cases: [Case]
        let overflow: Overflow
    }

    static func golden() throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: fixturesDirectory.appendingPathComponent("labels.json")))
    }

    static func modelDirectory(_ name: String) -> URL {
        fixturesDirectory.appendingPathComponent("models").appendingPathComponent(name)
    }

    func compare(_ c: Golden.Case, _ classifier: ZeroShotClassifier, file: StaticString = #filePath, line: UInt = #line) throws {
        let context = "\(c.model) \(c.labels.map(\.debugDescription)) \(c.template.debugDescription)"
        for (label, ids) in zip(c.labels, c.input_ids) {
            XCTAssertEqual(classifier.tokenize(try applyHypothesisTemplate(c.template, to: label)).ids, ids, context, file: file, line: line)
        }
        let url = fixturesDirectory.appendingPathComponent("pipeline/images").appendingPathComponent(c.image)
        let predictions = try classifier.classify(.file(url), candidateLabels: c.labels, hypothesisTemplate: c.template)
        XCTAssertEqual(predictions.map(\.label), c.predictions.map(\.label), context, file: file, line: line)
        for (p, g) in zip(predictions, c.predictions) {
            if let score = g.score {
                // 2e-5: these label pairs put scores near 0.5, where the softmax is steepest, and a logit difference
                // of 5e-5 (float32 rounding in the towers, times exp(logit_scale)) moves a score by 1.2e-5.
                XCTAssertEqual(Double(p.score), score, accuracy: 2e-5, context, file: file, line: line)
            } else {
                XCTAssertTrue(p.score.isNaN, "\(context): \(p.score) where transformers gives NaN", file: file, line: line)
            }
        }
        for (i, logit) in c.logits.map(\.double).enumerated() {
            // Labels may repeat in effect ("" and " "), so logits are matched by position among equal labels.
            let p = predictions.filter { $0.label == c.labels[i] }[c.labels[..<i].filter { $0 == c.labels[i] }.count]
            if logit.isFinite {
                XCTAssertEqual(Double(p.logit), logit, accuracy: 1e-3, context, file: file, line: line)
            } else {
                XCTAssertEqual(Double(p.logit), logit, context, file: file, line: line)
            }
        }
    }

    func testLabelsThePipelineAcceptsScoreAsInTransformers() throws {
        let golden = try Self.golden()
        var classifiers: [String: ZeroShotClassifier] = [:]
        for c in golden.cases {
            let classifier = try classifiers[c.model] ?? ZeroShotClassifier(directory: Self.modelDirectory(c.model))
            classifiers[c.model] = classifier
            try compare(c, classifier)
        }
        XCTAssertGreaterThanOrEqual(classifiers.count, 5)
        // The empty and whitespace-only labels score as the template alone; the zero-width space does not.
        let mixed = try XCTUnwrap(golden.cases.first { $0.labels.contains("\t") })
        let ids = Dictionary(zip(mixed.labels, mixed.input_ids), uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(ids[" "], ids[""])
        XCTAssertEqual(ids["\u{3000}"], ids[""])
        XCTAssertNotEqual(ids["\u{200B}"], ids[""])
    }

    func testLogitScaleThatOverflowsExpGivesNaNAsTransformers() throws {
        let golden = try Self.golden()
        let copy = try Self.checkpointWithLogitScale(golden.overflow.logit_scale, from: golden.overflow.model)
        defer { try? FileManager.default.removeItem(at: copy) }
        let classifier = try ZeroShotClassifier(directory: copy)
        XCTAssertEqual(classifier.model.logitScale, golden.overflow.logit_scale)
        for c in golden.overflow.cases { try compare(c, classifier) }
    }

    /// A copy of a float32 fixture checkpoint with its `logit_scale` tensor set to `value`, as label_fixtures.py
    /// makes it.
    static func checkpointWithLogitScale(_ value: Float, from model: String) throws -> URL {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-logit-scale-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: modelDirectory(model), to: copy)
        let weights = copy.appendingPathComponent("model.safetensors")
        var data = try Data(contentsOf: weights)
        let headerSize = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerSize))) as? [String: Any])
        let entry = try XCTUnwrap(header["logit_scale"] as? [String: Any])
        XCTAssertEqual(entry["dtype"] as? String, "F32")
        let offsets = try XCTUnwrap(entry["data_offsets"] as? [Int])
        let start = 8 + headerSize + offsets[0]
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.replaceSubrange(start..<(start + 4), with: $0) }
        try data.write(to: weights)
        return copy
    }

    func testWarningsForLabelsAndTemplatesThatLookWrong() throws {
        func warnings(_ labels: [String], _ template: String = ZeroShotClassifier.defaultHypothesisTemplate) throws -> [String] {
            try ZeroShotClassifier.candidateLabelWarnings(labels, hypothesisTemplate: template)
        }
        XCTAssertEqual(try warnings(["cat", "dog"]), [])
        let blank = try warnings(["", " ", "\t", "\u{3000}", "\u{200B}", "dog"])
        XCTAssertEqual(blank.count, 4, "\(blank)")
        XCTAssertTrue(blank[0].contains("#1 is empty") && blank[0].contains("template alone"), blank[0])
        XCTAssertTrue(blank[3].contains("#4 is whitespace only") && blank[3].contains("\"This is a photo of .\""), blank[3])
        XCTAssertFalse(blank.joined().contains("#5"), "a zero-width space is a token, not whitespace: \(blank)")
        for template in ["a photo", "{{}}", "{:.0}"] {
            let w = try warnings(["cat", "dog"], template)
            XCTAssertEqual(w.count, 1, "\(template): \(w)")
            XCTAssertTrue(w[0].contains("does not contain the label") && w[0].contains("same score"), w[0])
        }
        let collide = try warnings(["cat", "car", "dog"], "{[0]}")
        XCTAssertEqual(collide.count, 1, "\(collide)")
        XCTAssertTrue(collide[0].contains("\"cat\"") && collide[0].contains("\"car\"") && collide[0].contains("same text \"c\""), collide[0])
        // One template of a prompt ensemble: the others still tell the classes apart, so no "same score".
        let inEnsemble = try ZeroShotClassifier.candidateLabelWarnings(["cat", "dog"], hypothesisTemplate: "a photo",
                                                                       inEnsemble: true)
        XCTAssertEqual(inEnsemble.count, 1, "\(inEnsemble)")
        XCTAssertTrue(inEnsemble[0].contains("in the ensemble this template adds the same embedding to every class")
                      && !inEnsemble[0].contains("same score"), inEnsemble[0])
        let collideInEnsemble = try ZeroShotClassifier.candidateLabelWarnings(["cat", "car"], hypothesisTemplate: "{[0]}",
                                                                              inEnsemble: true)
        XCTAssertTrue(collideInEnsemble[0].contains("adds the same embedding to both")
                      && !collideInEnsemble[0].contains("same score"), collideInEnsemble[0])
        XCTAssertEqual(try warnings(["cat", "cat"]), [], "a repeated label is not a collision")
        let one = try warnings(["cat"])
        XCTAssertEqual(one.count, 1)
        XCTAssertTrue(one[0].contains("1.0"), one[0])
        XCTAssertThrowsError(try warnings(["a"], "{x}"))
    }

    func testGoldenWarningsAgreeWithTheScores() throws {
        // Where the template makes labels' texts equal, transformers gives them equal scores.
        for c in try Self.golden().cases where c.template == "a photo" {
            XCTAssertEqual(Set(c.predictions.compactMap(\.score)).count, 1, "\(c.model)")
        }
    }
}
