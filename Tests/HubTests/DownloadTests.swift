import Foundation
import XCTest
@testable import Hub

/// Downloads from loopback servers that answer with the Hub's URL layout and headers. Every request has a
/// timeout of a few seconds, and the servers poll, so no test can hang.
final class DownloadTests: XCTestCase {
    private var repos: [FixtureRepo] = []
    private var hub: FakeHub!

    override func setUpWithError() throws {
        repos = try FixtureRepo.loadAll()
        hub = try FakeHub(repos: repos)
        let server = hub!
        addTeardownBlock { server.stop() }
    }

    private var single: FixtureRepo { repos.first { $0.id == "acme/tiny-clip" }! }
    private var sharded: FixtureRepo { repos.first { $0.id == "acme/sharded-clip" }! }

    private func locator(_ cache: URL, token: String? = nil, offline: Bool = false,
                         files: FileSelection = clipLikeFiles) -> ModelLocator {
        ModelLocator(environment: HubEnvironment(
            cacheDirectory: cache, endpoint: hub.hub.baseURL, token: token, offline: offline,
            metadataTimeout: 5, downloadTimeout: 5), files: files)
    }

    private func assertSnapshot(_ url: URL, of repo: FixtureRepo, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(url.lastPathComponent, repo.sha, file: file, line: line)
        for name in repo.download {
            let data = try? Data(contentsOf: url.appendingPathComponent(name))
            XCTAssertEqual(data, repo.files[name]?.data, name, file: file, line: line)
        }
    }

    func testLayoutIsExactlyHuggingFaceHubs() throws {
        let cache = try makeTemporaryDirectory(self)
        let messages = MessageLog()
        let a = try locator(cache).resolveSync("acme/tiny-clip", progress: { messages.add($0) })
        let b = try locator(cache).resolveSync("acme/sharded-clip")
        assertSnapshot(a, of: single)
        assertSnapshot(b, of: sharded)
        XCTAssertEqual(a.path, cache.appendingPathComponent("models--acme--tiny-clip/snapshots/\(single.sha)").path)

        let golden = try goldenTree()
        let ours = try cacheTree(cache)
        XCTAssertEqual(golden.count, 55)
        XCTAssertEqual(ours.subtracting(golden).map(\.description).sorted(), [], "entries huggingface_hub does not make")
        XCTAssertEqual(golden.subtracting(ours).map(\.description).sorted(), [], "entries huggingface_hub makes")

        // Files a CLIP load does not need are not fetched (README.md, vocab.json beside tokenizer.json).
        let fetched = Set(hub.hub.requests.filter { $0.method == "HEAD" }.map { $0.path.components(separatedBy: "/").last! })
        XCTAssertFalse(fetched.contains("README.md"))
        XCTAssertFalse(fetched.contains("vocab.json") && fetched.contains("tokenizer.json") && fetched.count == 5)
        XCTAssertTrue(messages.all.contains { $0.hasPrefix("Downloading model.safetensors") }, "\(messages.all)")

        // The API is asked for the branch, the files at the commit it returned.
        let paths = hub.hub.requests.map(\.path)
        XCTAssertTrue(paths.contains("/api/models/acme/tiny-clip/revision/main"))
        XCTAssertTrue(paths.contains("/acme/tiny-clip/resolve/\(single.sha)/config.json"))
        // Relative redirects stay on the Hub and are followed (HEAD, then GET of the final URL).
        let resolveCache = hub.hub.requests.filter { $0.path.hasPrefix("/api/resolve-cache/models/acme/tiny-clip/\(single.sha)/config.json") }
        XCTAssertEqual(resolveCache.map(\.method), ["HEAD", "GET"])
    }

    func testWithoutResolveCacheRedirects() throws {
        hub.state.with { $0.resolveCacheRedirect = false }
        let cache = try makeTemporaryDirectory(self)
        assertSnapshot(try locator(cache).resolveSync("acme/tiny-clip"), of: single)
        assertSnapshot(try locator(cache).resolveSync("acme/sharded-clip"), of: sharded)
        XCTAssertEqual(try cacheTree(cache), try goldenTree())
        XCTAssertFalse(hub.hub.requests.contains { $0.path.hasPrefix("/api/resolve-cache/") })
    }

    func testCachedModelNeedsNoNetwork() throws {
        let cache = try makeTemporaryDirectory(self)
        let first = try locator(cache).resolveSync("acme/tiny-clip")
        let count = hub.hub.requests.count + hub.cdn.requests.count
        hub.stop()
        XCTAssertEqual(try locator(cache).resolveSync("acme/tiny-clip").path, first.path)
        XCTAssertEqual(try locator(cache, offline: true).resolveSync("acme/tiny-clip@\(single.sha)").path, first.path)
        XCTAssertEqual(hub.hub.requests.count + hub.cdn.requests.count, count)
    }

    func testMissingFileOfCachedSnapshotIsDownloaded() throws {
        let cache = try makeTemporaryDirectory(self)
        let snapshot = try locator(cache).resolveSync("acme/tiny-clip")
        try FileManager.default.removeItem(at: snapshot.appendingPathComponent("preprocessor_config.json"))
        let before = hub.hub.requests.count
        XCTAssertEqual(try locator(cache).resolveSync("acme/tiny-clip").path, snapshot.path)
        assertSnapshot(snapshot, of: single)
        // One API call and one HEAD for the missing file; its blob was still there, so no GET at all.
        let new = hub.hub.requests[before...].map { "\($0.method) \($0.path)" }
        XCTAssertEqual(new, [
            "GET /api/models/acme/tiny-clip/revision/main",
            "HEAD /acme/tiny-clip/resolve/\(single.sha)/preprocessor_config.json",
            "HEAD /api/resolve-cache/models/acme/tiny-clip/\(single.sha)/preprocessor_config.json?etag=%22\(single.files["preprocessor_config.json"]!.etag)%22",
        ])
    }

    func testOfflineNeverTouchesTheNetwork() throws {
        let cache = try makeTemporaryDirectory(self)
        guard case .notCachedOffline? = hubError({ _ = try locator(cache, offline: true).resolveSync("acme/tiny-clip") })
        else { return XCTFail() }
        XCTAssertEqual(hub.hub.requests.count, 0)
        XCTAssertEqual(hub.cdn.requests.count, 0)
    }

    func testInterruptedDownloadResumesWithRange() throws {
        let cache = try makeTemporaryDirectory(self)
        let weights = single.files["model.safetensors"]!
        // Every CDN response breaks after 5000 bytes: the download resumes five times within the call, then gives
        // up, keeping the 30000 bytes received in blobs/<etag>.incomplete.
        hub.state.with { $0.cutAfter = 5000 }
        let error = hubError { _ = try locator(cache).resolveSync("acme/tiny-clip") }
        guard case .networkUnavailable? = error else { return XCTFail("\(String(describing: error))") }
        let storage = cache.appendingPathComponent("models--acme--tiny-clip")
        let incomplete = storage.appendingPathComponent("blobs/\(weights.etag).incomplete")
        XCTAssertEqual(try Data(contentsOf: incomplete), weights.data.prefix(30000))
        XCTAssertFalse(FileManager.default.fileExists(atPath: storage.appendingPathComponent("blobs/\(weights.etag)").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: storage.appendingPathComponent("refs/main").path))
        let ranges = hub.cdn.requests.map { $0.headers["range"] ?? "none" }
        XCTAssertEqual(ranges, ["none", "bytes=5000-", "bytes=10000-", "bytes=15000-", "bytes=20000-", "bytes=25000-"])

        // A later run picks up where the file ends.
        hub.state.with { $0.cutAfter = nil }
        let snapshot = try locator(cache).resolveSync("acme/tiny-clip")
        assertSnapshot(snapshot, of: single)
        XCTAssertEqual(hub.cdn.requests.last?.headers["range"], "bytes=30000-")
        XCTAssertFalse(FileManager.default.fileExists(atPath: incomplete.path))
        XCTAssertEqual(try cacheTree(cache).filter { $0.path.hasPrefix("models--acme--tiny-clip") },
                       try goldenTree().filter { $0.path.hasPrefix("models--acme--tiny-clip") })
    }

    func testSlowDownloadLongerThanTheTimeoutSucceeds() throws {
        // The timeout applies to silence, not to the whole transfer (as huggingface_hub's HF_HUB_DOWNLOAD_TIMEOUT).
        hub.state.with {
            $0.slowPieces = 4
            $0.slowPause = 0.7
        }
        let cache = try makeTemporaryDirectory(self)
        let locator = ModelLocator(environment: HubEnvironment(
            cacheDirectory: cache, endpoint: hub.hub.baseURL, metadataTimeout: 5, downloadTimeout: 1.5), files: clipLikeFiles)
        let started = Date()
        assertSnapshot(try locator.resolveSync("acme/tiny-clip"), of: single)
        XCTAssertGreaterThan(Date().timeIntervalSince(started), 2)
        XCTAssertEqual(hub.cdn.requests.count, 1)
    }

    func testServerIgnoringRangeRestartsFromZero() throws {
        let cache = try makeTemporaryDirectory(self)
        let weights = single.files["model.safetensors"]!
        let blobs = cache.appendingPathComponent("models--acme--tiny-clip/blobs")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        // A stale partial file with wrong bytes; the server answers 200 to the Range request.
        try Data(repeating: 0xEE, count: 1234).write(to: blobs.appendingPathComponent("\(weights.etag).incomplete"))
        hub.state.with { $0.ignoreRange = true }
        assertSnapshot(try locator(cache).resolveSync("acme/tiny-clip"), of: single)
        XCTAssertEqual(hub.cdn.requests.first?.headers["range"], "bytes=1234-")
    }

    func testCompletePartialFileIsJustRenamed() throws {
        let cache = try makeTemporaryDirectory(self)
        let weights = single.files["model.safetensors"]!
        let blobs = cache.appendingPathComponent("models--acme--tiny-clip/blobs")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        try weights.data.write(to: blobs.appendingPathComponent("\(weights.etag).incomplete"))
        assertSnapshot(try locator(cache).resolveSync("acme/tiny-clip"), of: single)
        XCTAssertEqual(hub.cdn.requests.count, 0)
    }

    func testGatedRepoNeedsToken() throws {
        hub.state.with {
            $0.gated = ["acme/tiny-clip"]
            $0.token = "hf_secret"
        }
        let cache = try makeTemporaryDirectory(self)
        let error = hubError { _ = try locator(cache).resolveSync("acme/tiny-clip") }
        guard case .accessDenied(let repo, _, 401, false, _)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(repo, "acme/tiny-clip")
        let text = error!.description
        XCTAssertTrue(text.contains("gated or private") && text.contains("HF_TOKEN"), text)

        let wrong = hubError { _ = try locator(cache, token: "hf_other").resolveSync("acme/tiny-clip") }
        guard case .accessDenied(_, _, 403, true, true)? = wrong else { return XCTFail("\(String(describing: wrong))") }
        XCTAssertTrue(wrong!.description.contains("accept its conditions"), wrong!.description)

        let countBefore = hub.cdn.requests.count
        let snapshot = try locator(cache, token: "hf_secret").resolveSync("acme/tiny-clip")
        assertSnapshot(snapshot, of: single)
        XCTAssertEqual(hub.hub.requests.last?.headers["authorization"], "Bearer hf_secret")
        // The token never leaves the Hub's origin: the CDN gets no Authorization header.
        XCTAssertGreaterThan(hub.cdn.requests.count, countBefore)
        XCTAssertTrue(hub.cdn.requests.allSatisfy { $0.headers["authorization"] == nil })
    }

    func testTokenFromEnvironmentVariable() throws {
        hub.state.with {
            $0.privateRepos = ["acme/tiny-clip"]
            $0.token = "hf_env"
        }
        let cache = try makeTemporaryDirectory(self)
        let noToken = hubError { _ = try locator(cache).resolveSync("acme/tiny-clip") }
        guard case .accessDenied(_, _, 401, false, false)? = noToken else { return XCTFail("\(String(describing: noToken))") }
        var environment = HubEnvironment.fromProcessEnvironment([
            "HF_HUB_CACHE": cache.path, "HF_ENDPOINT": hub.hub.baseURL.absoluteString + "/", "HF_TOKEN": "hf_env",
            "HF_HUB_ETAG_TIMEOUT": "5", "HF_HUB_DOWNLOAD_TIMEOUT": "5",
        ])
        environment.offline = false
        assertSnapshot(try ModelLocator(environment: environment, files: clipLikeFiles).resolveSync("acme/tiny-clip"), of: single)
    }

    func testNotFound() throws {
        let cache = try makeTemporaryDirectory(self)
        guard case .repoNotFound(let repo, _)? = hubError({ _ = try locator(cache).resolveSync("acme/nothing") }),
            repo == "acme/nothing"
        else { return XCTFail() }
        guard case .revisionNotFound(_, "v9", _)? = hubError({ _ = try locator(cache).resolveSync("acme/tiny-clip@v9") })
        else { return XCTFail() }

        // Listed, but 404 on resolve: the error names the file and a .no_exist marker records it, as huggingface_hub.
        hub.state.with { $0.hidden = ["tokenizer.json"] }
        guard case .fileNotFound(_, _, "tokenizer.json")? = hubError({ _ = try locator(cache).resolveSync("acme/tiny-clip") })
        else { return XCTFail() }
        let marker = cache.appendingPathComponent("models--acme--tiny-clip/.no_exist/\(single.sha)/tokenizer.json")
        XCTAssertTrue(FileManager.default.fileExists(atPath: marker.path))
    }

    func testRepoWithoutTheSelectedFiles() throws {
        var noProcessor = single
        noProcessor.id = "acme/no-processor"
        noProcessor.files["preprocessor_config.json"] = nil
        var binOnly = single
        binOnly.id = "acme/bin-only"
        binOnly.files["model.safetensors"] = nil
        binOnly.files["pytorch_model.bin"] = FixtureRepo.File(data: Data([1]), etag: String(repeating: "a", count: 40), pointerEtag: "b", lfs: false)
        hub.state.with {
            $0.repos[noProcessor.id] = noProcessor
            $0.repos[binOnly.id] = binOnly
        }
        let cache = try makeTemporaryDirectory(self)
        guard case .unsupportedRepository(_, let reason)? = hubError({ _ = try locator(cache).resolveSync("acme/no-processor") })
        else { return XCTFail() }
        XCTAssertEqual(reason, "no preprocessor_config.json at revision 'main'")
        guard case .unsupportedRepository(let repo, let reason2)? = hubError({ _ = try locator(cache).resolveSync("acme/bin-only") })
        else { return XCTFail() }
        XCTAssertEqual(repo, "acme/bin-only")
        XCTAssertEqual(reason2, "no model.safetensors or model.safetensors.index.json at revision 'main' (only PyTorch .bin "
                       + "weights, which are not supported)")
        // Nothing is fetched from a repo that cannot be used.
        XCTAssertFalse(hub.hub.requests.contains { $0.method == "HEAD" })
    }

    func testBranchAndCommitRevisionsOnline() throws {
        hub.state.with { $0.branches = ["refs/pr/1"] }
        let cache = try makeTemporaryDirectory(self)
        let byCommit = try locator(cache).resolveSync("acme/tiny-clip@\(single.sha)")
        assertSnapshot(byCommit, of: single)
        let refs = cache.appendingPathComponent("models--acme--tiny-clip/refs")
        XCTAssertFalse(FileManager.default.fileExists(atPath: refs.path), "a commit hash revision writes no ref")

        try FileManager.default.removeItem(at: byCommit.appendingPathComponent("config.json"))
        XCTAssertEqual(try locator(cache).resolveSync("acme/tiny-clip@refs/pr/1").path, byCommit.path)
        XCTAssertTrue(hub.hub.requests.map(\.path).contains("/api/models/acme/tiny-clip/revision/refs%2Fpr%2F1"))
        XCTAssertEqual(try String(contentsOf: refs.appendingPathComponent("refs/pr/1"), encoding: .utf8), single.sha)
    }

    func testUnreachableEndpoint() throws {
        let cache = try makeTemporaryDirectory(self)
        let locator = ModelLocator(environment: HubEnvironment(
            cacheDirectory: cache, endpoint: deadEndpoint, offline: false, metadataTimeout: 3, downloadTimeout: 3),
            files: clipLikeFiles)
        let started = Date()
        let error = hubError { _ = try locator.resolveSync("acme/tiny-clip") }
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        guard case .networkUnavailable(let repo, let url, _, _)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(repo, "acme/tiny-clip")
        XCTAssertTrue(url.hasPrefix("http://127.0.0.1:9/api/models/acme/tiny-clip"))
        XCTAssertTrue(error!.description.contains("--model /path/to/dir"))
    }
}

final class MessageLog: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ m: String) {
        lock.lock()
        messages.append(m)
        lock.unlock()
    }
    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return messages
    }
}
