import Foundation
import XCTest
@testable import ZeroShot

/// Any complete tiny CLIP checkpoint from the fixtures (config.json `model_type` "clip").
func fixtureModelDirectory() throws -> URL {
    struct ModelType: Decodable { let model_type: String }
    let models = fixturesDirectory.appendingPathComponent("models")
    let dirs = try FileManager.default.contentsOfDirectory(at: models, includingPropertiesForKeys: nil)
        .filter { $0.lastPathComponent.hasPrefix("tiny-") }
        .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("preprocessor_config.json").path) }
        .filter { dir in
            let config = try? Data(contentsOf: dir.appendingPathComponent("config.json"))
            return config.flatMap { try? JSONDecoder().decode(ModelType.self, from: $0) }?.model_type == "clip"
        }
        .sorted { $0.path < $1.path }
    return try XCTUnwrap(dirs.first, "no complete checkpoint under \(models.path)")
}

func fixtureImage(_ name: String) -> URL {
    fixturesDirectory.appendingPathComponent("pipeline/images").appendingPathComponent(name)
}

final class HypothesisTemplateTests: XCTestCase {
    func testFillsLikePythonFormat() throws {
        XCTAssertEqual(try applyHypothesisTemplate("This is a photo of {}.", to: "cat"), "This is a photo of cat.")
        XCTAssertEqual(try applyHypothesisTemplate("{}", to: "a dog"), "a dog")
        XCTAssertEqual(try applyHypothesisTemplate("{0} and {0}", to: "x"), "x and x")
        XCTAssertEqual(try applyHypothesisTemplate("{{literal}} {}", to: "y"), "{literal} y")
        XCTAssertEqual(try applyHypothesisTemplate("no placeholder", to: "z"), "no placeholder")
    }

    func testRejectsWhatPythonRejects() {
        for bad in ["{name}", "open { only", "close } only", "{1}", "{0} and {}", "{} {}", "{:=5}", "{:{}}"] {
            XCTAssertThrowsError(try applyHypothesisTemplate(bad, to: "x")) { error in
                guard case ZeroShotError.invalidTemplate = error else { return XCTFail("\(error)") }
            }
        }
    }
}

final class RankingTests: XCTestCase {
    func testSoftmaxSortedWithTiesInInputOrder() {
        let ranked = ZeroShotClassifier.rank(labels: ["a", "b", "c", "d"], logits: [1, 3, 3, -2])
        XCTAssertEqual(ranked.map(\.label), ["b", "c", "a", "d"])
        XCTAssertEqual(ranked.map(\.score).reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertEqual(ranked[0].score, ranked[1].score)
        XCTAssertEqual(ranked[0].logit, 3)
        let e = [1, 3, 3, -2].map { exp(Double($0) - 3) }
        XCTAssertEqual(Double(ranked[2].score), e[0] / e.reduce(0, +), accuracy: 1e-7)
    }

    func testLargeLogitsDoNotOverflow() {
        let ranked = ZeroShotClassifier.rank(labels: ["x", "y"], logits: [1000, 999])
        XCTAssertTrue(ranked.allSatisfy { $0.score.isFinite })
        XCTAssertEqual(ranked[0].label, "x")
    }
}

final class ClassifierBehaviourTests: XCTestCase {
    func testOneBadImageDoesNotLoseTheOthers() throws {
        let classifier = try ZeroShotClassifier(directory: try fixtureModelDirectory())
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("zs-bad-\(UUID().uuidString).jpg")
        try Data("not an image at all".utf8).write(to: tmp)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let inputs: [ImageInput] = [.file(fixtureImage("chelsea.jpg")), .file(tmp),
                                    .file(URL(fileURLWithPath: "/nonexistent/photo.png")), .file(fixtureImage("rocket.jpg"))]
        let results = try classifier.classify(inputs, candidateLabels: ["cat", "rocket"])
        XCTAssertEqual(results.count, 4)
        XCTAssertEqual(try results[0].get().count, 2)
        XCTAssertEqual(try results[3].get().count, 2)
        for i in [1, 2] {
            XCTAssertThrowsError(try results[i].get()) { error in
                XCTAssertTrue("\(error)".contains(inputs[i].displayName), "error should name the file: \(error)")
            }
        }
        // Same answer alone as in the batch.
        let alone = try classifier.classify(.file(fixtureImage("rocket.jpg")), candidateLabels: ["cat", "rocket"])
        XCTAssertEqual(alone.map(\.label), try results[3].get().map(\.label))
        XCTAssertEqual(alone[0].score, try results[3].get()[0].score, accuracy: 1e-6)
    }

    func testInputKindsAgree() throws {
        let classifier = try ZeroShotClassifier(directory: try fixtureModelDirectory())
        let url = fixtureImage("coffee.webp")
        let fromFile = try classifier.classify(.file(url), candidateLabels: ["cup", "car"])
        let fromBytes = try classifier.classify(.encoded(Data(contentsOf: url)), candidateLabels: ["cup", "car"])
        let fromPixels = try classifier.classify(.pixels(ImageDecoder.decode(contentsOf: url)), candidateLabels: ["cup", "car"])
        XCTAssertEqual(fromFile, fromBytes)
        XCTAssertEqual(fromFile, fromPixels)
    }

    func testLabelErrors() throws {
        let classifier = try ZeroShotClassifier(directory: try fixtureModelDirectory())
        let image = ImageInput.file(fixtureImage("chelsea.jpg"))
        XCTAssertThrowsError(try classifier.classify(image, candidateLabels: [])) {
            XCTAssertEqual($0 as? ZeroShotError, .noCandidateLabels)
        }
        // Any label string is scored, as the pipeline scores it (the values: LabelParityTests).
        XCTAssertEqual(try classifier.classify(image, candidateLabels: ["a", ""]).count, 2)
        XCTAssertThrowsError(try classifier.classify(image, candidateLabels: ["a"], hypothesisTemplate: "{x}"))
    }

    func testTextEmbeddingsAreCachedAndNormalised() throws {
        let classifier = try ZeroShotClassifier(directory: try fixtureModelDirectory())
        let first = try classifier.textEmbeddings(["a photo of a cat", "a dog", "a photo of a cat"])
        XCTAssertEqual(first[0], first[2])
        let again = try classifier.textEmbeddings(["a dog"])
        XCTAssertEqual(again[0], first[1])
        let norm = first[1].reduce(0) { $0 + $1 * $1 }
        XCTAssertEqual(norm, 1, accuracy: 1e-5)
    }

    func testLongTextIsTruncatedWithAWarning() throws {
        final class Box: @unchecked Sendable { var messages: [String] = [] }
        let box = Box()
        let classifier = try ZeroShotClassifier(directory: try fixtureModelDirectory(),
                                                options: .init(warn: { box.messages.append($0) }))
        let long = Array(repeating: "word", count: 120).joined(separator: " ")
        let encoding = classifier.tokenize(long)
        XCTAssertEqual(encoding.ids.count, classifier.textLength)
        XCTAssertEqual(encoding.ids.last, classifier.tokenizer.encode("").last)
        XCTAssertEqual(box.messages.count, 1)
        XCTAssertNoThrow(try classifier.classify(.file(fixtureImage("chelsea.jpg")), candidateLabels: [long, "cat"]))
    }

    func testMissingModelDirectoryNamesTheFile() {
        XCTAssertThrowsError(try ZeroShotClassifier(directory: URL(fileURLWithPath: "/nonexistent/model"))) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/model"), "\(error)")
        }
    }
}
