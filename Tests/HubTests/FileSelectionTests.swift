import Foundation
import XCTest
@testable import Hub

/// Downloads of repos laid out as other families ship them, with the selection the caller names: the Hub layer
/// fetches what the selection asks for, and nothing about a model is built in.
final class FileSelectionTests: XCTestCase {
    private var hub: FakeHub!

    /// A SigLIP repo as google/siglip-* ships it: SentencePiece model, no tokenizer.json.
    private let siglip = FixtureRepo.make("acme/tiny-siglip", files: [
        "config.json": #"{"model_type":"siglip"}"#, "model.safetensors": "siglip weights",
        "preprocessor_config.json": #"{"image_processor_type":"SiglipImageProcessor"}"#, "spiece.model": "sentencepiece",
        "tokenizer_config.json": #"{"tokenizer_class":"SiglipTokenizer"}"#, "special_tokens_map.json": "{}",
        "README.md": "# SigLIP", ".gitattributes": "*.model filter=lfs",
    ], lfs: ["model.safetensors", "spiece.model"])

    /// A Chinese-CLIP repo: BERT WordPiece vocab.txt, sharded weights; a stray vocab.json without merges.txt.
    private let bert = FixtureRepo.make("acme/tiny-chinese-clip", files: [
        "config.json": #"{"model_type":"chinese_clip"}"#, "preprocessor_config.json": "{}",
        "model.safetensors.index.json": #"{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#,
        "model-00001-of-00002.safetensors": "shard 1", "model-00002-of-00002.safetensors": "shard 2",
        "vocab.txt": "[PAD]\n[UNK]\n[CLS]\n[SEP]\n猫\n", "vocab.json": "{}", "tokenizer_config.json": #"{"do_lower_case":true}"#,
        "added_tokens.json": "{}",
    ], lfs: ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])

    /// Every file a checkpoint needs but a tokenizer: only a vocab.json without its merges.txt.
    private let noTokenizer = FixtureRepo.make("acme/no-tokenizer", files: [
        "config.json": "{}", "model.safetensors": "weights", "preprocessor_config.json": "{}", "vocab.json": "{}",
        "tokenizer_config.json": "{}",
    ])

    /// Every tokenizer layout at once.
    private let allLayouts = FixtureRepo.make("acme/all-layouts", files: [
        "config.json": "{}", "model.safetensors": "weights", "preprocessor_config.json": "{}", "tokenizer.json": "{}",
        "vocab.json": "{}", "merges.txt": "", "spiece.model": "sp", "vocab.txt": "[UNK]\n",
    ])

    private var tinyClip: FixtureRepo!

    override func setUpWithError() throws {
        tinyClip = try FixtureRepo.loadAll().first { $0.id == "acme/tiny-clip" }
        hub = try FakeHub(repos: [siglip, bert, noTokenizer, allLayouts, tinyClip])
        let server = hub!
        addTeardownBlock { server.stop() }
    }

    private func locator(_ cache: URL, files: FileSelection, offline: Bool = false) -> ModelLocator {
        ModelLocator(environment: HubEnvironment(
            cacheDirectory: cache, endpoint: hub.hub.baseURL, offline: offline, metadataTimeout: 5, downloadTimeout: 5),
            files: files)
    }

    /// Names of the files the Hub was asked about (HEAD on a resolve URL), in order.
    private func headFiles(after start: Int = 0) -> [String] {
        hub.hub.requests[start...].filter { $0.method == "HEAD" && $0.path.contains("/resolve/") }
            .map { $0.path.components(separatedBy: "/resolve/")[1].split(separator: "/", maxSplits: 1)[1] }
            .map { String($0).removingPercentEncoding ?? String($0) }
    }

    private func assertContents(_ snapshot: URL, of repo: FixtureRepo, file: StaticString = #filePath, line: UInt = #line) throws {
        for name in try snapshotFiles(snapshot) {
            XCTAssertEqual(try Data(contentsOf: snapshot.appendingPathComponent(name)), repo.files[name]?.data, name,
                           file: file, line: line)
        }
    }

    func testSigLIPLikeRepoWithSentencePieceOnly() throws {
        let cache = try makeTemporaryDirectory(self)
        let snapshot = try locator(cache, files: anyFamilyFiles).resolveSync("acme/tiny-siglip")
        XCTAssertEqual(snapshot.path, cache.appendingPathComponent("models--acme--tiny-siglip/snapshots/\(siglip.sha)").path)
        XCTAssertEqual(try snapshotFiles(snapshot), [
            "config.json", "model.safetensors", "preprocessor_config.json", "special_tokens_map.json", "spiece.model",
            "tokenizer_config.json",
        ])
        try assertContents(snapshot, of: siglip)
        XCTAssertEqual(headFiles(), [
            "config.json", "preprocessor_config.json", "model.safetensors", "spiece.model", "tokenizer_config.json",
            "special_tokens_map.json",
        ])
        // The LFS files came from the CDN.
        XCTAssertEqual(hub.cdn.requests.count, 2)

        // Cached now: resolved offline, and `cachedSnapshot` finds it with this selection, not with CLIP's.
        hub.stop()
        XCTAssertEqual(try locator(cache, files: anyFamilyFiles, offline: true).resolveSync("acme/tiny-siglip").path, snapshot.path)
        let reference = try RepoReference(parsing: "acme/tiny-siglip")
        XCTAssertEqual(locator(cache, files: anyFamilyFiles).cachedSnapshot(reference)?.path, snapshot.path)
        XCTAssertNil(locator(cache, files: clipLikeFiles).cachedSnapshot(reference))
        guard case .notCachedOffline(_, _, _, let missing)? = hubError({
            _ = try locator(cache, files: clipLikeFiles, offline: true).resolveSync("acme/tiny-siglip")
        }) else { return XCTFail() }
        XCTAssertEqual(missing, ["tokenizer (one of: tokenizer.json; vocab.json + merges.txt)"])
    }

    func testBERTLikeRepoWithVocabTxtAndShards() throws {
        let cache = try makeTemporaryDirectory(self)
        let snapshot = try locator(cache, files: anyFamilyFiles).resolveSync("acme/tiny-chinese-clip")
        // vocab.json alone is no layout: vocab.txt is the first complete one.
        XCTAssertEqual(try snapshotFiles(snapshot), [
            "added_tokens.json", "config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
            "model.safetensors.index.json", "preprocessor_config.json", "tokenizer_config.json", "vocab.txt",
        ])
        try assertContents(snapshot, of: bert)
        XCTAssertFalse(headFiles().contains("vocab.json"))
        hub.stop()
        XCTAssertEqual(try locator(cache, files: anyFamilyFiles, offline: true).resolveSync("acme/tiny-chinese-clip").path,
                       snapshot.path)
    }

    func testFirstCompleteAlternativeIsFetched() throws {
        let cache = try makeTemporaryDirectory(self)
        var choice = tokenizerLayouts
        var files = anyFamilyFiles
        for (order, expected) in [([0, 1, 2, 3], ["tokenizer.json"]), ([2, 3, 0, 1], ["spiece.model"]),
                                  ([3, 1], ["vocab.txt"]), ([1, 0], ["vocab.json", "merges.txt"])] {
            choice.alternatives = order.map { tokenizerLayouts.alternatives[$0] }
            files.choices = [choice]
            let start = hub.hub.requests.count
            let snapshot = try locator(cache, files: files).resolveSync("acme/all-layouts")
            let tokenizerFiles = Set(tokenizerLayouts.alternatives.joined())
            XCTAssertEqual(headFiles(after: start).filter(tokenizerFiles.contains), expected, "\(order)")
            // Start over for the next order.
            try FileManager.default.removeItem(at: snapshot)
        }
    }

    func testRepoWithNoTokenizerLayoutNamesThemAll() throws {
        let cache = try makeTemporaryDirectory(self)
        for revision in ["main", noTokenizer.sha] {
            let error = hubError { _ = try locator(cache, files: anyFamilyFiles).resolveSync("acme/no-tokenizer@\(revision)") }
            guard case .unsupportedRepository(let repo, let reason)? = error else { return XCTFail("\(String(describing: error))") }
            XCTAssertEqual(repo, "acme/no-tokenizer")
            XCTAssertEqual(reason, "no tokenizer at revision '\(revision)': the repo has none of tokenizer.json; "
                           + "vocab.json + merges.txt; spiece.model; vocab.txt (it has vocab.json without merges.txt)")
            XCTAssertEqual(error?.description, "'acme/no-tokenizer' cannot be used: \(reason).")
        }
        // Refused before anything is fetched.
        XCTAssertEqual(headFiles(), [])
        XCTAssertEqual(hub.cdn.requests.count, 0)
    }

    func testTokenizerOnlySelectionFetchesNoWeights() throws {
        let cache = try makeTemporaryDirectory(self)
        let snapshot = try locator(cache, files: tokenizerOnlyFiles).resolveSync("acme/tiny-clip")
        XCTAssertEqual(try snapshotFiles(snapshot), ["config.json", "tokenizer.json", "tokenizer_config.json"])
        try assertContents(snapshot, of: tinyClip)
        XCTAssertEqual(hub.cdn.requests.count, 0, "the weights are not downloaded")

        // The full selection completes the same snapshot, fetching only what it lacks.
        let start = hub.hub.requests.count
        XCTAssertEqual(try locator(cache, files: clipLikeFiles).resolveSync("acme/tiny-clip").path, snapshot.path)
        XCTAssertEqual(Set(headFiles(after: start)), ["model.safetensors", "preprocessor_config.json"])
        XCTAssertEqual(try cacheTree(cache).filter { $0.path.hasPrefix("models--acme--tiny-clip") },
                       try goldenTree().filter { $0.path.hasPrefix("models--acme--tiny-clip") })
    }

    func testMissingShardNamesRepoRevisionAndFile() throws {
        var broken = bert
        broken.id = "acme/missing-shard"
        broken.files["model-00002-of-00002.safetensors"] = nil
        hub.state.with { $0.repos[broken.id] = broken }
        let cache = try makeTemporaryDirectory(self)
        let error = hubError { _ = try locator(cache, files: anyFamilyFiles).resolveSync("acme/missing-shard") }
        XCTAssertEqual(error, .fileNotFound(repo: "acme/missing-shard", revision: "main", file: "model-00002-of-00002.safetensors"))
    }
}
