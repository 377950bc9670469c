import Foundation
import TestSupport
import XCTest

/// The page (`GET /`) in headless Chromium against a running `zeroshot serve`: `Tests/Browser/page_test.py` uploads a
/// fixture image through the file input, types labels, submits, and compares the ranked labels in the DOM with the
/// server's own JSON answer to the same request; with an index it also searches. Screenshots go to
/// `test-artifacts/`. Skipped without the tools (see `ExternalTools`), failed without them when `ZEROSHOT_CI=1`.
final class PageTests: XCTestCase {
    static let script = ExternalTools.repository.appendingPathComponent("Tests/Browser/page_test.py").path

    func runPage(_ server: ServerProcess, python: String, _ arguments: [String]) throws {
        let run = try ExternalTools.run(python, [Self.script, "--url", "http://127.0.0.1:\(server.port)"] + arguments,
                                        timeout: 180)
        XCTAssertEqual(run.status, 0, "page_test.py failed:\n\(run.stdout)\n\(run.stderr)\nserver stderr:\n\(server.stderr)")
    }

    /// Classification through the page's key field (the server has --api-key), a file that is not an image (the
    /// server's error message shown), and no search section without an index.
    func testPageRanksLabelsAsTheServerAnswers() throws {
        let python = try ExternalTools.python(importing: ["selenium"], browser: true)
        let key = "page-test-\(UUID().uuidString)"
        let server = try ServerProcess.start(["--model", ExternalTools.model.path, "--api-key", key])
        defer { server.stop() }
        try runPage(server, python: python, [
            "--image", ExternalTools.fixture("pipeline/images/chelsea.jpg").path,
            "--labels", "a cat, a dog, a rocket, a cup of coffee, café au lait",
            "--template", "a photo of {}.",
            "--not-an-image", ExternalTools.fixture("images/not_an_image.txt").path,
            "--api-key", key,
            "--screenshot", ExternalTools.artifacts.appendingPathComponent("page.png").path,
        ])
    }

    /// With `--db`: classification (also with a template the server warns about: the warning shown), then a text
    /// search and a search by image whose hits and thumbnails are the server's own answers.
    func testPageSearchesTheIndex() throws {
        let python = try ExternalTools.python(importing: ["selenium"], browser: true)
        let db = try ExternalTools.photoIndex(self)
        let server = try ServerProcess.start(["--model", ExternalTools.model.path, "--db", db.path])
        defer { server.stop() }
        try runPage(server, python: python, [
            "--image", ExternalTools.fixture("pipeline/images/rocket.jpg").path,
            "--labels", "rocket,cat,coffee",
            "--warning-template", "a photo",  // no {}: the server's warning is shown
            "--db", "--query", "a photo of a cat", "--search-image", ExternalTools.fixture("pipeline/images/coffee.webp").path,
            "--screenshot", ExternalTools.artifacts.appendingPathComponent("page-search.png").path,
        ])
    }
}
