import Foundation
import XCTest
import Inputs
@testable import ZeroShot
#if canImport(Glibc)
import Glibc
#endif

/// The disk cache of text embeddings: its file format, recovery from torn, corrupt and foreign files, concurrent
/// writers, and the classifier reading back bit for bit what it computed.
final class TextEmbeddingStoreTests: XCTestCase {
    /// Collects warnings from any thread.
    final class Warnings: @unchecked Sendable {
        private let lock = NSLock()
        private var messages: [String] = []
        var all: [String] { lock.lock(); defer { lock.unlock() }; return messages }
        var sink: @Sendable (String) -> Void { { [self] message in lock.lock(); messages.append(message); lock.unlock() } }
    }

    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("text-embedding-store-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        for path in immutable { _ = try? chattr("-i", path) }
        _ = try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Paths made immutable by `makeReadOnly`, made mutable again after the test.
    var immutable: [String] = []

    /// Runs `chattr FLAG PATH`; its exit status.
    func chattr(_ flag: String, _ path: String) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
        process.arguments = [flag, path]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Makes the cache directory and its files read-only: by their mode, or for root (whom modes do not bind) with
    /// the immutable attribute; skips the test where neither is possible.
    func makeReadOnly() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).map { directory.appendingPathComponent($0).path }
        if geteuid() != 0 {
            for file in files { try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: file) }
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: directory.path)
            return
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chattr") else { throw XCTSkip("no chattr for root") }
        for path in files + [directory.path] {
            guard try chattr("+i", path) == 0 else { throw XCTSkip("chattr +i is not supported here") }
            immutable.append(path)
        }
    }

    static let key = TextEmbeddingStore.modelKey(fingerprint: "f", tokenizerFiles: [], precision: "fp32", width: 4)

    func store(_ warnings: Warnings = Warnings(), width: Int = 4, key: [UInt8] = TextEmbeddingStoreTests.key) -> TextEmbeddingStore {
        TextEmbeddingStore(directory: directory, key: key, width: width, warn: warnings.sink)
    }

    /// A deterministic embedding of `width` floats for entry `i`, with bit patterns a rounding would change.
    static func embedding(_ i: Int, width: Int = 4) -> [Float] {
        (0..<width).map { d in Float(bitPattern: 0x3F00_0001 &+ UInt32(truncatingIfNeeded: i &* 7919 &+ d &* 104_729)) }
    }

    static func bits(_ rows: [[Float]]) -> [[UInt32]] { rows.map { $0.map(\.bitPattern) } }

    static let unicodePrompts = [
        "", " ", "a photo of a cat.", "line one\nline two\r\n", "tab\tand\u{0}nul", "café", "cafe\u{301}",
        "猫の写真", "👩‍👩‍👧 family", "\u{FEFF}bom", "\u{200B}", String(repeating: "long prompt ", count: 500),
    ]

    func testCRC32IsZlibs() {
        XCTAssertEqual(TextEmbeddingStore.crc32(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(TextEmbeddingStore.crc32([UInt8]()), 0)
        // Past the 8-byte stride and with an odd tail.
        XCTAssertEqual(TextEmbeddingStore.crc32(Array("The quick brown fox jumps over the lazy dog".utf8)), 0x414F_A339)
    }

    func testMissThenHitWithExactPromptsAndBits() throws {
        let warnings = Warnings()
        let first = store(warnings)
        let prompts = Self.unicodePrompts
        XCTAssertEqual(first.lookup(prompts), [TextEmbeddingStore.Entry?](repeating: nil, count: prompts.count))
        let entries = prompts.enumerated().map { i, p in
            TextEmbeddingStore.Entry(prompt: p, embedding: Self.embedding(i), truncated: i % 3 == 0)
        }
        first.append(entries)
        XCTAssertEqual(first.lookup(prompts).map { $0?.embedding.map(\.bitPattern) }, entries.map { $0.embedding.map(\.bitPattern) })
        // A new instance (as another run) reads them from the file.
        let second = store(warnings)
        let read = second.lookup(prompts + ["not cached", "cafe"])
        XCTAssertEqual(read.count, prompts.count + 2)
        for (i, entry) in entries.enumerated() {
            let got = try XCTUnwrap(read[i], "prompt #\(i)")
            XCTAssertEqual(got.embedding.map(\.bitPattern), entry.embedding.map(\.bitPattern), "prompt #\(i)")
            XCTAssertEqual(got.truncated, entry.truncated)
            XCTAssertEqual(Array(got.prompt.utf8), Array(entry.prompt.utf8))
        }
        XCTAssertNil(read[prompts.count])
        XCTAssertNil(read[prompts.count + 1])
        // "café" (NFC) and "cafe\u{301}" (NFD) are equal Swift strings but different prompts.
        XCTAssertNotEqual(read[5]?.embedding, read[6]?.embedding)
        XCTAssertEqual(warnings.all, [])
        // The file: header, then one record per prompt, 12 + L + 4·D bytes each.
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: first.url.path)[.size] as? Int)
        XCTAssertEqual(size, 64 + prompts.reduce(0) { $0 + 12 + $1.utf8.count + 16 })
        XCTAssertEqual(first.url.deletingLastPathComponent().standardizedFileURL.path, directory.standardizedFileURL.path)
        XCTAssertEqual(first.url.lastPathComponent, SHA256.hexString(Self.key) + ".zstext")
        // Appending what is there already adds nothing.
        second.append(entries)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: first.url.path)[.size] as? Int, size)
    }

    /// A prompt another writer stored first: append keeps the file's record and returns it, so that the caller
    /// uses what every later run will read (the same prompt from another batch may differ in the last bits).
    func testAppendReturnsTheRecordAnotherWriterStoredFirst() throws {
        let first = store(), second = store()
        XCTAssertEqual(first.append([.init(prompt: "a photo of a cat.", embedding: [1, 2, 3, 4])]), [nil])
        let returned = second.append([.init(prompt: "a photo of a cat.", embedding: [1, 2, 3, 4.0000005]),
                                      .init(prompt: "a photo of a dog.", embedding: [5, 6, 7, 8])])
        XCTAssertEqual(returned, [[1, 2, 3, 4], nil])
        XCTAssertEqual(store().lookup(["a photo of a cat.", "a photo of a dog."]).map { $0?.embedding },
                       [[1, 2, 3, 4], [5, 6, 7, 8]])
    }

    func testModelKeyChangesWithEveryPart() {
        let tokenizer = [(name: "tokenizer.json", bytes: Data("{}".utf8)), (name: "tokenizer_config.json", bytes: Data("{}".utf8))]
        let base = TextEmbeddingStore.modelKey(fingerprint: "abc", tokenizerFiles: tokenizer, precision: "fp32", width: 512)
        XCTAssertEqual(base, TextEmbeddingStore.modelKey(fingerprint: "abc", tokenizerFiles: tokenizer.reversed(),
                                                         precision: "fp32", width: 512))
        let others = [
            TextEmbeddingStore.modelKey(fingerprint: "abd", tokenizerFiles: tokenizer, precision: "fp32", width: 512),
            TextEmbeddingStore.modelKey(fingerprint: "abc", tokenizerFiles: [tokenizer[0]], precision: "fp32", width: 512),
            TextEmbeddingStore.modelKey(fingerprint: "abc", tokenizerFiles: [tokenizer[0], (name: "tokenizer_config.json", bytes: Data("{} ".utf8))],
                                        precision: "fp32", width: 512),
            TextEmbeddingStore.modelKey(fingerprint: "abc", tokenizerFiles: [tokenizer[0], (name: "special_tokens_map.json", bytes: Data("{}".utf8))],
                                        precision: "fp32", width: 512),
            TextEmbeddingStore.modelKey(fingerprint: "abc", tokenizerFiles: tokenizer, precision: "int8", width: 512),
            TextEmbeddingStore.modelKey(fingerprint: "abc", tokenizerFiles: tokenizer, precision: "fp32", width: 768),
        ]
        XCTAssertEqual(Set(others.map { SHA256.hexString($0) } + [SHA256.hexString(base)]).count, others.count + 1)
    }

    func testTornLastRecordIsCutOffOnTheNextAppend() throws {
        let first = store()
        first.append((0..<3).map { .init(prompt: "p\($0)", embedding: Self.embedding($0)) })
        let whole = try Data(contentsOf: first.url)
        // A run killed while writing: the first 20 bytes of a record.
        var torn = [UInt8]()
        TextEmbeddingStore.encode(.init(prompt: "killed", embedding: Self.embedding(9)), into: &torn)
        try (whole + torn.prefix(20)).write(to: first.url)

        let warnings = Warnings()
        let second = store(warnings)
        XCTAssertEqual(second.lookup(["p0", "p1", "p2", "killed"]).map { $0?.embedding }, [Self.embedding(0), Self.embedding(1), Self.embedding(2), nil])
        XCTAssertEqual(warnings.all, [], "a partial record may be another process's append in progress: no warning on reading")
        second.append([.init(prompt: "p3", embedding: Self.embedding(3))])
        XCTAssertEqual(warnings.all.count, 1)
        XCTAssertTrue(warnings.all[0].contains(first.url.path) && warnings.all[0].contains("last record is incomplete (20 bytes"),
                      warnings.all[0])
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: first.url.path)[.size] as? Int)
        XCTAssertEqual(size, whole.count + 12 + 2 + 16)
        let third = store()
        XCTAssertEqual(third.lookup(["p0", "p1", "p2", "p3"]).map { $0?.embedding }, (0..<4).map { Self.embedding($0) })
    }

    func testCorruptRecordIsAMissAndIsComputedAgain() throws {
        let first = store()
        first.append((0..<3).map { .init(prompt: "p\($0)", embedding: Self.embedding($0)) })
        var bytes = try Data(contentsOf: first.url)
        bytes[64 + 30 + 8 + 2 + 1] ^= 0x10  // one bit of p1's first float (records of 30 bytes)
        try bytes.write(to: first.url)
        let warnings = Warnings()
        let second = store(warnings)
        XCTAssertEqual(second.lookup(["p0", "p1", "p2"]).map { $0?.embedding }, [Self.embedding(0), nil, Self.embedding(2)])
        XCTAssertEqual(warnings.all.count, 1)
        XCTAssertTrue(warnings.all[0].contains("\"p1\"") && warnings.all[0].contains("checksum"), warnings.all[0])
        second.append([.init(prompt: "p1", embedding: Self.embedding(1))])
        XCTAssertEqual(store().lookup(["p1"])[0]?.embedding, Self.embedding(1), "the later record wins")
    }

    func testBadHeadersAreNotUsedAndTheFileIsReplaced() throws {
        let url = store().url
        var otherVersion = TextEmbeddingStore.header(key: Self.key, width: 4)
        otherVersion[8] = 2
        otherVersion.replaceSubrange(60..<64, with: withUnsafeBytes(of: TextEmbeddingStore.crc32(otherVersion[0..<60]).littleEndian, Array.init))
        var flipped = TextEmbeddingStore.header(key: Self.key, width: 4)
        flipped[20] ^= 1
        let cases: [(String, Data, String)] = [
            ("foreign", Data("PNG and other things, not a cache at all; long enough for a header of 64 bytes........".utf8),
             "not a text-embedding cache file"),
            ("empty", Data(), "too short for a header (0 bytes)"),
            ("other version", Data(otherVersion), "format version 2"),
            ("corrupt header", Data(flipped), "header is corrupt"),
            ("other width", Data(TextEmbeddingStore.header(key: Self.key, width: 8)), "8 wide, the model's 4"),
            ("other key", Data(TextEmbeddingStore.header(key: [UInt8](repeating: 7, count: 32), width: 4)), "another model key"),
        ]
        for (what, contents, reason) in cases {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try contents.write(to: url)
            let warnings = Warnings()
            let s = store(warnings)
            XCTAssertEqual(s.lookup(["p0"]), [nil], what)
            XCTAssertEqual(warnings.all.count, 1, what)
            XCTAssertTrue(warnings.all.first?.hasPrefix(url.path + " is not used: ") == true
                          && warnings.all.first?.contains(reason) == true, "\(what): \(warnings.all)")
            s.append([.init(prompt: "p0", embedding: Self.embedding(0))])
            let again = Warnings()
            XCTAssertEqual(store(again).lookup(["p0"])[0]?.embedding, Self.embedding(0), what)
            XCTAssertEqual(again.all, [], what)
            // Nothing left beside it.
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [url.lastPathComponent], what)
        }
    }

    func testUnusableDirectoryWarnsOnceAndMisses() throws {
        // A regular file where the directory should be: the directory cannot be made (as root, too).
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let blocker = directory.appendingPathComponent("file")
        try Data("x".utf8).write(to: blocker)
        let warnings = Warnings()
        let s = TextEmbeddingStore(directory: blocker.appendingPathComponent("cache"), key: Self.key, width: 4, warn: warnings.sink)
        XCTAssertEqual(s.lookup(["a"]), [nil])
        s.append([.init(prompt: "a", embedding: Self.embedding(0))])
        XCTAssertEqual(s.lookup(["a"]), [nil])
        XCTAssertEqual(warnings.all.count, 1, "\(warnings.all)")
        XCTAssertTrue(warnings.all[0].contains("cannot create the text-embedding cache directory"), warnings.all[0])
    }

    func testReadOnlyDirectoryStillReadsWhatIsThere() throws {
        store().append([.init(prompt: "a", embedding: Self.embedding(0))])
        try makeReadOnly()
        let warnings = Warnings()
        let s = store(warnings)
        XCTAssertEqual(s.lookup(["a", "b"]).map { $0?.embedding }, [Self.embedding(0), nil])
        s.append([.init(prompt: "b", embedding: Self.embedding(1))])
        s.append([.init(prompt: "c", embedding: Self.embedding(2))])
        XCTAssertEqual(warnings.all.count, 1, "\(warnings.all)")
        XCTAssertTrue(warnings.all[0].contains("cannot be written"), warnings.all[0])
    }

    func testConcurrentWritersWithSeparateInstancesLoseNothing() throws {
        let writers = 4, perWriter = 120, width = 16
        let key = TextEmbeddingStore.modelKey(fingerprint: "concurrent", tokenizerFiles: [], precision: "fp32", width: width)
        let warnings = Warnings()
        let directory = self.directory!
        DispatchQueue.concurrentPerform(iterations: writers) { w in
            let s = TextEmbeddingStore(directory: directory, key: key, width: width, warn: warnings.sink)
            // Batches of 10, each with its own prompts and some every writer appends.
            for batch in stride(from: 0, to: perWriter, by: 10) {
                var entries = (batch..<(batch + 10)).map { i in
                    TextEmbeddingStore.Entry(prompt: "writer \(w) prompt \(i)", embedding: Self.embedding(w * 1000 + i, width: width))
                }
                entries.append(.init(prompt: "shared \(batch)", embedding: Self.embedding(-batch, width: width)))
                s.append(entries)
                _ = s.lookup(["shared \(batch)", "writer \((w + 1) % writers) prompt \(batch)"])
            }
        }
        XCTAssertEqual(warnings.all, [])
        let reader = TextEmbeddingStore(directory: directory, key: key, width: width, warn: warnings.sink)
        var expected: [String: [Float]] = [:]
        for w in 0..<writers {
            for i in 0..<perWriter { expected["writer \(w) prompt \(i)"] = Self.embedding(w * 1000 + i, width: width) }
        }
        for batch in stride(from: 0, to: perWriter, by: 10) { expected["shared \(batch)"] = Self.embedding(-batch, width: width) }
        let prompts = expected.keys.sorted()
        let read = reader.lookup(prompts)
        for (prompt, entry) in zip(prompts, read) {
            XCTAssertEqual(entry?.embedding.map(\.bitPattern), expected[prompt]!.map(\.bitPattern), prompt)
        }
        // Every prompt once: a writer indexes the others' records under the lock before appending.
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: reader.url.path)[.size] as? Int)
        XCTAssertEqual(size, 64 + prompts.reduce(0) { $0 + 12 + $1.utf8.count + 4 * width })
        XCTAssertEqual(warnings.all, [])
    }

    func testDefaultDirectory() {
        XCTAssertEqual(TextEmbeddingStore.defaultDirectory(environment: ["ZEROSHOT_CACHE": "/z", "XDG_CACHE_HOME": "/x", "HOME": "/h"]).path,
                       "/z/text-embeddings")
        XCTAssertEqual(TextEmbeddingStore.defaultDirectory(environment: ["ZEROSHOT_CACHE": "", "XDG_CACHE_HOME": "/x", "HOME": "/h"]).path,
                       "/x/zeroshot/text-embeddings")
        XCTAssertEqual(TextEmbeddingStore.defaultDirectory(environment: ["HOME": "/h"]).path, "/h/.cache/zeroshot/text-embeddings")
    }

    // MARK: - The classifier

    static func classifier(_ model: String = "tiny-p8-quickgelu", cache: URL?, precision: Precision = .fp32,
                           warnings: Warnings = Warnings()) throws -> ZeroShotClassifier {
        try ZeroShotClassifier(directory: fixturesDirectory.appendingPathComponent("models/\(model)"),
                               options: .init(precision: precision, textEmbeddingCache: cache, warn: warnings.sink))
    }

    func cacheFiles() throws -> [String] {
        guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    func testSecondRunReadsTheFirstRunsEmbeddingsBitForBit() throws {
        let names = try XCTUnwrap(PromptSets.builtInClassNames("cifar10"))
        let templates = try XCTUnwrap(PromptSets.builtInTemplates("openai-cifar"))
        let images: [ImageInput] = ["chelsea.jpg", "rocket.jpg"].map { .file(fixtureImage($0)) }

        let first = try Self.classifier(cache: directory)
        let firstEmbeddings = try first.classEmbeddings(classNames: names, templates: templates)
        let firstPredictions = try first.classify(images, candidateLabels: names, hypothesisTemplates: templates).map { try $0.get() }
        XCTAssertEqual(try cacheFiles().count, 1)
        let file = directory.appendingPathComponent(try cacheFiles()[0])
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int)
        XCTAssertEqual(size, 64 + names.count * templates.count * (12 + 4 * first.model.embeddingWidth)
                       + names.flatMap { n in templates.map { try! applyHypothesisTemplate($0, to: n).utf8.count } }.reduce(0, +))

        let second = try Self.classifier(cache: directory)
        let secondEmbeddings = try second.classEmbeddings(classNames: names, templates: templates)
        let secondPredictions = try second.classify(images, candidateLabels: names, hypothesisTemplates: templates).map { try $0.get() }
        XCTAssertEqual(Self.bits(secondEmbeddings), Self.bits(firstEmbeddings))
        XCTAssertEqual(secondPredictions.map { $0.map(\.label) }, firstPredictions.map { $0.map(\.label) })
        XCTAssertEqual(secondPredictions.map { $0.map(\.score.bitPattern) }, firstPredictions.map { $0.map(\.score.bitPattern) })
        XCTAssertEqual(secondPredictions.map { $0.map(\.logit.bitPattern) }, firstPredictions.map { $0.map(\.logit.bitPattern) })
        // All read: nothing appended.
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int, size)

        // And the same numbers as without a cache (transformers' parity is the no-cache path's).
        let uncached = try Self.classifier(cache: nil).classEmbeddings(classNames: names, templates: templates)
        for (a, b) in zip(uncached, secondEmbeddings) {
            XCTAssertLessThanOrEqual(zip(a, b).map { abs($0 - $1) }.max()!, 1e-6)
        }
    }

    func testEveryFamilyReadsBackItsOwnEmbeddings() throws {
        let prompts = ["a photo of a cat.", "一张猫的照片。", "a photo of a rocket."]
        for (n, checkpoint) in PromptEnsembleTests.checkpoints.enumerated() {
            let first = try Self.classifier(checkpoint, cache: directory).textEmbeddings(prompts)
            XCTAssertEqual(try cacheFiles().count, n + 1, checkpoint)
            let second = try Self.classifier(checkpoint, cache: directory).textEmbeddings(prompts)
            XCTAssertEqual(Self.bits(second), Self.bits(first), checkpoint)
            XCTAssertEqual(first[0].count, try Self.classifier(checkpoint, cache: nil).model.embeddingWidth, checkpoint)
        }
    }

    func testPartialHitsComputeOnlyTheRest() throws {
        let first = try Self.classifier(cache: directory)
        let a = try first.textEmbeddings(["a photo of a cat.", "a photo of a dog."])
        let second = try Self.classifier(cache: directory)
        let b = try second.textEmbeddings(["a photo of a dog.", "a photo of a bird.", "a photo of a cat.", "a photo of a dog."])
        XCTAssertEqual(Self.bits([b[0], b[2], b[3]]), Self.bits([a[1], a[0], a[1]]))
        let third = try Self.classifier(cache: directory)
        XCTAssertEqual(Self.bits(try third.textEmbeddings(["a photo of a bird."])), Self.bits([b[1]]))
    }

    func testPrecisionModelAndTokenizerGiveTheirOwnFiles() throws {
        _ = try Self.classifier(cache: directory).textEmbeddings(["a photo of a cat."])
        _ = try Self.classifier(cache: directory, precision: .int8).textEmbeddings(["a photo of a cat."])
        _ = try Self.classifier("tiny-p16-gelu", cache: directory).textEmbeddings(["a photo of a cat."])
        XCTAssertEqual(try cacheFiles().count, 3)
        // The same model with a tokenizer file changed (a trailing newline: same tokens, other bytes).
        let copy = directory.deletingLastPathComponent().appendingPathComponent("model-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.copyItem(at: fixturesDirectory.appendingPathComponent("models/tiny-p8-quickgelu"), to: copy)
        let sameFiles = try ZeroShotClassifier(directory: copy, options: .init(textEmbeddingCache: directory, warn: { _ in }))
        _ = try sameFiles.textEmbeddings(["a photo of a cat."])
        XCTAssertEqual(try cacheFiles().count, 3, "the same files under another directory share the cache")
        let config = copy.appendingPathComponent("tokenizer_config.json")
        try (try Data(contentsOf: config) + Data("\n".utf8)).write(to: config)
        let changed = try ZeroShotClassifier(directory: copy, options: .init(textEmbeddingCache: directory, warn: { _ in }))
        _ = try changed.textEmbeddings(["a photo of a cat."])
        XCTAssertEqual(try cacheFiles().count, 4)
    }

    func testTruncationWarningIsRepeatedOnAHit() throws {
        let long = "a photo of " + String(repeating: "very ", count: 100) + "big cat."
        let warnings = Warnings()
        let first = try Self.classifier(cache: directory, warnings: warnings)
        let a = try first.textEmbeddings([long])
        XCTAssertEqual(warnings.all.filter { $0.contains("truncated") }.count, 1, "\(warnings.all)")
        let again = Warnings()
        let b = try Self.classifier(cache: directory, warnings: again).textEmbeddings([long])
        XCTAssertEqual(again.all, warnings.all)
        XCTAssertEqual(Self.bits(a), Self.bits(b))
    }

    func testAnUnusableCacheNeverFailsClassification() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let blocker = directory.appendingPathComponent("not-a-directory")
        try Data("x".utf8).write(to: blocker)
        let warnings = Warnings()
        let broken = try Self.classifier(cache: blocker.appendingPathComponent("cache"), warnings: warnings)
        let names = ["cat", "dog", "rocket"], templates = ["a photo of a {}.", "a drawing of a {}."]
        let got = try broken.classEmbeddings(classNames: names, templates: templates)
        _ = try broken.textEmbeddings(["another text"])
        let want = try Self.classifier(cache: nil).classEmbeddings(classNames: names, templates: templates)
        XCTAssertEqual(Self.bits(got), Self.bits(want))
        XCTAssertEqual(warnings.all.count, 1, "\(warnings.all)")
        XCTAssertTrue(warnings.all[0].contains(blocker.appendingPathComponent("cache").path), warnings.all[0])
    }

    func testABadFileThatCannotBeReplacedIsOneWarning() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = store().url
        try Data(repeating: 0, count: 100).write(to: url)
        try makeReadOnly()
        let warnings = Warnings()
        let s = store(warnings)
        XCTAssertEqual(s.lookup(["a"]), [nil])
        s.append([.init(prompt: "a", embedding: Self.embedding(0))])
        XCTAssertEqual(s.lookup(["a"]), [nil])
        XCTAssertEqual(warnings.all.count, 1, "\(warnings.all)")
        XCTAssertTrue(warnings.all.first?.hasPrefix(url.path + " is not used: it is not a text-embedding cache file") == true
                      && warnings.all.first?.contains("it cannot be replaced") == true, "\(warnings.all)")
        XCTAssertEqual(try Data(contentsOf: url), Data(repeating: 0, count: 100))
    }

    func testReadOnlyCacheGivesItsHitsAndCorrectResults() throws {
        let old = ["a photo of a cat.", "a photo of a dog."], new = ["a photo of a rocket.", "a photo of a bird."]
        let first = try Self.classifier(cache: directory).textEmbeddings(old)
        try makeReadOnly()
        let warnings = Warnings()
        let reader = try Self.classifier(cache: directory, warnings: warnings)
        let got = try reader.textEmbeddings(old + new)
        _ = try reader.textEmbeddings(["a photo of a car."])
        XCTAssertEqual(Self.bits(Array(got[0..<2])), Self.bits(first))
        let want = try Self.classifier(cache: nil).textEmbeddings(new)
        for (a, b) in zip(got[2...], want) { XCTAssertLessThanOrEqual(zip(a, b).map { abs($0 - $1) }.max()!, 1e-6) }
        XCTAssertEqual(warnings.all.count, 1, "\(warnings.all)")
        XCTAssertTrue(warnings.all.first?.contains("cannot be written") == true, "\(warnings.all)")
    }

    func testUnicodePromptsThroughTheClassifier() throws {
        let prompts = Self.unicodePrompts
        let first = try Self.classifier(cache: directory).textEmbeddings(prompts)
        let second = try Self.classifier(cache: directory).textEmbeddings(prompts)
        XCTAssertEqual(Self.bits(first), Self.bits(second))
    }
}
