import Foundation

/// The repository's committed fixtures (Tests/Fixtures), located from this source file.
let fixturesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

/// A decoding fixture manifest (`manifest.json` beside the images, written by Tools/reference): one case per file,
/// with its size and expected RGB bytes (a raw file, or their SHA-256), or the error Pillow raises.
struct DecodeManifest: Decodable {
    struct Case: Decodable {
        let file: String
        let width: Int?
        let height: Int?
        let rgb: String?
        let sha256: String?
        let error: String?
    }
    let cases: [Case]

    /// Reads `directory/manifest.json`.
    static func load(from directory: URL) throws -> DecodeManifest {
        try JSONDecoder().decode(DecodeManifest.self,
                                 from: Data(contentsOf: directory.appendingPathComponent("manifest.json")))
    }
}
