import Foundation
import XCTest
import ZeroShot

/// The files the facade asks the Hub layer for: every model, and tokenization alone.
final class ModelFilesTests: XCTestCase {
    private let commit = "0123456789abcdef0123456789abcdef01234567"

    private var fixtureModels: [URL] {
        get throws {
            let root = fixturesDirectory.appendingPathComponent("models")
            return try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
                .filter { $0 != "golden" }.map { root.appendingPathComponent($0) }
        }
    }

    func testEveryFixtureCheckpointSatisfiesTheSelections() throws {
        let models = try fixtureModels
        XCTAssertGreaterThanOrEqual(models.count, 6)
        for model in models {
            XCTAssertEqual(ZeroShotClassifier.modelFiles.missingFiles(in: model), [], model.lastPathComponent)
            XCTAssertEqual(ZeroShotClassifier.tokenizerFiles.missingFiles(in: model), [], model.lastPathComponent)
        }
        let empty = try makeDirectory()
        XCTAssertEqual(ZeroShotClassifier.modelFiles.missingFiles(in: empty), [
            "config.json", "preprocessor_config.json", "model.safetensors",
            "tokenizer (one of: tokenizer.json; vocab.json + merges.txt; spiece.model; vocab.txt)",
        ])
        XCTAssertEqual(ZeroShotClassifier.tokenizerFiles.missingFiles(in: empty),
                       ["tokenizer (one of: tokenizer.json; vocab.json + merges.txt; spiece.model; vocab.txt)"])
    }

    /// A fresh temporary directory, removed at the end of the test.
    private func makeDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Puts `files` of the fixture checkpoint `model` into `cache` as the snapshot of `repo` at `main`.
    private func install(_ model: String, files: [String]? = nil, as repo: String, in cache: URL) throws {
        let source = fixturesDirectory.appendingPathComponent("models/\(model)")
        let storage = cache.appendingPathComponent("models--" + repo.replacingOccurrences(of: "/", with: "--"))
        let snapshot = storage.appendingPathComponent("snapshots/\(commit)")
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        for name in try files ?? FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: snapshot.appendingPathComponent(name))
        }
        try FileManager.default.createDirectory(at: storage.appendingPathComponent("refs"), withIntermediateDirectories: true)
        try Data(commit.utf8).write(to: storage.appendingPathComponent("refs/main"))
    }

    func testTokenizationNeedsOnlyTheTokenizerFiles() throws {
        let cache = try makeDirectory()
        try install("tiny-p8-quickgelu", as: "acme/tiny-clip", in: cache)
        try install("tiny-p8-quickgelu", files: ["config.json", "tokenizer.json", "tokenizer_config.json"],
                    as: "acme/tokenizer-only", in: cache)
        let environment = HubEnvironment(cacheDirectory: cache, endpoint: URL(string: "http://127.0.0.1:9")!, offline: true)

        let classifier = try ZeroShotClassifier(model: "acme/tiny-clip", environment: environment)
        XCTAssertEqual(classifier.modelDirectory.lastPathComponent, commit)
        let tokenizerOnly = try ZeroShotClassifier.modelDirectory("acme/tokenizer-only", environment: environment,
                                                                  files: ZeroShotClassifier.tokenizerFiles)
        XCTAssertEqual(tokenizerOnly.path, cache.appendingPathComponent("models--acme--tokenizer-only/snapshots/\(commit)").path)
        do {
            _ = try ZeroShotClassifier.modelDirectory("acme/tokenizer-only", environment: environment)
            XCTFail("a snapshot without weights is no model")
        } catch ZeroShotError.modelNotFound(_, _, _, .notCachedOffline(let repo, "main", _, let missing)) {
            XCTAssertEqual(repo, "acme/tokenizer-only")
            XCTAssertEqual(missing, ["preprocessor_config.json", "model.safetensors"])
        }

        // The command: `tokenize` works from the tokenizer files alone, and gives the ids the full model gives.
        let offline = ["HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": cache.path]
        let executable = CommandLineTests.executable
        let full = try CommandLineTests.runProcess(executable, ["tokenize", "--model", "acme/tiny-clip", "a photo of a cat"],
                                                   environment: offline)
        let partial = try CommandLineTests.runProcess(executable, ["tokenize", "--model", "acme/tokenizer-only", "a photo of a cat"],
                                                      environment: offline)
        XCTAssertEqual(full.status, 0, full.stderr)
        XCTAssertEqual(partial.status, 0, partial.stderr)
        XCTAssertTrue(full.stdout.contains("\"ids\""), full.stdout)
        XCTAssertEqual(partial.stdout, full.stdout)
        let classify = try CommandLineTests.runProcess(
            executable, ["classify", "--model", "acme/tokenizer-only", "--labels", "a,b", fixtureImage("chelsea.jpg").path],
            environment: offline)
        XCTAssertEqual(classify.status, 1)
        XCTAssertTrue(classify.stderr.contains("missing: preprocessor_config.json, model.safetensors"), classify.stderr)
    }
}
