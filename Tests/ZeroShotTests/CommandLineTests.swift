import Foundation
import XCTest
import CLIP
import TestSupport
import ZeroShot

/// Runs the built `zeroshot` executable the way a user does.
final class CommandLineTests: XCTestCase {
    typealias Run = CommandRun

    static var executable: URL { ZeroshotProcess.executable }

    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        try Self.runProcess(Self.executable, arguments, environment: environment)
    }

    /// ZEROSHOT_CACHE of the commands the tests run: a directory of this test process, never the user's cache.
    static var cacheRoot: URL { ZeroshotProcess.cacheRoot }

    /// Runs `executable` as `ZeroshotProcess.run` does.
    static func runProcess(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
                           directory: URL? = nil, stdin: Data? = nil) throws -> Run {
        try ZeroshotProcess.run(arguments, executable: executable, environment: environment, directory: directory,
                                stdin: stdin)
    }

    var model: String { get throws { try fixtureModelDirectory().path } }

    func testClassifyJSONShape() throws {
        let r = try run(["classify", "--model", model, "--labels", "cat, dog,rocket", "--format", "json",
                         fixtureImage("chelsea.jpg").path, fixtureImage("rocket.jpg").path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(json.count, 2)
        XCTAssertEqual(json[0]["image"] as? String, fixtureImage("chelsea.jpg").path)
        let predictions = try XCTUnwrap(json[0]["predictions"] as? [[String: Any]])
        XCTAssertEqual(Set(predictions.compactMap { $0["label"] as? String }), ["cat", "dog", "rocket"])
        let scores = predictions.compactMap { $0["score"] as? Double }
        XCTAssertEqual(scores, scores.sorted(by: >))
        XCTAssertEqual(scores.reduce(0, +), 1, accuracy: 1e-5)
        XCTAssertNotNil(predictions[0]["logit"] as? Double)
    }

    func testClassifyOtherFormatsAndTopK() throws {
        let image = fixtureImage("coffee.webp").path
        let table = try run(["classify", "--model", model, "--label", "a cup, of coffee", "--label", "a car", image])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.hasPrefix(image + "\n"))
        XCTAssertTrue(table.stdout.contains("%  a cup, of coffee"))
        let jsonl = try run(["classify", "--model", model, "--labels", "a,b,c", "--top-k", "1", "--format", "jsonl", image, image])
        XCTAssertEqual(jsonl.stdout.split(separator: "\n").count, 2)
        let line = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(jsonl.stdout.split(separator: "\n")[0].utf8)) as? [String: Any])
        XCTAssertEqual((line["predictions"] as? [Any])?.count, 1)
        let csv = try run(["classify", "--model", model, "--labels", "x,y", "--format", "csv", image])
        let rows = csv.stdout.split(separator: "\n")
        XCTAssertEqual(rows.first, "image,rank,label,score,logit")
        XCTAssertEqual(rows.count, 3)
    }

    func testBadFileIsReportedAndOthersStillClassified() throws {
        let r = try run(["classify", "--model", model, "--labels", "cat,dog", "--format", "json",
                         "/nonexistent/a.jpg", fixtureImage("chelsea.jpg").path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("/nonexistent/a.jpg"), r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(json.count, 1)
        XCTAssertEqual(json[0]["image"] as? String, fixtureImage("chelsea.jpg").path)
    }

    func testUsageErrors() throws {
        let noLabels = try run(["classify", "--model", model, fixtureImage("chelsea.jpg").path])
        XCTAssertNotEqual(noLabels.status, 0)
        XCTAssertTrue(noLabels.stderr.contains("--labels"), noLabels.stderr)
        let emptyLabel = try run(["classify", "--model", model, "--labels", "a,,b", fixtureImage("chelsea.jpg").path])
        XCTAssertNotEqual(emptyLabel.status, 0)
        for bad in [["classify", "--threads", "100000", "--labels", "a", fixtureImage("chelsea.jpg").path],
                    ["classify", "--template", "{x}", "--labels", "a", fixtureImage("chelsea.jpg").path],
                    ["bench", "--labels", "a,,b"], ["bench", "--batch", "0"]] {
            let r = try run(Array(bad.prefix(1)) + ["--model", model] + Array(bad.dropFirst()))
            XCTAssertEqual(r.status, 64, "\(bad): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("Usage: zeroshot \(bad[0])"), r.stderr)
        }
        let badModel = try run(["classify", "--model", "/nonexistent/model-dir", "--labels", "a", fixtureImage("chelsea.jpg").path],
                               environment: ["HF_HUB_OFFLINE": "1"])
        XCTAssertNotEqual(badModel.status, 0)
        XCTAssertTrue(badModel.stderr.contains("/nonexistent/model-dir"), badModel.stderr)
    }

    func testWarnsWhenTheConfigLeavesTensorsUnread() throws {
        let image = fixtureImage("chelsea.jpg").path
        let clean = try run(["classify", "--model", model, "--labels", "cat,dog", image])
        XCTAssertEqual(clean.status, 0, clean.stderr)
        XCTAssertFalse(clean.stderr.contains("warning"), clean.stderr)

        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-unused-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.copyItem(at: try fixtureModelDirectory(), to: copy)
        let configURL = copy.appendingPathComponent("config.json")
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        var vision = try XCTUnwrap(config["vision_config"] as? [String: Any])
        vision["num_hidden_layers"] = (vision["num_hidden_layers"] as? Int ?? 2) - 1
        config["vision_config"] = vision
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)

        let r = try run(["classify", "--model", copy.path, "--labels", "cat,dog", "--format", "json", image])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: \(copy.path)") && r.stderr.contains("16 tensors")
                      && r.stderr.contains("vision_model.encoder.layers.1."), r.stderr)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]], r.stdout)
    }

    func testBenchReportsTheContractKeys() throws {
        let r = try run(["bench", "--model", model, "--iterations", "1", "--batch", "2", "--threads", "1",
                         "--precision", "int8", "--labels", "cat,dog", "--template", "a photo of a {}.", "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        for key in ["load_ms", "image_ms_per_image", "text_ms_per_label", "peak_rss_mb", "image_gflops", "fma_peak_gflops"] {
            XCTAssertNotNil(json[key] as? Double, key)
        }
        let config = try CLIPConfig(contentsOf: URL(fileURLWithPath: model).appendingPathComponent("config.json"))
        let gflop = try XCTUnwrap(json["image_gflop_per_image"] as? Double)
        XCTAssertEqual(gflop, 2 * config.pooledImageMultiplyAdds / 1e9, accuracy: 1e-12)
        let imageMs = try XCTUnwrap(json["image_ms_per_image"] as? Double)
        XCTAssertEqual(try XCTUnwrap(json["image_gflops"] as? Double), gflop / imageMs * 1000, accuracy: 0.05 * gflop / imageMs * 1000)
        XCTAssertGreaterThan(try XCTUnwrap(json["fma_peak_gflops"] as? Double), 0)
        XCTAssertEqual(json["batch"] as? Int, 2)
        XCTAssertEqual(json["threads"] as? Int, 1)
        XCTAssertEqual(json["threads_used"] as? Double, 1, "one thread asked for, one used")
        XCTAssertEqual(json["precision"] as? String, "int8")
        // Adaptation off: the image tower runs on the threads asked for, even more than the cores.
        let many = ProcessInfo.processInfo.activeProcessorCount + 1
        let fixed = try run(["bench", "--model", model, "--iterations", "1", "--threads", "\(many)", "--format", "json"],
                            environment: ["ZEROSHOT_ADAPTIVE_THREADS": "off"])
        XCTAssertEqual(fixed.status, 0, fixed.stderr)
        let fixedJSON = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(fixed.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(fixedJSON["threads_used"] as? Double, Double(many))
    }

    func testEmbedAndTokenize() throws {
        let e = try run(["embed", "--model", model, "--image", fixtureImage("chelsea.jpg").path, "--text", "a cat"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["input"] as? String }, [fixtureImage("chelsea.jpg").path, "a cat"])
        let embedding = try XCTUnwrap(rows[1]["embedding"] as? [Double])
        XCTAssertEqual(embedding.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-4)

        let t = try run(["tokenize", "--model", model, "a photo", Array(repeating: "cat", count: 100).joined(separator: " ")])
        XCTAssertEqual(t.status, 0, t.stderr)
        let tokens = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(t.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(tokens[0]["text"] as? String, "a photo")
        XCTAssertEqual((tokens[1]["ids"] as? [Int])?.count, 77)
        XCTAssertTrue(t.stderr.contains("truncated"), t.stderr)
    }

    func testHelpTeachesWithExamples() throws {
        for command in [["--help"], ["classify", "--help"], ["embed", "--help"], ["tokenize", "--help"], ["bench", "--help"],
                        ["index", "--help"], ["search", "--help"], ["merge", "--help"]] {
            let r = try run(command)
            XCTAssertEqual(r.status, 0)
            XCTAssertTrue(r.stdout.contains("EXAMPLES"), "\(command): \(r.stdout)")
        }
        // The photo-library commands have examples in the overview and in classify's help (--db).
        XCTAssertTrue(try run(["--help"]).stdout.contains("zeroshot search --db photos.db"))
        XCTAssertTrue(try run(["classify", "--help"]).stdout.contains("zeroshot classify --db photos.db"))
    }
}
