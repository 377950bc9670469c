import Foundation
import XCTest
@testable import ZeroShot

/// `--text-cache`, `--no-text-cache` and ZEROSHOT_CACHE as a user runs them.
final class TextCacheCommandLineTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("text-cache-cli-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    func files(_ directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }

    func classify(_ extra: [String], environment: [String: String]) throws -> CommandLineTests.Run {
        let model = fixturesDirectory.appendingPathComponent("models/tiny-p8-quickgelu").path
        return try CommandLineTests.runProcess(CommandLineTests.executable, [
            "classify", "--model", model, "--classnames", "cifar10", "--templates", "openai-cifar", "--format", "json",
            fixtureImage("chelsea.jpg").path, fixtureImage("rocket.jpg").path,
        ] + extra, environment: environment)
    }

    func testDefaultLocationFollowsZeroshotCacheAndSecondRunPrintsTheSame() throws {
        let environment = ["ZEROSHOT_CACHE": root.path]
        let first = try classify([], environment: environment)
        XCTAssertEqual(first.status, 0, first.stderr)
        let directory = root.appendingPathComponent("text-embeddings")
        XCTAssertEqual(files(directory).count, 1)
        XCTAssertTrue(files(directory)[0].hasSuffix(".zstext"))
        let second = try classify([], environment: environment)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.stdout, first.stdout, "the same numbers, printed the same, from the cache")
        XCTAssertEqual(second.stderr, first.stderr)
        let uncached = try classify(["--no-text-cache"], environment: ["ZEROSHOT_CACHE": root.appendingPathComponent("unused").path])
        XCTAssertEqual(uncached.status, 0, uncached.stderr)
        XCTAssertEqual(uncached.stdout, first.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("unused").path))
    }

    func testTextCacheDirectoryOverridesTheLocation() throws {
        let given = root.appendingPathComponent("given")
        let r = try classify(["--text-cache", given.path], environment: ["ZEROSHOT_CACHE": root.appendingPathComponent("env").path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(files(given).count, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("env").path))
    }

    func testBothFlagsAreAUsageError() throws {
        let r = try classify(["--text-cache", root.path, "--no-text-cache"], environment: [:])
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.contains("give either --text-cache or --no-text-cache, not both"), r.stderr)
    }

    func testAnUnusableCacheIsAWarningNotAFailure() throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let blocker = root.appendingPathComponent("file")
        try Data("x".utf8).write(to: blocker)
        let broken = try classify(["--text-cache", blocker.appendingPathComponent("cache").path], environment: [:])
        XCTAssertEqual(broken.status, 0, broken.stderr)
        XCTAssertEqual(broken.stderr.components(separatedBy: "warning: cannot create the text-embedding cache directory").count, 2,
                       broken.stderr)
        let uncached = try classify(["--no-text-cache"], environment: [:])
        XCTAssertEqual(broken.stdout, uncached.stdout)
    }

    func testTwoProcessesAppendingAtOnceLeaveEveryRecordReadable() throws {
        let model = fixturesDirectory.appendingPathComponent("models/tiny-p8-quickgelu")
        let cache = root.appendingPathComponent("shared")
        let labelSets = ["cat,dog,rocket,car", "dog,car,boat,plane"]
        func arguments(_ labels: String, _ extra: [String]) -> [String] {
            ["classify", "--model", model.path, "--labels", labels, "--templates", "openai-cifar", "--format", "json",
             fixtureImage("chelsea.jpg").path] + extra
        }
        // Started together; each appends its prompts (the shared ones possibly both at once).
        var running: [(Process, Pipe, Pipe)] = []
        for labels in labelSets {
            let process = Process()
            process.executableURL = CommandLineTests.executable
            process.arguments = arguments(labels, ["--text-cache", cache.path])
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            running.append((process, out, err))
        }
        var outputs: [String] = []
        for (process, out, err) in running {
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, stderr)
            XCTAssertFalse(stderr.contains("warning"), stderr)
            outputs.append(String(decoding: stdout, as: UTF8.self))
        }
        // Every distinct prompt once, whole.
        XCTAssertEqual(files(cache).count, 1)
        let file = cache.appendingPathComponent(files(cache)[0])
        let templates = try PromptSets.templates("openai-cifar")
        let labels = Set(labelSets.flatMap { $0.split(separator: ",").map(String.init) })
        let prompts = try labels.flatMap { label in try templates.map { try applyHypothesisTemplate($0, to: label) } }
        let width = try ZeroShotClassifier(directory: model, options: .init(warn: { _ in })).model.embeddingWidth
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int)
        XCTAssertEqual(size, 64 + prompts.reduce(0) { $0 + 12 + $1.utf8.count + 4 * width })
        // Both runs again read everything (nothing appended) and print what they printed.
        for (labels, output) in zip(labelSets, outputs) {
            let again = try CommandLineTests.runProcess(CommandLineTests.executable, arguments(labels, ["--text-cache", cache.path]))
            XCTAssertEqual(again.stdout, output, again.stderr)
        }
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int, size)
    }

    func testAWriteThatFailsHalfwayLeavesNoPartialRecord() throws {
        // A file-size limit of 4 KiB (SIGXFSZ ignored, so the write fails with EFBIG) stands in for a full disk.
        // ThreadSanitizer's runtime dies of SIGBUS at start under such a limit (even `zeroshot --version`).
        if ProcessInfo.processInfo.environment["ZEROSHOT_SANITIZER"] == "thread" {
            throw XCTSkip("ThreadSanitizer's runtime cannot start under `ulimit -f 4`")
        }
        let model = fixturesDirectory.appendingPathComponent("models/tiny-p8-quickgelu").path
        let cache = root.appendingPathComponent("small")
        let command = [CommandLineTests.executable.path, "classify", "--model", model, "--classnames", "cifar10",
                       "--templates", "openai-cifar", "--format", "json", "--text-cache", cache.path,
                       fixtureImage("chelsea.jpg").path, fixtureImage("rocket.jpg").path].map { "'\($0)'" }.joined(separator: " ")
        let limited = try CommandLineTests.runProcess(URL(fileURLWithPath: "/bin/sh"),
                                                      ["-c", "trap '' XFSZ; ulimit -f 4; exec \(command)"])
        XCTAssertEqual(limited.status, 0, limited.stderr)
        XCTAssertEqual(limited.stderr.components(separatedBy: "warning: cannot append to ").count, 2, limited.stderr)
        XCTAssertTrue(limited.stderr.contains("new text embeddings are not cached"), limited.stderr)
        let unlimited = try classify(["--no-text-cache"], environment: [:])
        XCTAssertEqual(limited.stdout, unlimited.stdout)
        // Only the header is left: the partial append was cut off.
        XCTAssertEqual(files(cache).count, 1)
        let written = try XCTUnwrap(files(cache).first, "no cache file")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: cache.appendingPathComponent(written).path)[.size] as? Int, 64)
    }

    func testHelpDocumentsTheOptions() throws {
        for command in ["classify", "search", "embed"] {
            let r = try CommandLineTests.runProcess(CommandLineTests.executable, [command, "--help"])
            XCTAssertTrue(r.stdout.contains("--text-cache <dir>") && r.stdout.contains("--no-text-cache")
                          && r.stdout.contains("ZEROSHOT_CACHE"), "\(command): \(r.stdout)")
        }
    }
}
