import Foundation
import TestSupport
import XCTest
@testable import ZeroShot

extension XCTestCase {
    /// A new empty folder under the temporary directory, removed when the test ends.
    func temporaryFolder(_ prefix: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// Makes `url` a file of `size` bytes, sparse past what it holds (created empty when absent).
    func makeSparse(_ url: URL, size: UInt64) throws {
        if !FileManager.default.fileExists(atPath: url.path) {
            XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: nil))
        }
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: size)
        try handle.close()
    }
}

/// Sizes read from input are bounded before memory is allocated: template and class-name files, and the rows of one
/// text-tower pass however many labels are given.
final class InputLimitTests: XCTestCase {
    func testClassNameFileOverTheLimitIsRefusedBeforeItIsRead() throws {
        let dir = try temporaryFolder("zeroshot-limits")
        let file = dir.appendingPathComponent("names.txt")
        try Data("cat\ndog\nbird\n".utf8).write(to: file)
        XCTAssertEqual(try PromptSets.readLines(file.path, what: "class names", maxBytes: 13).map(\.1), ["cat", "dog", "bird"])
        XCTAssertThrowsError(try PromptSets.readLines(file.path, what: "class names", maxBytes: 12)) { error in
            XCTAssertEqual(error as? PromptSetError, .unreadable(
                file.path, reason: "13 bytes, over the limit of 12 bytes for a file of class names"))
        }
        // A device that never ends is read up to the limit, then refused.
        XCTAssertThrowsError(try PromptSets.classNames("/dev/zero")) { error in
            XCTAssertEqual(error as? PromptSetError, .unreadable(
                "/dev/zero", reason: "more than 16777216 bytes, over the limit of 16 MiB for a file of class names"))
        }
        XCTAssertEqual(PromptSets.maxFileBytes, 16 << 20)
        // A sparse file over the limit is refused from its size alone.
        let big = dir.appendingPathComponent("big.txt")
        try makeSparse(big, size: UInt64(PromptSets.maxFileBytes) + 1)
        XCTAssertThrowsError(try PromptSets.templates(big.path)) { error in
            XCTAssertTrue("\(error)".contains("16777217 bytes, over the limit of 16 MiB for a file of templates"), "\(error)")
        }
        // Missing files and folders still say so.
        XCTAssertThrowsError(try PromptSets.classNames(dir.appendingPathComponent("none.txt").path)) { error in
            XCTAssertTrue("\(error)".contains("No such file or directory"), "\(error)")
        }
        XCTAssertThrowsError(try PromptSets.classNames(dir.path)) { error in
            XCTAssertTrue("\(error)".contains("it is a directory"), "\(error)")
        }
    }

    func testManyLabelsRunTheTextTowerInBoundedPasses() throws {
        let directory = fixturesDirectory.appendingPathComponent("models/tiny-f16")
        let classifier = try ZeroShotClassifier(directory: directory, options: .init(warn: { _ in }))
        let labels = (0..<2_100).map { "label number \($0)" }
        let embeddings = try classifier.labelEmbeddings(labels, hypothesisTemplate: "a photo of {}.")
        XCTAssertEqual(embeddings.count, labels.count)
        XCTAssertLessThanOrEqual(classifier.largestTextPass, ZeroShotClassifier.promptBatchSize)
        XCTAssertGreaterThan(classifier.largestTextPass, 0)
        // The same embeddings as a few labels alone give.
        let alone = try ZeroShotClassifier(directory: directory, options: .init(warn: { _ in }))
        let some = [0, 1023, 1024, 2099]
        let few = try alone.labelEmbeddings(some.map { labels[$0] }, hypothesisTemplate: "a photo of {}.")
        for (row, i) in some.enumerated() {
            for (a, b) in zip(few[row], embeddings[i]) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        }
    }

    func testLabelAndPromptCountsAreBounded() throws {
        let classifier = try ZeroShotClassifier(directory: fixturesDirectory.appendingPathComponent("models/tiny-f16"),
                                                options: .init(warn: { _ in }))
        let tooMany = [String](repeating: "cat", count: ZeroShotClassifier.maxCandidateLabels + 1)
        XCTAssertThrowsError(try classifier.labelEmbeddings(tooMany, hypothesisTemplate: "a photo of {}.")) { error in
            XCTAssertEqual(error as? ZeroShotError, .tooManyLabels(200_001, limit: 200_000))
            XCTAssertTrue("\(error)".hasPrefix("200001 candidate labels, more than the limit of 200000"), "\(error)")
        }
        XCTAssertThrowsError(try classifier.classify(.file(fixturesDirectory.appendingPathComponent("pipeline/images/rocket.jpg")),
                                                     candidateLabels: tooMany)) { error in
            XCTAssertEqual(error as? ZeroShotError, .tooManyLabels(200_001, limit: 200_000))
        }
        let names = [String](repeating: "cat", count: 30_000)
        let templates = [String](repeating: "a photo of {}.", count: 67)
        XCTAssertThrowsError(try classifier.classEmbeddings(classNames: names, templates: templates)) { error in
            XCTAssertEqual(error as? ZeroShotError, .tooManyPrompts(classNames: 30_000, templates: 67, limit: 2_000_000))
            XCTAssertTrue("\(error)".contains("30000 class names x 67 templates make more prompts than the limit of 2000000"),
                          "\(error)")
        }
        XCTAssertThrowsError(try classifier.classEmbeddings(classNames: tooMany, templates: ["{}", "a {}"])) { error in
            XCTAssertEqual(error as? ZeroShotError, .tooManyLabels(200_001, limit: 200_000))
        }
    }

    func testModelFingerprintReadsAtMostTheLimitOfConfigJSON() throws {
        let dir = try temporaryFolder("zeroshot-limits")
        let config = dir.appendingPathComponent("config.json")
        try makeSparse(config, size: UInt64(4 << 20) + 1)
        XCTAssertThrowsError(try ModelIdentity.fingerprint(directory: dir)) { error in
            XCTAssertEqual(error as? ModelIdentityError, .unreadable(
                path: config.path, reason: "4194305 bytes, over the limit of 4 MiB for config.json"))
        }
    }
}

/// Every file of a checkpoint is read with its size checked first: a JSON configuration at most 4 MiB, a tokenizer
/// file at most 64 MiB (`FileContents`); the model's error names the file and the limit.
final class ModelFileLimitTests: XCTestCase {
    /// A copy of fixture model `name` whose file `file` is replaced by a sparse file of `size` bytes.
    private func model(_ name: String, withSparse file: String, size: UInt64) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-model-limits-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: fixturesDirectory.appendingPathComponent("models/\(name)"), to: dir)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent(file)
        try? FileManager.default.removeItem(at: url)
        try makeSparse(url, size: size)
        return dir
    }

    private func assertRefused(_ name: String, _ file: String, size: UInt64, limit: String,
                               file source: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try model(name, withSparse: file, size: size)
        XCTAssertThrowsError(try ZeroShotClassifier(directory: dir), file: source, line: line) { error in
            let text = "\(error.localizedDescription)"
            XCTAssertTrue(text.contains(file), "\(file): \(text)", file: source, line: line)
            XCTAssertTrue(text.contains("\(size) bytes, over the limit of \(limit)"), "\(file): \(text)",
                          file: source, line: line)
        }
    }

    func testConfigurationsOverFourMiBAreRefusedNamingTheFile() throws {
        for file in ["config.json", "preprocessor_config.json", "tokenizer_config.json"] {
            try assertRefused("tiny-f16", file, size: (4 << 20) + 1, limit: "4 MiB")
        }
        try assertRefused("tiny-sharded", "model.safetensors.index.json", size: (4 << 20) + 1, limit: "4 MiB")
    }

    func testTokenizerFilesOverSixtyFourMiBAreRefusedNamingTheFile() throws {
        try assertRefused("tiny-f16", "tokenizer.json", size: (64 << 20) + 1, limit: "64 MiB")
        try assertRefused("chinese-clip-crop", "vocab.txt", size: (64 << 20) + 1, limit: "64 MiB")
        try assertRefused("siglip-p8-nomask", "spiece.model", size: (64 << 20) + 1, limit: "64 MiB")
    }
}

/// JSON nesting is bounded by Foundation's parser (512 levels) for every JSON file and body: a deeper document is an
/// error naming the file, never a stack overflow.
final class JSONDepthTests: XCTestCase {
    private func nested(_ depth: Int) -> Data { Data((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8) }

    func testFoundationsParsersStopAtFiveHundredTwelveLevels() {
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: nested(512)))
        XCTAssertThrowsError(try JSONSerialization.jsonObject(with: nested(513)))
        XCTAssertThrowsError(try JSONSerialization.jsonObject(with: nested(1_000_000)))
        struct Any1: Decodable {}
        XCTAssertThrowsError(try JSONDecoder().decode([Any1].self, from: nested(1_000_000)))
    }

    func testDeepConfigAndTokenizerFilesAreErrorsNamingTheFile() throws {
        for file in ["config.json", "tokenizer.json", "preprocessor_config.json"] {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-depth-\(UUID().uuidString)")
            try FileManager.default.copyItem(at: fixturesDirectory.appendingPathComponent("models/tiny-f16"), to: dir)
            addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
            try nested(1_000_000).write(to: dir.appendingPathComponent(file))
            XCTAssertThrowsError(try ZeroShotClassifier(directory: dir)) { error in
                XCTAssertTrue(error.localizedDescription.contains(file), "\(file): \(error.localizedDescription)")
            }
        }
    }
}

/// A local file read whole (an image, an eval manifest) is refused from its size over 1 GiB before anything is
/// allocated; the other inputs of the run keep their results.
final class LocalFileLimitTests: XCTestCase {
    func testHugeImageFileIsAnErrorAndTheOthersAreClassified() throws {
        let dir = try temporaryFolder("zeroshot-big-image")
        // A real PNG with a sparse tail of 1 TiB: sniffed as an image by the folder walk, refused from its size.
        let good = fixturesDirectory.appendingPathComponent("pipeline/images/camera_gray.jpg")
        let big = dir.appendingPathComponent("big.png")
        try FileManager.default.copyItem(at: fixturesDirectory.appendingPathComponent("images/png_gray.png"), to: big)
        try makeSparse(big, size: 1 << 40)
        try FileManager.default.copyItem(at: good, to: dir.appendingPathComponent("good.jpg"))
        let run = try ZeroshotProcess.run(["classify", "--model", try fixtureModelDirectory().path, "--no-text-cache",
                                           "--labels", "cat,dog", "--format", "jsonl", dir.path])
        XCTAssertEqual(run.status, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("big.png: the file is 1099511627776 bytes, over the limit of 1073741824 bytes"),
                      run.stderr)
        XCTAssertEqual(run.stdout.split(separator: "\n").filter { $0.contains("good.jpg") && $0.contains("predictions") }.count,
                       1, run.stdout)
    }
}
