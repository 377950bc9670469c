import Foundation
import TestSupport
import XCTest

/// The inference routes end to end in a real `zeroshot serve` process (one per test class): the scores of
/// `zeroshot classify`, the request log's batch size, the served model's name, and faults through the server's
/// middleware.
final class ClassificationServeTests: XCTestCase {
    static let route = "/v1/zero-shot-image-classification"
    nonisolated(unsafe) static var server: ServerProcess?

    override class func setUp() {
        super.setUp()
        // One compute thread here and in the commands compared with: the same summation order, so the very same
        // float32 results (with several threads, the count adapts to the machine's load).
        server = try? ServerProcess.start(["--model", fixtureModel("tiny-f16").path, "--threads", "1"])
    }

    override class func tearDown() {
        server?.stop()
        server = nil
        super.tearDown()
    }

    func running() throws -> ServerProcess { try XCTUnwrap(Self.server, "zeroshot serve did not start") }

    func postJSON(_ object: Any, path: String = route) throws -> ServerProcess.Response {
        try running().request("POST", path, headers: ["Content-Type": "application/json"],
                              body: try JSONSerialization.data(withJSONObject: object))
    }

    func testJSONAndMultipartGiveTheScoresOfClassify() throws {
        let image = pipelineImage("coffee_small.png")
        let bytes = try Data(contentsOf: image)
        let labels = ["a cup of coffee", "a cat", "Café au lait"]
        let run = try ZeroshotProcess.run(["classify", "--model", fixtureModel("tiny-f16").path, "--threads", "1", "--format", "json"]
                                          + labels.flatMap { ["--label", $0] } + [image.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let cli = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        let expected = try XCTUnwrap(cli.first?["predictions"] as? [[String: Any]]).map {
            [$0["label"] as? String ?? "", "\($0["score"] as? Double ?? .nan)"]
        }

        let json = try postJSON(["inputs": bytes.base64EncodedString(), "parameters": ["candidate_labels": labels]])
        let boundary = "zs-boundary-91f"
        var form = Data()
        for label in labels {
            form += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"candidate_labels\"\r\n\r\n\(label)\r\n".utf8)
        }
        form += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"c.png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
        form += bytes + Data("\r\n--\(boundary)--\r\n".utf8)
        let multipart = try running().request("POST", Self.route,
                                              headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"], body: form)
        for response in [json, multipart] {
            XCTAssertEqual(response.status, 200, response.text)
            XCTAssertEqual(response.headers["content-type"], "application/json; charset=utf-8")
            let got = try XCTUnwrap(try response.jsonObject() as? [[String: Any]]).map {
                [$0["label"] as? String ?? "", "\($0["score"] as? Double ?? .nan)"]
            }
            XCTAssertEqual(got, expected)
        }
        // The request log names the batch the image ran in.
        let line = try running().waitForLogLine {
            $0["msg"] as? String == "request" && $0["route"] as? String == Self.route && $0["status"] as? Int == 200
        }
        XCTAssertEqual(line?["batch_size"] as? Int, 1, "\(String(describing: line))")
    }

    func testEmbeddingsNameTheServedModel() throws {
        let response = try postJSON(["input": ["a cat", "a dog"], "model": "whatever"], path: "/v1/embeddings")
        XCTAssertEqual(response.status, 200, response.text)
        let body = try XCTUnwrap(try response.jsonObject() as? [String: Any])
        XCTAssertEqual(body["model"] as? String, "tiny-f16")
        XCTAssertEqual((body["data"] as? [Any])?.count, 2)
    }

    func testFaultsThroughTheServer() throws {
        let image = try Data(contentsOf: pipelineImage("chelsea.jpg")).base64EncodedString()
        let notJSON = try running().request("POST", Self.route, headers: ["Content-Type": "application/json"], body: Data("{oops".utf8))
        XCTAssertEqual(notJSON.status, 400, notJSON.text)
        XCTAssertEqual(notJSON.error?.type, "invalid_request_error")
        let template = try postJSON(["inputs": image, "parameters": ["candidate_labels": ["cat"], "hypothesis_template": "{} {1}"]])
        XCTAssertEqual(template.status, 422, template.text)
        XCTAssertTrue(template.error?.message.hasPrefix("parameters.hypothesis_template: ") == true, template.text)
        let many = try postJSON(["inputs": image, "parameters": ["candidate_labels": (0..<1001).map { "l\($0)" }]])
        XCTAssertEqual(many.status, 422, many.text)
        let url = try postJSON(["inputs": "http://127.0.0.1:9/a.jpg", "parameters": ["candidate_labels": ["cat"]]])
        XCTAssertEqual(url.status, 400, url.text)
        XCTAssertTrue(url.error?.message.contains("--allow-urls") == true, url.text)
        let search = try postJSON(["query": "cat"], path: "/v1/search")
        XCTAssertEqual(search.status, 404, search.text)
        XCTAssertEqual(search.error?.type, "not_found_error")
        XCTAssertTrue(search.error?.message.contains("--db INDEX") == true, search.text)
        let images = try running().request("GET", "/v1/images?path=%2Fetc%2Fpasswd")
        XCTAssertEqual(images.status, 404, images.text)
        let empty = try postJSON(["input": []], path: "/v1/embeddings")
        XCTAssertEqual(empty.status, 422, empty.text)
    }

    /// Concurrent requests share image-tower batches; each gets its own image's scores, and a bad image among them
    /// fails alone.
    func testConcurrentRequestsEachGetTheirOwnScores() throws {
        let batching = try ServerProcess.start(["--model", fixtureModel("tiny-f16").path, "--threads", "1",
                                                "--max-batch", "8", "--max-batch-wait-ms", "200"])
        defer { batching.stop() }
        let names = ["chelsea.jpg", "coffee_small.png", "rocket.jpg", "camera_gray.png", "astronaut_exif6.jpg", "cifar10_00_3.png"]
        let labels = ["a cat", "a cup of coffee", "a rocket", "a person"]
        func body(_ inputs: String) throws -> Data {
            try JSONSerialization.data(withJSONObject: ["inputs": inputs, "parameters": ["candidate_labels": labels]])
        }
        let bodies = try names.map { try body(try Data(contentsOf: pipelineImage($0)).base64EncodedString()) }
            + [try body(Data("not an image".utf8).base64EncodedString())]
        // One at a time first: each image alone in its batch.
        let alone = try bodies.map { try batching.request("POST", Self.route, headers: ["Content-Type": "application/json"], body: $0) }
        let results = Results(count: bodies.count)
        // A thread per request, all sending at once.
        let done = DispatchGroup()
        for i in bodies.indices {
            done.enter()
            Thread {
                results.set(i, try? batching.request("POST", Self.route, headers: ["Content-Type": "application/json"], body: bodies[i]))
                done.leave()
            }.start()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        for (i, single) in alone.enumerated() {
            let together = try XCTUnwrap(results.get(i), names.indices.contains(i) ? names[i] : "bad image")
            XCTAssertEqual(together.status, single.status, together.text)
            if i == names.count {
                XCTAssertEqual(together.status, 400, together.text)
                continue
            }
            let a = try XCTUnwrap(try single.jsonObject() as? [[String: Any]]), b = try XCTUnwrap(try together.jsonObject() as? [[String: Any]])
            XCTAssertEqual(a.map { $0["label"] as? String }, b.map { $0["label"] as? String }, names[i])
            for (x, y) in zip(a, b) {
                XCTAssertEqual(x["score"] as? Double ?? .nan, y["score"] as? Double ?? .nan, accuracy: 1e-6, names[i])
            }
        }
        let sizes = batching.waitForLogLines(count: 2 * names.count) { $0["msg"] as? String == "request" && $0["status"] as? Int == 200 }
            .compactMap { $0["batch_size"] as? Int }
        XCTAssertEqual(sizes.count, 2 * names.count)
        XCTAssertGreaterThan(sizes.max() ?? 0, 1, "no request shared a batch: \(sizes)")
    }
}

private final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [ServerProcess.Response?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: ServerProcess.Response?) { lock.withLock { values[i] = value } }
    func get(_ i: Int) -> ServerProcess.Response? { lock.withLock { values[i] } }
}
