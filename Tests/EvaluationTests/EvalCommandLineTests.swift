import Foundation
import XCTest
import TestSupport
import ZeroShot

/// `zeroshot eval` run as a user runs it (the built executable next to the test bundle).
final class EvalCommandLineTests: XCTestCase {
    typealias Run = CommandRun

    func run(_ arguments: [String]) throws -> Run { try Self.run(arguments) }

    /// `zeroshot` with the arguments (the disk cache of text embeddings in a folder of this test process).
    static func run(_ arguments: [String]) throws -> Run { try ZeroshotProcess.run(arguments) }

    func model(_ name: String) -> String { fixturesDirectory.appendingPathComponent("models/\(name)").path }

    func golden(_ checkpoint: String, _ dataset: String) throws -> EvalGolden {
        try JSONDecoder().decode(EvalGolden.self, from: Data(contentsOf: evalFixtures.appendingPathComponent(
            "golden/\(checkpoint).\(dataset).json")))
    }

    func arguments(_ g: EvalGolden) -> [String] {
        ["eval", "--model", model(g.checkpoint)] + (g.classnamesArgument.map { ["--classnames", $0] } ?? [])
            + (g.templatesArgument.map { ["--templates", $0] } ?? [])
            + [evalFixtures.appendingPathComponent(g.dataset).path]
    }

    func testJSONShapeAndPredictionsLines() throws {
        for (checkpoint, dataset) in [("tiny-p8-quickgelu", "cifar10"), ("siglip-p16-mask-f16", "imagenet"), ("chinese-clip-crop", "fashion-mnist")] {
            let g = try golden(checkpoint, dataset)
            let dir = try TemporaryTree()
            let predictions = dir.root.appendingPathComponent("p.jsonl").path
            let r = try run(arguments(g) + ["--format", "json", "--predictions", predictions])
            XCTAssertEqual(r.status, 0, r.stderr)
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            XCTAssertEqual(Set(json.keys), ["n", "top1", "top5", "mean_per_class_recall", "classes", "per_class", "confusion"])
            XCTAssertEqual(json["n"] as? Int, g.n)
            XCTAssertEqual(try XCTUnwrap(json["top1"] as? Double), g.top1, accuracy: 1e-12)
            XCTAssertEqual(try XCTUnwrap(json["top5"] as? Double), g.top5, accuracy: 1e-12)
            XCTAssertEqual(try XCTUnwrap(json["mean_per_class_recall"] as? Double), g.mean_per_class_recall, accuracy: 1e-12)
            XCTAssertEqual(json["classes"] as? [String], g.classes)
            XCTAssertEqual(json["confusion"] as? [[Int]], g.denseConfusion)
            let perClass = try XCTUnwrap(json["per_class"] as? [String: [String: Any]])
            XCTAssertEqual(perClass.count, g.classes.count)
            for (k, name) in g.classes.enumerated() {
                let m = try XCTUnwrap(perClass[name], name)
                XCTAssertEqual(Set(m.keys), ["n", "precision", "recall"])
                XCTAssertEqual(m["n"] as? Int, g.support[k])
                XCTAssertEqual(try XCTUnwrap(m["precision"] as? Double), g.precision[k], accuracy: 1e-12)
                XCTAssertEqual(try XCTUnwrap(m["recall"] as? Double), g.recall[k], accuracy: 1e-12)
            }
            // One line per image, in dataset order, with the reference top-5.
            let lines = try String(contentsOfFile: predictions, encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(lines.count, g.images.count)
            for (line, expected) in zip(lines, g.images) {
                let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                XCTAssertEqual(Set(object.keys), ["image", "true_label", "top5", "true_score", "correct"])
                XCTAssertEqual(object["image"] as? String, expected.image)
                XCTAssertEqual(object["true_label"] as? String, g.classes[expected.true_class])
                let top5 = try XCTUnwrap(object["top5"] as? [[String: Any]])
                XCTAssertEqual(top5.compactMap { $0["label"] as? String }, expected.top5.map { g.classes[$0] })
                for (p, s) in zip(top5, expected.top5_scores) {
                    XCTAssertEqual(try XCTUnwrap(p["score"] as? Double), Double(s), accuracy: 1e-5)
                }
                XCTAssertEqual(try XCTUnwrap(object["true_score"] as? Double), Double(expected.true_score), accuracy: 1e-5)
                XCTAssertEqual(object["correct"] as? Bool, expected.top5[0] == expected.true_class)
            }
        }
    }

    func testTableNamesTheMetricsAndTheConfusedPairs() throws {
        let g = try golden("tiny-p8-quickgelu", "fashion-mnist")
        let r = try run(arguments(g))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains(String(format: "top-1                  %.2f%%", g.top1 * 100)), r.stdout)
        XCTAssertTrue(r.stdout.contains(String(format: "top-5                  %.2f%%", g.top5 * 100)), r.stdout)
        XCTAssertTrue(r.stdout.contains("most confused (true -> predicted, images):"), r.stdout)
        XCTAssertTrue(r.stdout.contains("T-shirt or top"), r.stdout)
    }

    func testUnreadableImagesAreFailedNotWrong() throws {
        let t = try TemporaryTree()
        let mnist = evalFixtures.appendingPathComponent("mnist").path
        try t.write("list.csv", "path,label\n\(mnist)/mnist_00_7.png,7\nmissing.png,1\nbroken.png,2\n\(mnist)/mnist_01_2.png,2\n")
        try t.write("broken.png", "not a png")
        let predictions = t.root.appendingPathComponent("p.jsonl").path
        let r = try run(["eval", "--model", model("tiny-p8-quickgelu"), "--format", "json", "--predictions", predictions,
                         t.root.appendingPathComponent("list.csv").path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("missing.png"), r.stderr)
        XCTAssertTrue(r.stderr.contains("broken.png"), r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["n"] as? Int, 2)
        XCTAssertEqual((json["confusion"] as? [[Int]])?.flatMap { $0 }.reduce(0, +), 2)
        let failed = try XCTUnwrap(json["failed"] as? [[String: String]])
        XCTAssertEqual(failed.map { $0["image"] }, ["missing.png", "broken.png"])
        XCTAssertTrue(failed.allSatisfy { !($0["error"] ?? "").isEmpty })
        XCTAssertEqual(try String(contentsOfFile: predictions, encoding: .utf8).split(separator: "\n").count, 2)
    }

    /// What the metrics alone would hide is said: a class whose every image failed, manifest classes without an
    /// image, a single class; an ImageFolder image's error names it with the dataset's path as given.
    func testWarningsForWhatTheMetricsHide() throws {
        let t = try TemporaryTree()
        let mnist = evalFixtures.appendingPathComponent("mnist").path
        try t.write("broken.png", "not a png")
        try t.write("list.csv", "\(mnist)/mnist_00_7.png,7\n\(t.root.path)/broken.png,2\n")
        let r = try run(["eval", "--model", model("tiny-p8-quickgelu"), "--no-text-cache", t.root.appendingPathComponent("list.csv").path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("class \"2\": none of its 1 image could be evaluated"), r.stderr)
        XCTAssertTrue(r.stderr.contains("6 of 8 classes have no image in the manifest"), r.stderr)
        XCTAssertTrue(r.stdout.contains("precision              fp32"), r.stdout)
        XCTAssertTrue(r.stdout.contains("(CSV, 8 classes)"), r.stdout)

        let png = try Data(contentsOf: URL(fileURLWithPath: "\(mnist)/mnist_00_7.png"))
        try t.write("folder/only/a.png", "")
        try png.prefix(40).write(to: t.root.appendingPathComponent("folder/only/a.png"))  // a truncated PNG
        try FileManager.default.copyItem(atPath: "\(mnist)/mnist_00_7.png",
                                         toPath: t.root.appendingPathComponent("folder/only/b.png").path)
        let folder = t.root.appendingPathComponent("folder").path
        let one = try run(["eval", "--model", model("tiny-p8-quickgelu"), "--no-text-cache", folder])
        XCTAssertEqual(one.status, 1, one.stderr)
        XCTAssertTrue(one.stderr.contains("error: \(folder)/only/a.png: "), one.stderr)
        XCTAssertTrue(one.stderr.contains("one class: every image is predicted as it"), one.stderr)
        XCTAssertFalse(one.stderr.contains("only one candidate label"), one.stderr)
        XCTAssertTrue(one.stdout.contains("(ImageFolder, 1 class)"), one.stdout)
        XCTAssertTrue(one.stdout.contains("100.00% (1 class: always 100%)"), one.stdout)
    }

    /// The second run reads the ensemble's text embeddings from the disk cache and prints the same bytes.
    func testSecondRunFromTheTextCacheIsIdentical() throws {
        let g = try golden("tiny-p8-quickgelu", "cifar10")
        let t = try TemporaryTree()
        let cache = t.root.appendingPathComponent("cache").path
        let first = try run(arguments(g) + ["--format", "json", "--text-cache", cache])
        XCTAssertEqual(first.status, 0, first.stderr)
        let files = try FileManager.default.subpathsOfDirectory(atPath: cache)
        XCTAssertFalse(files.isEmpty, "the first run fills the cache")
        let second = try run(arguments(g) + ["--format", "json", "--text-cache", cache])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.stdout, first.stdout)
        let uncached = try run(arguments(g) + ["--format", "json", "--no-text-cache"])
        XCTAssertEqual(uncached.stdout, first.stdout)
    }

    /// --report writes the page and both charts (PNG + SVG) for the run's result; a path that cannot be a directory
    /// fails before the model is loaded, naming it.
    func testReportWritesThePageAndChartsOrFailsFirst() throws {
        let g = try golden("tiny-p8-quickgelu", "cifar10")
        let t = try TemporaryTree()
        let dir = t.root.appendingPathComponent("out/report")
        let r = try run(arguments(g) + ["--format", "json", "--report", dir.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        for name in ["index.html", "confusion.png", "confusion.svg", "recall.png", "recall.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), name)
        }
        let page = try String(contentsOf: dir.appendingPathComponent("index.html"), encoding: .utf8)
        for name in g.classes { XCTAssertTrue(page.contains(name), name) }
        XCTAssertTrue(page.contains("cifar10"), "the dataset names the page")
        let confusedImages = g.confusion.enumerated().reduce(0) { sum, row in
            sum + row.element.enumerated().filter { $0.offset != row.offset }.reduce(0) { $0 + $1.element }
        }
        if confusedImages > 0 {
            let thumbs = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("thumbs").path)
            XCTAssertFalse(thumbs.isEmpty)
            XCTAssertTrue(page.contains("thumbs/"), "the most confused pairs show example thumbnails")
        }
        try t.write("blocker", "a file where the report folder should be")
        let blocked = try run(arguments(g) + ["--report", t.root.appendingPathComponent("blocker/sub").path])
        XCTAssertNotEqual(blocked.status, 0)
        XCTAssertTrue(blocked.stderr.contains("blocker"), blocked.stderr)
        XCTAssertTrue(blocked.stderr.contains("not a directory"), blocked.stderr)
        XCTAssertTrue(blocked.stdout.isEmpty, "nothing evaluated: \(blocked.stdout)")
    }

    func testUsageAndDatasetErrors() throws {
        let t = try TemporaryTree()
        for name in ["a", "b"] { try t.write("\(name)/x.png", png) }
        let names = try t.write("names.txt", "cat\ndog\ncat\n")
        let m = model("tiny-p8-quickgelu")
        let count = try run(["eval", "--model", m, "--classnames", "cifar10", t.root.path])
        XCTAssertEqual(count.status, 64, count.stderr)
        XCTAssertTrue(count.stderr.contains("gives 10 class names but the dataset has 2 class folders"), count.stderr)
        try t.write("c/x.png", png)
        let duplicate = try run(["eval", "--model", m, "--classnames", names.path, t.root.path])
        XCTAssertEqual(duplicate.status, 64, duplicate.stderr)
        XCTAssertTrue(duplicate.stderr.contains("\"cat\""), duplicate.stderr)
        let dash = try run(["eval", "--model", m, "--predictions", "-", t.root.path])
        XCTAssertEqual(dash.status, 64, dash.stderr)
        let nowhere = try run(["eval", "--model", m, "--predictions", t.root.appendingPathComponent("no/such/p.jsonl").path,
                               t.root.path])
        XCTAssertEqual(nowhere.status, 1, nowhere.stderr)
        XCTAssertTrue(nowhere.stderr.contains("no/such/p.jsonl: cannot write the predictions (No such file or directory)"),
                      nowhere.stderr)
        let both = try run(["eval", "--model", m, "--template", "{}", "--templates", "simple", t.root.path])
        XCTAssertEqual(both.status, 64, both.stderr)
        let bad = try t.write("bad.jsonl", "{\"path\": \"a/x.png\", \"label\": 0}\n{\"path\": \"b/x.png\"}\n")
        let line = try run(["eval", "--model", m, bad.path])
        XCTAssertEqual(line.status, 1, line.stderr)
        XCTAssertTrue(line.stderr.contains(bad.path + ":2:"), line.stderr)
        let help = try run(["eval", "--help"])
        for term in ["candidate label", "hypothesis template", "top-1", "top-5", "ImageFolder", "--predictions"] {
            XCTAssertTrue(help.stdout.contains(term), term)
        }
    }
}

/// Datasets as the command reports them: URLs in a manifest, what an ImageFolder walk leaves out.
final class EvalDatasetCommandLineTests: XCTestCase {
    func testManifestURLsAreReadAndAMissingOneFails() throws {
        let body = png
        let server = try LoopbackServer { request in
            request.path == "/seven.png" ? .init(status: 200, body: body) : .init(status: 404)
        }
        defer { server.stop() }
        let t = try TemporaryTree()
        let seven = server.baseURL.appendingPathComponent("seven.png").absoluteString
        let gone = server.baseURL.appendingPathComponent("gone.png").absoluteString
        let list = try t.write("urls.jsonl", "{\"path\": \"\(seven)\", \"label\": 7}\n{\"path\": \"\(gone)\", \"label\": 2}\n")
        let r = try EvalCommandLineTests.run(["eval", "--model", fixturesDirectory.appendingPathComponent("models/tiny-p8-quickgelu").path,
                                                "--format", "json", list.path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains(gone), r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["n"] as? Int, 1)
        XCTAssertEqual(json["classes"] as? [String], (0...7).map(String.init))
        XCTAssertEqual((json["failed"] as? [[String: String]])?.map { $0["image"] }, [gone])
    }

    func testImageFolderReportsWhatItLeavesOut() throws {
        let t = try TemporaryTree()
        try t.write("ant/1.png", png)
        try t.write("ant/notes.txt", "text")
        try t.write(".trash/2.png", png)
        try t.write("README", "text")
        try t.folder("bee")
        let r = try EvalCommandLineTests.run(["eval", "--model", fixturesDirectory.appendingPathComponent("models/tiny-p8-quickgelu").path,
                                                "--format", "json", t.root.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("1 non-image file in the class folders skipped"), r.stderr)
        XCTAssertTrue(r.stderr.contains("1 entry directly in the dataset folder"), r.stderr)
        XCTAssertTrue(r.stderr.contains("class #1 \"bee\" is still a class"), r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["classes"] as? [String], ["ant", "bee"])
        XCTAssertEqual(json["n"] as? Int, 1)
    }
}
