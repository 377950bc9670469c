import Foundation
import TestSupport

/// Fixtures of the server tests of the application (lifecycle, auth, timeouts, metrics, health).
enum ServeFixtures {
    /// Tests/Fixtures, located from this source file.
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// A tiny CLIP checkpoint (loads in well under a second).
    static let tinyModel = fixtures.appendingPathComponent("models/tiny-p16-gelu")

    /// `--model tinyModel` and `--no-text-cache`, then `more`.
    static func arguments(_ more: [String] = []) -> [String] {
        ["--model", tinyModel.path, "--no-text-cache"] + more
    }

    /// A fresh temporary directory.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
