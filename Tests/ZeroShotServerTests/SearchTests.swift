import Foundation
import TestSupport
import XCTest
import ZeroShot
@testable import ZeroShotServer

/// `POST /v1/search` and `GET /v1/images` over an index made by `zeroshot index`.
final class SearchTests: XCTestCase {
    override class func tearDown() {
        PayloadServer.stopAll()
        super.tearDown()
    }

    static let images = ["chelsea.jpg", "coffee_small.png", "rocket.jpg", "camera_gray.png"]

    /// A folder with four fixture photos and its index (made once per test run).
    static let indexed: (folder: URL, db: String)? = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-search-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: folder)
        guard (try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)) != nil else { return nil }
        for name in images { try? FileManager.default.copyItem(at: pipelineImage(name), to: folder.appendingPathComponent(name)) }
        let db = folder.appendingPathComponent("photos.db").path
        guard let run = try? ZeroshotProcess.run(["index", "--db", db, "--model", fixtureModel("tiny-f16").path,
                                                  "--quiet", folder.path]), run.status == 0 else { return nil }
        return (folder, db)
    }()

    func server() throws -> PayloadServer {
        let (_, db) = try XCTUnwrap(Self.indexed, "zeroshot index failed")
        return try PayloadServer.shared("tiny-f16-db", model: "tiny-f16", index: db)
    }

    func hits(_ response: PayloadServer.Response, file: StaticString = #filePath, line: UInt = #line) throws -> [(String, Double)] {
        XCTAssertEqual(response.status, 200, response.text, file: file, line: line)
        return try XCTUnwrap(try response.json() as? [[String: Any]], file: file, line: line).map {
            (try XCTUnwrap($0["path"] as? String), try XCTUnwrap($0["score"] as? Double))
        }
    }

    func testSearchGivesTheCommandLinesResults() throws {
        let server = try server()
        let (_, db) = try XCTUnwrap(Self.indexed)
        for (query, topK) in [("a cat", 10), ("a cup of coffee", 2)] {
            let got = try hits(try server.postJSON("/v1/search", ["query": query, "top_k": topK]))
            let run = try ZeroshotProcess.run(["search", "--db", db, "--format", "json", "--top-k", "\(topK)", query])
            XCTAssertEqual(run.status, 0, run.stderr)
            let expected = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
            XCTAssertEqual(got.map(\.0), expected.map { $0["path"] as? String ?? "" })
            // Within float32 rounding: the compute thread count (and so the summation order) adapts to the load;
            // SearchServeTests compares the very numbers with one thread.
            for (g, e) in zip(got.map(\.1), expected.map { $0["score"] as? Double ?? .nan }) { XCTAssertEqual(g, e, accuracy: 1e-6) }
            XCTAssertEqual(got.count, min(topK, Self.images.count))
        }
        // By image: the image itself comes first, with cosine 1.
        let bytes = try Data(contentsOf: pipelineImage("rocket.jpg"))
        let byImage = try hits(try server.postJSON("/v1/search", ["image": bytes.base64EncodedString(), "top_k": 1]))
        XCTAssertEqual(byImage.count, 1)
        XCTAssertTrue(byImage[0].0.hasSuffix("/rocket.jpg"), "\(byImage)")
        XCTAssertEqual(byImage[0].1, 1, accuracy: 1e-5)
        let both = try hits(try server.postJSON("/v1/search", ["query": "a rocket", "image": "data:image/jpeg;base64," + bytes.base64EncodedString()]))
        XCTAssertEqual(both.count, Self.images.count)
    }

    func testSearchFaults() throws {
        let server = try server()
        let cases: [(String, Any, Int, String)] = [
            ("neither", ["top_k": 3], 422, "query: missing, and so is image"),
            ("empty query", ["query": "  "], 422, "query: empty"),
            ("top_k 0", ["query": "cat", "top_k": 0], 422, "top_k: 0 is out of range"),
            ("top_k 1001", ["query": "cat", "top_k": 1001], 422, "top_k: 1001 is out of range"),
            ("long query", ["query": String(repeating: "x", count: 10_001)], 422, "query: 10001 characters"),
            ("top_k fraction", ["query": "cat", "top_k": 2.5], 422, "top_k: 2.5 is not an integer"),
            ("top_k huge", ["query": "cat", "top_k": 1e30], 422, "top_k: 1000000000000000019884624838656 is not an integer in range"),
            ("top_k text", ["query": "cat", "top_k": "5"], 422, "top_k: expected an integer"),
            ("query a list", ["query": ["cat"]], 422, "query: expected a string"),
            ("bad image", ["image": "%%%"], 400, "image: not valid base64"),
        ]
        for (what, body, status, message) in cases {
            let response = try server.postJSON("/v1/search", body)
            XCTAssertEqual(response.status, status, "\(what): \(response.text)")
            XCTAssertTrue(response.errorMessage?.contains(message) == true, "\(what): \(response.text)")
        }
        let withoutDB = try PayloadServer.shared("tiny-f16", model: "tiny-f16")
        let search = try withoutDB.postJSON("/v1/search", ["query": "cat"])
        XCTAssertEqual(search.status, 404)
        XCTAssertEqual(search.errorType, "not_found_error")
        XCTAssertTrue(search.errorMessage?.contains("--db INDEX") == true, search.text)
        let image = try withoutDB.request("GET", "/v1/images?path=%2Fetc%2Fpasswd")
        XCTAssertEqual(image.status, 404)
    }

    func testImagesServesOnlyIndexedFiles() throws {
        let server = try server()
        let (folder, db) = try XCTUnwrap(Self.indexed)
        let paths = try hits(try server.postJSON("/v1/search", ["query": "anything", "top_k": 10])).map(\.0)
        XCTAssertEqual(paths.count, Self.images.count)
        for path in paths {
            let encoded = path.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let response = try server.request("GET", "/v1/images?path=\(encoded)")
            XCTAssertEqual(response.status, 200, response.text)
            XCTAssertEqual(response.body, try Data(contentsOf: URL(fileURLWithPath: path)))
            XCTAssertEqual(response.headers["content-type"], path.hasSuffix(".png") ? "image/png" : "image/jpeg")
        }
        for outside in [db, folder.path, "/etc/passwd", folder.appendingPathComponent("../photos.db").path,
                        paths[0] + "x", "relative.jpg"] {
            let encoded = outside.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let response = try server.request("GET", "/v1/images?path=\(encoded)")
            XCTAssertEqual(response.status, 404, "\(outside): \(response.text)")
            XCTAssertTrue(response.errorMessage?.contains("not an image of the index") == true, response.text)
        }
        let missing = try server.request("GET", "/v1/images")
        XCTAssertEqual(missing.status, 422, missing.text)
        XCTAssertTrue(missing.errorMessage?.hasPrefix("path: missing") == true, missing.text)
    }

    /// An index of another model than the served one: its embeddings cannot be compared, and the answer says which
    /// models (the served model is checked against the index's fingerprint on every request).
    func testIndexOfAnotherModelIsRefused() throws {
        let (_, db) = try XCTUnwrap(Self.indexed)
        // In process: zeroshot serve itself refuses to start with it (ModelLoader checks the fingerprint too).
        let server = try PayloadServer.shared("gelu-db", model: "tiny-p16-gelu", index: db, inProcess: true)
        let response = try server.postJSON("/v1/search", ["query": "a cat"])
        XCTAssertEqual(response.status, 500, response.text)
        let message = try XCTUnwrap(response.errorMessage)
        XCTAssertTrue(message.contains("was made with") && message.contains("tiny-f16") && message.contains("tiny-p16-gelu"), message)
        XCTAssertTrue(message.contains("--model"), message)
        let image = try server.request("GET", "/v1/images?path=x")
        XCTAssertEqual(image.status, 500, image.text)
    }

    /// A row indexed from an http(s) URL is answered with a redirect to it (the server fetches nothing).
    func testImagesRedirectsToAnIndexedURL() throws {
        let bytes = try Data(contentsOf: pipelineImage("chelsea.jpg"))
        let remote = try LoopbackServer { _ in .init(status: 200, headers: [("Content-Type", "image/jpeg")], body: bytes) }
        defer { remote.stop() }
        let folder = try XCTUnwrap(Self.indexed).folder
        let db = folder.appendingPathComponent("urls.db").path
        let url = remote.baseURL.appendingPathComponent("cat.jpg").absoluteString
        let run = try ZeroshotProcess.run(["index", "--db", db, "--model", fixtureModel("tiny-f16").path, "--quiet", url])
        XCTAssertEqual(run.status, 0, run.stderr)
        let server = try PayloadServer.shared("tiny-f16-urls-db", model: "tiny-f16", index: db)
        let fetches = remote.requests.count
        let response = try server.request("GET", "/v1/images?path=" + url.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        XCTAssertEqual(response.status, 302, response.text)
        XCTAssertEqual(response.headers["location"], url)
        XCTAssertEqual(remote.requests.count, fetches)
    }
}
