import Foundation
import XCTest
import ZeroShot

/// `classify --templates` and `--classnames` as a user runs them, against the transformers goldens of
/// Tools/reference/ensemble_fixtures.py.
final class PromptEnsembleCommandLineTests: XCTestCase {
    func run(_ arguments: [String]) throws -> CommandLineTests.Run {
        try CommandLineTests.runProcess(CommandLineTests.executable, arguments)
    }

    func testClassifyWithBuiltInSetsGivesTheReferenceLogits() throws {
        let golden = try PromptEnsembleTests.golden("tiny-p8-quickgelu")
        let c = try XCTUnwrap(golden.cases.first { $0.class_names == "cifar10" && $0.templates == "openai-cifar" })
        let images = c.images.map { fixturesDirectory.appendingPathComponent($0.image).path }
        let r = try run(["classify", "--model", fixturesDirectory.appendingPathComponent("models/tiny-p8-quickgelu").path,
                         "--classnames", "cifar10", "--templates", "openai-cifar", "--format", "json"] + images)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(json.count, images.count)
        let names = try XCTUnwrap(PromptSets.builtInClassNames("cifar10"))
        for (object, expected) in zip(json, c.images) {
            let predictions = try XCTUnwrap(object["predictions"] as? [[String: Any]])
            XCTAssertEqual(predictions.count, 10)
            for p in predictions {
                let i = try XCTUnwrap(names.firstIndex(of: try XCTUnwrap(p["label"] as? String)))
                XCTAssertEqual(try XCTUnwrap(p["logit"] as? Double), Double(expected.logits[i]), accuracy: 1e-4)
            }
            XCTAssertEqual(predictions.compactMap { $0["label"] as? String }.first, names[expected.ranking[0]])
        }
    }

    func testFilesAndUsageErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ens-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try fixtureModelDirectory().path
        let image = fixtureImage("chelsea.jpg").path
        let templates = dir.appendingPathComponent("templates.txt")
        try Data("a photo of a {}.\n\nart of the {}.\n".utf8).write(to: templates)
        let names = dir.appendingPathComponent("names.txt")
        try Data("cat\n\ndog\nrocket\n".utf8).write(to: names)

        // Files: one entry per line, blank lines ignored; the same numbers as the library's ensemble.
        let r = try run(["classify", "--model", model, "--classnames", names.path, "--templates", templates.path,
                         "--format", "json", image])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        let predictions = try XCTUnwrap(json.first?["predictions"] as? [[String: Any]])
        let classifier = try ZeroShotClassifier(directory: URL(fileURLWithPath: model), options: .init(warn: { _ in }))
        let expected = try classifier.classify([.file(URL(fileURLWithPath: image))], candidateLabels: ["cat", "dog", "rocket"],
                                               hypothesisTemplates: ["a photo of a {}.", "art of the {}."])[0].get()
        XCTAssertEqual(predictions.compactMap { $0["label"] as? String }, expected.map(\.label))
        for (p, e) in zip(predictions, expected) {
            XCTAssertEqual(try XCTUnwrap(p["logit"] as? Double), Double(e.logit), accuracy: 1e-6)
        }

        // Usage errors (exit 64), naming the option, the file and the line.
        let both = try run(["classify", "--model", model, "--labels", "a,b", "--template", "{}", "--templates", "simple", image])
        XCTAssertEqual(both.status, 64, both.stderr)
        XCTAssertTrue(both.stderr.contains("--template") && both.stderr.contains("--templates"), both.stderr)
        let mixed = try run(["classify", "--model", model, "--labels", "a,b", "--classnames", "cifar10", image])
        XCTAssertEqual(mixed.status, 64, mixed.stderr)
        XCTAssertTrue(mixed.stderr.contains("--classnames"), mixed.stderr)
        let badFile = dir.appendingPathComponent("bad.txt")
        try Data("a photo of a {}.\n\n\nart of the {name}.\n".utf8).write(to: badFile)
        let bad = try run(["classify", "--model", model, "--labels", "a,b", "--templates", badFile.path, image])
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertTrue(bad.stderr.contains(badFile.path + ":4:"), bad.stderr)
        let missing = try run(["classify", "--model", model, "--classnames", dir.appendingPathComponent("nope.txt").path, image])
        XCTAssertEqual(missing.status, 64, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("nope.txt") && missing.stderr.contains("not a built-in set of class names (imagenet, cifar10, cifar100)"), missing.stderr)
        let unknownSet = try run(["classify", "--model", model, "--labels", "a,b", "--templates", "openai", image])
        XCTAssertEqual(unknownSet.status, 64, unknownSet.stderr)
    }
}
