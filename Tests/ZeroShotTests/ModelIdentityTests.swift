import Foundation
import XCTest
import ZeroShot

final class ModelIdentityTests: XCTestCase {
    let models = fixturesDirectory.appendingPathComponent("models")

    func temporary() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-identity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// Tools/reference/model_fingerprint.py computes the documented recipe with hashlib: single weights files, a
    /// sharded checkpoint (three files) and a file over 1 MiB (chinese-clip-full-f16, 1.45 MB: its first and last
    /// MiB differ and overlap).
    func testFingerprintsMatchTheReferenceRecipe() throws {
        let expected = try JSONDecoder().decode([String: String].self, from: Data(contentsOf:
            fixturesDirectory.appendingPathComponent("index/fingerprints.json")))
        XCTAssertGreaterThan(expected.count, 10)
        for (name, fingerprint) in expected {
            XCTAssertEqual(try ModelIdentity.fingerprint(directory: models.appendingPathComponent(name)), fingerprint, name)
        }
    }

    func testSameFilesElsewhereAreTheSameModelAndChangedFilesAreNot() throws {
        let source = models.appendingPathComponent("tiny-f16")
        let copy = try temporary().appendingPathComponent("copy")
        try FileManager.default.copyItem(at: source, to: copy)
        let a = try ModelIdentity(directory: source), b = try ModelIdentity(directory: copy)
        XCTAssertEqual(a.fingerprint, b.fingerprint)
        XCTAssertEqual(b.id, copy.standardizedFileURL.path)
        XCTAssertNil(b.revision)
        XCTAssertNotEqual(a.id, b.id)

        // The last byte of the weights.
        let weights = copy.appendingPathComponent("model.safetensors")
        var bytes = try Data(contentsOf: weights)
        bytes[bytes.count - 1] ^= 1
        try bytes.write(to: weights)
        let changed = try ModelIdentity.fingerprint(directory: copy)
        XCTAssertNotEqual(changed, a.fingerprint)
        // config.json.
        bytes[bytes.count - 1] ^= 1
        try bytes.write(to: weights)
        XCTAssertEqual(try ModelIdentity.fingerprint(directory: copy), a.fingerprint)
        let config = copy.appendingPathComponent("config.json")
        try (Data(contentsOf: config) + Data(" ".utf8)).write(to: config)
        XCTAssertNotEqual(try ModelIdentity.fingerprint(directory: copy), a.fingerprint)

        try FileManager.default.removeItem(at: config)
        XCTAssertThrowsError(try ModelIdentity.fingerprint(directory: copy)) { error in
            XCTAssertTrue("\(error)".contains(config.path), "\(error)")
        }
    }

    func testHubModelIsNamedByRepoIdAndSnapshotCommit() throws {
        let cache = try temporary()
        let commit = String(repeating: "ab12", count: 10)
        let repo = cache.appendingPathComponent("models--example--tiny-clip")
        let snapshot = repo.appendingPathComponent("snapshots/\(commit)")
        try FileManager.default.createDirectory(at: repo.appendingPathComponent("refs"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: snapshot.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: models.appendingPathComponent("tiny-f16"), to: snapshot)
        try Data(commit.utf8).write(to: repo.appendingPathComponent("refs/main"))
        let environment = HubEnvironment(cacheDirectory: cache, offline: true)
        let options = ZeroShotClassifier.Options(warn: { _ in })

        let classifier = try ZeroShotClassifier(model: "example/tiny-clip", options: options, environment: environment)
        let identity = try classifier.identity
        XCTAssertEqual(identity.id, "example/tiny-clip")
        XCTAssertEqual(identity.revision, commit)
        XCTAssertEqual(identity.fingerprint, try ModelIdentity.fingerprint(directory: models.appendingPathComponent("tiny-f16")))
        XCTAssertEqual(identity.reference, "example/tiny-clip@\(commit)")
        XCTAssertTrue(identity.description.hasPrefix("example/tiny-clip@\(commit) (fingerprint "), identity.description)
        // The reference loads that very snapshot again.
        let again = try ZeroShotClassifier(model: identity.reference, options: options, environment: environment)
        XCTAssertEqual(try again.identity, identity)

        // A local directory: its absolute path, no revision.
        let local = try ZeroShotClassifier(directory: models.appendingPathComponent("tiny-f16"), options: options)
        XCTAssertEqual(try local.identity.id, models.appendingPathComponent("tiny-f16").standardizedFileURL.path)
        XCTAssertNil(try local.identity.revision)
    }
}
