import Foundation
import XCTest
@testable import Hub

final class EnvironmentTests: XCTestCase {
    private let home = "/home/u"

    private func env(_ extra: [String: String]) -> HubEnvironment {
        HubEnvironment.fromProcessEnvironment(["HOME": home].merging(extra) { $1 })
    }

    func testCacheDirectoryPrecedence() {
        XCTAssertEqual(env([:]).cacheDirectory.path, "/home/u/.cache/huggingface/hub")
        XCTAssertEqual(env(["XDG_CACHE_HOME": "/xdg"]).cacheDirectory.path, "/xdg/huggingface/hub")
        XCTAssertEqual(env(["XDG_CACHE_HOME": "/xdg", "HF_HOME": "/hfhome"]).cacheDirectory.path, "/hfhome/hub")
        XCTAssertEqual(
            env(["XDG_CACHE_HOME": "/xdg", "HF_HOME": "/hfhome", "HUGGINGFACE_HUB_CACHE": "/legacy"]).cacheDirectory.path,
            "/legacy")
        XCTAssertEqual(
            env(["HF_HOME": "/hfhome", "HUGGINGFACE_HUB_CACHE": "/legacy", "HF_HUB_CACHE": "/hubcache"]).cacheDirectory.path,
            "/hubcache")
        // Empty values count as unset.
        XCTAssertEqual(env(["HF_HUB_CACHE": "", "HF_HOME": "/hfhome"]).cacheDirectory.path, "/hfhome/hub")
    }

    func testTildeAndVariableExpansion() {
        XCTAssertEqual(env(["HF_HOME": "~/hf"]).cacheDirectory.path, "/home/u/hf/hub")
        XCTAssertEqual(env(["HF_HUB_CACHE": "$DATA/cache", "DATA": "/data"]).cacheDirectory.path, "/data/cache")
        XCTAssertEqual(env(["HF_HUB_CACHE": "${DATA}x/c", "DATA": "/d"]).cacheDirectory.path, "/dx/c")
        XCTAssertEqual(env(["HF_HUB_CACHE": "/a/$UNSET/b"]).cacheDirectory.path, "/a/$UNSET/b")
    }

    func testEndpoint() {
        XCTAssertEqual(env([:]).endpoint.absoluteString, "https://huggingface.co")
        XCTAssertEqual(env(["HF_ENDPOINT": "https://hf-mirror.com//"]).endpoint.absoluteString, "https://hf-mirror.com")
        XCTAssertEqual(env(["HF_ENDPOINT": "http://127.0.0.1:8080/"]).endpoint.absoluteString, "http://127.0.0.1:8080")
    }

    func testOfflineValues() {
        for v in ["1", "true", "TRUE", "yes", "On"] { XCTAssertTrue(env(["HF_HUB_OFFLINE": v]).offline, v) }
        for v in ["0", "false", "no", "off", "", "2"] { XCTAssertFalse(env(["HF_HUB_OFFLINE": v]).offline, v) }
        XCTAssertFalse(env([:]).offline)
        XCTAssertTrue(env(["TRANSFORMERS_OFFLINE": "1"]).offline)
        // As huggingface_hub: HF_HUB_OFFLINE, when set, wins over TRANSFORMERS_OFFLINE.
        XCTAssertFalse(env(["HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "1"]).offline)
    }

    func testTokenPrecedence() throws {
        let dir = try makeTemporaryDirectory(self)
        let hfHome = dir.appendingPathComponent("hf")
        try FileManager.default.createDirectory(at: hfHome, withIntermediateDirectories: true)
        try "  home-token\r\n".write(to: hfHome.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        let custom = dir.appendingPathComponent("custom-token")
        try "path-token\n".write(to: custom, atomically: true, encoding: .utf8)

        XCTAssertEqual(env(["HF_HOME": hfHome.path]).token, "home-token")
        XCTAssertEqual(env(["HF_HOME": hfHome.path, "HF_TOKEN_PATH": custom.path]).token, "path-token")
        XCTAssertEqual(env(["HF_HOME": hfHome.path, "HUGGING_FACE_HUB_TOKEN": "legacy"]).token, "legacy")
        XCTAssertEqual(env(["HF_HOME": hfHome.path, "HUGGING_FACE_HUB_TOKEN": "legacy", "HF_TOKEN": " env\n"]).token, "env")
        // A blank variable falls through to the file.
        XCTAssertEqual(env(["HF_HOME": hfHome.path, "HF_TOKEN": " \n "]).token, "home-token")
        XCTAssertNil(env(["HF_HOME": dir.appendingPathComponent("none").path]).token)
    }

    func testTimeouts() {
        XCTAssertEqual(env([:]).metadataTimeout, 10)
        XCTAssertEqual(env(["HF_HUB_ETAG_TIMEOUT": "3", "HF_HUB_DOWNLOAD_TIMEOUT": "42"]).metadataTimeout, 3)
        XCTAssertEqual(env(["HF_HUB_ETAG_TIMEOUT": "3", "HF_HUB_DOWNLOAD_TIMEOUT": "42"]).downloadTimeout, 42)
        XCTAssertEqual(env(["HF_HUB_ETAG_TIMEOUT": "x"]).metadataTimeout, 10)
    }

    func testDefaultModel() {
        XCTAssertEqual(ModelLocator.defaultModel([:]), "openai/clip-vit-base-patch32")
        XCTAssertEqual(ModelLocator.defaultModel(["ZEROSHOT_MODEL": "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"]),
                       "laion/CLIP-ViT-B-32-laion2B-s34B-b79K")
        XCTAssertEqual(ModelLocator.defaultModel(["ZEROSHOT_MODEL": ""]), "openai/clip-vit-base-patch32")
    }

    func testRepoReferenceParsing() throws {
        let plain = try RepoReference(parsing: "openai/clip-vit-base-patch32")
        XCTAssertEqual(plain.repoID, "openai/clip-vit-base-patch32")
        XCTAssertEqual(plain.revision, "main")
        XCTAssertEqual(plain.cacheFolderName, "models--openai--clip-vit-base-patch32")
        XCTAssertEqual(try RepoReference(parsing: "gpt2").cacheFolderName, "models--gpt2")
        let pr = try RepoReference(parsing: "org/name@refs/pr/1")
        XCTAssertEqual(pr.revision, "refs/pr/1")
        XCTAssertFalse(pr.revisionIsCommitHash)
        XCTAssertTrue(try RepoReference(parsing: "org/n@" + String(repeating: "ab", count: 20)).revisionIsCommitHash)
        XCTAssertFalse(try RepoReference(parsing: "org/n@" + String(repeating: "AB", count: 20)).revisionIsCommitHash)

        for bad in ["a/b/c", "foo--bar/x", "a/..b", "-abc/x", "org/name.", "org/x.git", "org/", "/name", "org/na me",
                    "org/name@", "org/name@../x", "org/name@a//b", "café/x", String(repeating: "a", count: 97)] {
            guard case .invalidModelReference(let text, _)? = hubError({ _ = try RepoReference(parsing: bad) }) else {
                XCTFail("accepted '\(bad)'")
                continue
            }
            XCTAssertEqual(text, bad)
        }
    }
}
