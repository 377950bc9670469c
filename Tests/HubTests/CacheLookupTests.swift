import Foundation
import XCTest
@testable import Hub

/// Lookups in cache trees built by hand the way huggingface_hub writes them, with no network (offline, and the
/// endpoint is a closed port).
final class CacheLookupTests: XCTestCase {
    private let commitA = "0123456789abcdef0123456789abcdef01234567"
    private let commitB = "fedcba9876543210fedcba9876543210fedcba98"

    /// Writes `models--org--name` with blobs, `snapshots/<commit>/<file> -> ../../blobs/<etag>` and refs.
    @discardableResult
    private func makeSnapshot(
        cache: URL, repo: String, commit: String, files: [String: String], refs: [String: String] = [:]
    ) throws -> URL {
        let storage = cache.appendingPathComponent("models--" + repo.replacingOccurrences(of: "/", with: "--"))
        let blobs = storage.appendingPathComponent("blobs")
        let snapshot = storage.appendingPathComponent("snapshots/\(commit)")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        for (index, (name, content)) in files.sorted(by: { $0.key < $1.key }).enumerated() {
            let etag = String(format: "%040x", index + 1) + commit.prefix(4)
            try Data(content.utf8).write(to: blobs.appendingPathComponent(etag))
            let pointer = snapshot.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: pointer.deletingLastPathComponent(), withIntermediateDirectories: true)
            let depth = name.split(separator: "/").count + 1
            try FileManager.default.createSymbolicLink(
                atPath: pointer.path, withDestinationPath: String(repeating: "../", count: depth) + "blobs/" + etag)
        }
        for (ref, value) in refs {
            let url = storage.appendingPathComponent("refs/\(ref)")
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(value.utf8).write(to: url)
        }
        return snapshot
    }

    private let singleFile: [String: String] = [
        "config.json": "{}", "model.safetensors": "weights", "tokenizer.json": "{}",
        "tokenizer_config.json": "{}", "preprocessor_config.json": "{}",
    ]

    private func offlineLocator(_ cache: URL, files: FileSelection = clipLikeFiles) -> ModelLocator {
        ModelLocator(environment: HubEnvironment(cacheDirectory: cache, endpoint: deadEndpoint, offline: true), files: files)
    }

    func testFindsSnapshotThroughRefsMain() throws {
        let cache = try makeTemporaryDirectory(self)
        let snapshot = try makeSnapshot(cache: cache, repo: "acme/clip", commit: commitA, files: singleFile, refs: ["main": commitA])
        let found = try offlineLocator(cache).resolveSync("acme/clip")
        XCTAssertEqual(found.standardizedFileURL.path, snapshot.standardizedFileURL.path)
        XCTAssertEqual(try String(contentsOf: found.appendingPathComponent("model.safetensors"), encoding: .utf8), "weights")
        // Online too: a complete snapshot is used without contacting the (unreachable) endpoint.
        let online = ModelLocator(
            environment: HubEnvironment(cacheDirectory: cache, endpoint: deadEndpoint, offline: false), files: clipLikeFiles)
        XCTAssertEqual(try online.resolveSync("acme/clip").path, found.path)
    }

    func testAsyncResolve() async throws {
        let cache = try makeTemporaryDirectory(self)
        let snapshot = try makeSnapshot(cache: cache, repo: "acme/clip", commit: commitA, files: singleFile, refs: ["main": commitA])
        let found = try await offlineLocator(cache).resolve("acme/clip")
        XCTAssertEqual(found.path, snapshot.path)
    }

    func testBranchAndCommitRevisions() throws {
        let cache = try makeTemporaryDirectory(self)
        try makeSnapshot(cache: cache, repo: "acme/clip", commit: commitA, files: singleFile, refs: ["main": commitA])
        let b = try makeSnapshot(
            cache: cache, repo: "acme/clip", commit: commitB, files: singleFile, refs: ["v2": commitB + "\n", "refs/pr/3": commitB])
        let locator = offlineLocator(cache)
        XCTAssertEqual(try locator.resolveSync("acme/clip@v2").path, b.path)
        XCTAssertEqual(try locator.resolveSync("acme/clip@refs/pr/3").path, b.path)
        XCTAssertEqual(try locator.resolveSync("acme/clip@\(commitB)").path, b.path)
        XCTAssertEqual(try locator.resolveSync("acme/clip@\(commitA)").path.hasSuffix(commitA), true)
        // A short hash is a ref name, as in huggingface_hub: not cached.
        guard case .notCachedOffline? = hubError({ _ = try locator.resolveSync("acme/clip@\(commitB.prefix(7))") }) else {
            return XCTFail("short hash")
        }
        XCTAssertEqual(locator.cachedSnapshot(try RepoReference(parsing: "acme/clip@v2"))?.path, b.path)
        XCTAssertNil(locator.cachedSnapshot(try RepoReference(parsing: "acme/clip@nope")))
    }

    func testSingleNameRepo() throws {
        let cache = try makeTemporaryDirectory(self)
        let s = try makeSnapshot(cache: cache, repo: "clip", commit: commitA, files: singleFile, refs: ["main": commitA])
        XCTAssertEqual(try offlineLocator(cache).resolveSync("clip").path, s.path)
    }

    func testMissingRequiredFileIsNotCached() throws {
        let names = ["config.json": "config.json", "model.safetensors": "model.safetensors",
                     "tokenizer.json": "tokenizer (one of: tokenizer.json; vocab.json + merges.txt)",
                     "preprocessor_config.json": "preprocessor_config.json"]
        for (missing, name) in names.sorted(by: { $0.key < $1.key }) {
            let cache = try makeTemporaryDirectory(self)
            var files = singleFile
            files[missing] = nil
            try makeSnapshot(cache: cache, repo: "acme/clip", commit: commitA, files: files, refs: ["main": commitA])
            let error = hubError { _ = try offlineLocator(cache).resolveSync("acme/clip") }
            guard case .notCachedOffline(let repo, let revision, let dir, let list)? = error else {
                XCTFail("\(missing): \(String(describing: error))")
                continue
            }
            XCTAssertEqual(repo, "acme/clip")
            XCTAssertEqual(revision, "main")
            XCTAssertEqual(dir, cache.path)
            XCTAssertEqual(list, [name])
        }
    }

    func testOptionalFilesDoNotMatter() throws {
        let cache = try makeTemporaryDirectory(self)
        var files = singleFile
        files["tokenizer_config.json"] = nil
        let s = try makeSnapshot(cache: cache, repo: "acme/clip", commit: commitA, files: files, refs: ["main": commitA])
        XCTAssertEqual(try offlineLocator(cache).resolveSync("acme/clip").path, s.path)
    }

    func testDanglingSymlinkIsMissing() throws {
        let cache = try makeTemporaryDirectory(self)
        let s = try makeSnapshot(cache: cache, repo: "acme/clip", commit: commitA, files: singleFile, refs: ["main": commitA])
        let blob = try FileManager.default.destinationOfSymbolicLink(atPath: s.appendingPathComponent("model.safetensors").path)
        try FileManager.default.removeItem(at: s.appendingPathComponent(blob).standardizedFileURL)
        guard case .notCachedOffline(_, _, _, let list)? = hubError({ _ = try offlineLocator(cache).resolveSync("acme/clip") })
        else { return XCTFail() }
        XCTAssertEqual(list, ["model.safetensors"])
    }

    func testShardedWeightsAndVocabMerges() throws {
        let cache = try makeTemporaryDirectory(self)
        let index = #"{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors","c":"model-00001-of-00002.safetensors"}}"#
        var files: [String: String] = [
            "config.json": "{}", "model.safetensors.index.json": index, "model-00001-of-00002.safetensors": "1",
            "model-00002-of-00002.safetensors": "2", "vocab.json": "{}", "merges.txt": "", "preprocessor_config.json": "{}",
        ]
        let s = try makeSnapshot(cache: cache, repo: "acme/sharded", commit: commitA, files: files, refs: ["main": commitA])
        XCTAssertEqual(try offlineLocator(cache).resolveSync("acme/sharded").path, s.path)

        // One shard missing, and merges.txt missing (vocab.json alone is not a tokenizer).
        let cache2 = try makeTemporaryDirectory(self)
        files["model-00002-of-00002.safetensors"] = nil
        files["merges.txt"] = nil
        try makeSnapshot(cache: cache2, repo: "acme/sharded", commit: commitA, files: files, refs: ["main": commitA])
        guard case .notCachedOffline(_, _, _, let list)? = hubError({ _ = try offlineLocator(cache2).resolveSync("acme/sharded") })
        else { return XCTFail() }
        XCTAssertEqual(list, ["model-00002-of-00002.safetensors", "tokenizer (one of: tokenizer.json; vocab.json + merges.txt)"])
    }

    func testCompletenessIsTheCallersSelection() throws {
        let cache = try makeTemporaryDirectory(self)
        // A SigLIP-like snapshot (spiece.model) and a tokenizer-only one (vocab.txt, nothing else).
        let siglip = try makeSnapshot(cache: cache, repo: "acme/siglip", commit: commitA, files: [
            "config.json": "{}", "model.safetensors": "w", "preprocessor_config.json": "{}", "spiece.model": "sp",
        ], refs: ["main": commitA])
        let vocabOnly = try makeSnapshot(cache: cache, repo: "acme/vocab", commit: commitB, files: ["vocab.txt": "[UNK]"],
                                         refs: ["main": commitB])
        let siglipRef = try RepoReference(parsing: "acme/siglip")
        let vocabRef = try RepoReference(parsing: "acme/vocab")

        XCTAssertEqual(offlineLocator(cache, files: anyFamilyFiles).cachedSnapshot(siglipRef)?.path, siglip.path)
        XCTAssertEqual(try offlineLocator(cache, files: anyFamilyFiles).resolveSync("acme/siglip").path, siglip.path)
        XCTAssertNil(offlineLocator(cache).cachedSnapshot(siglipRef))
        guard case .notCachedOffline(_, _, _, let missing)? = hubError({ _ = try offlineLocator(cache).resolveSync("acme/siglip") })
        else { return XCTFail() }
        XCTAssertEqual(missing, ["tokenizer (one of: tokenizer.json; vocab.json + merges.txt)"])

        XCTAssertEqual(offlineLocator(cache, files: tokenizerOnlyFiles).cachedSnapshot(vocabRef)?.path, vocabOnly.path)
        XCTAssertEqual(offlineLocator(cache, files: tokenizerOnlyFiles).cachedSnapshot(siglipRef)?.path, siglip.path)
        guard case .notCachedOffline(_, _, _, let missing2)? = hubError({
            _ = try offlineLocator(cache, files: anyFamilyFiles).resolveSync("acme/vocab")
        }) else { return XCTFail() }
        XCTAssertEqual(missing2, ["config.json", "preprocessor_config.json", "model.safetensors"])

        // An empty selection is satisfied by any snapshot the ref points to; a selection of required files only.
        XCTAssertEqual(offlineLocator(cache, files: FileSelection()).cachedSnapshot(vocabRef)?.path, vocabOnly.path)
        let two = FileSelection(required: ["vocab.txt", "merges.txt"])
        XCTAssertEqual(two.missingFiles(in: vocabOnly), ["merges.txt"])
        XCTAssertEqual(two.missingFiles(in: siglip), ["vocab.txt", "merges.txt"])
    }

    func testHostileIndexIsNotTrusted() throws {
        let cache = try makeTemporaryDirectory(self)
        let files: [String: String] = [
            "config.json": "{}", "model.safetensors.index.json": #"{"weight_map":{"a":"../../../../etc/passwd"}}"#,
            "tokenizer.json": "{}", "preprocessor_config.json": "{}",
        ]
        try makeSnapshot(cache: cache, repo: "acme/evil", commit: commitA, files: files, refs: ["main": commitA])
        guard case .notCachedOffline(_, _, _, let list)? = hubError({ _ = try offlineLocator(cache).resolveSync("acme/evil") })
        else { return XCTFail() }
        XCTAssertEqual(list, ["model.safetensors.index.json"])
    }

    func testOfflineErrorTellsHowToGetTheModel() throws {
        let cache = try makeTemporaryDirectory(self)
        let error = hubError { _ = try offlineLocator(cache).resolveSync("openai/clip-vit-base-patch32") }
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains("openai/clip-vit-base-patch32"), text)
        XCTAssertTrue(text.contains("HF_HUB_OFFLINE"), text)
        XCTAssertTrue(text.contains("`hf download openai/clip-vit-base-patch32`"), text)
        XCTAssertTrue(text.contains("--model /path/to/dir"), text)
        XCTAssertTrue(text.contains(cache.path), text)
        let pinned = hubError { _ = try offlineLocator(cache).resolveSync("openai/clip-vit-base-patch32@v2") }
        let pinnedText = pinned?.description ?? ""
        XCTAssertTrue(pinnedText.contains("`hf download openai/clip-vit-base-patch32 --revision v2`"), pinnedText)
    }

    func testLocalDirectories() throws {
        let dir = try makeTemporaryDirectory(self)
        let locator = offlineLocator(dir)
        XCTAssertEqual(try locator.resolveSync(dir.path).path, dir.standardizedFileURL.path)
        // An existing directory wins over a repo id of the same spelling (as transformers' from_pretrained).
        let nested = dir.appendingPathComponent("org/name")
        try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
        let previous = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(dir.path)
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        XCTAssertEqual(try locator.resolveSync("org/name").resolvingSymlinksInPath().path, nested.resolvingSymlinksInPath().path)

        guard case .directoryNotFound("./missing-dir")? = hubError({ _ = try locator.resolveSync("./missing-dir") }) else {
            return XCTFail()
        }
        guard case .directoryNotFound? = hubError({ _ = try locator.resolveSync("/no/such/dir") }) else { return XCTFail() }
        let file = dir.appendingPathComponent("file.txt")
        try Data().write(to: file)
        guard case .invalidModelReference(_, let reason)? = hubError({ _ = try locator.resolveSync(file.path) }) else {
            return XCTFail()
        }
        XCTAssertTrue(reason.contains("not a directory"))
    }
}
