import Foundation
import TestSupport
import XCTest

/// `POST /v1/search` and `GET /v1/images` in a real `zeroshot serve --db` process.
final class SearchServeTests: XCTestCase {
    nonisolated(unsafe) static var server: ServerProcess?

    override class func setUp() {
        super.setUp()
        guard let (_, db) = SearchTests.indexed else { return }
        server = try? ServerProcess.start(["--db", db, "--threads", "1"])
    }

    override class func tearDown() {
        server?.stop()
        server = nil
        super.tearDown()
    }

    func testSearchAndImagesAsTheCommandLine() throws {
        let server = try XCTUnwrap(Self.server, "zeroshot serve --db did not start")
        let (_, db) = try XCTUnwrap(SearchTests.indexed)
        let response = try server.request("POST", "/v1/search", headers: ["Content-Type": "application/json"],
                                          body: Data(#"{"query": "a rocket", "top_k": 3}"#.utf8))
        XCTAssertEqual(response.status, 200, response.text)
        let run = try ZeroshotProcess.run(["search", "--db", db, "--threads", "1", "--format", "json", "--top-k", "3", "a rocket"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let got = try XCTUnwrap(try response.jsonObject() as? [[String: Any]])
        let expected = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(got.map { "\($0["path"]!) \($0["score"]!)" }, expected.map { "\($0["path"]!) \($0["score"]!)" })
        XCTAssertEqual(got.count, 3)
        let path = try XCTUnwrap(got.first?["path"] as? String)
        let image = try server.request("GET", "/v1/images?path=" + path.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        XCTAssertEqual(image.status, 200)
        XCTAssertEqual(image.body, try Data(contentsOf: URL(fileURLWithPath: path)))
        let outside = try server.request("GET", "/v1/images?path=" + db.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        XCTAssertEqual(outside.status, 404, outside.text)
        let neither = try server.request("POST", "/v1/search", headers: ["Content-Type": "application/json"], body: Data("{}".utf8))
        XCTAssertEqual(neither.status, 422, neither.text)
    }
}
