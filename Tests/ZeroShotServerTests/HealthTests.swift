import XCTest
import TestSupport

/// /healthz, /readyz and /v1/info before and after the model is loaded; a model that fails to load.
final class HealthTests: XCTestCase {
    func testNotReadyWhileTheModelLoads() throws {
        // A Hub model whose download answers only after 3 s (then 404): the server listens meanwhile, up but not
        // ready, and ends with the load error.
        let hub = try LoopbackServer { _ in LoopbackServer.Response(status: 404, delay: 3) }
        defer { hub.stop() }
        let cache = try ServeFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: cache) }
        let server = try ServerProcess.start(["--model", "example-org/slow-model", "--no-text-cache"], environment: [
            "HF_ENDPOINT": hub.baseURL.absoluteString, "HF_HUB_CACHE": cache.path, "HF_HUB_OFFLINE": "0",
            "HF_TOKEN": "", "ZEROSHOT_MODEL": "",
        ], waitUntilReady: false)
        defer { server.stop() }

        let health = try server.request("GET", "/healthz")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(try health.jsonObject() as? [String: String], ["status": "ok"])
        let notReady = try server.request("GET", "/readyz")
        XCTAssertEqual(notReady.status, 503)
        XCTAssertNotNil(notReady.headers["retry-after"])
        XCTAssertEqual(notReady.error?.type, "overloaded_error")
        XCTAssertEqual(try server.request("GET", "/v1/info").status, 503)
        let classify = try server.postJSON("/v1/zero-shot-image-classification", "{\"inputs\": \"\", \"parameters\": {}}")
        XCTAssertEqual(classify.status, 503, classify.text)
        XCTAssertNotNil(classify.headers["retry-after"])

        let run = try XCTUnwrap(server.waitForExit(timeout: 30), "the server did not end after its model failed to load")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("example-org/slow-model"), run.stderr)
    }

    func testReadyOnceLoaded() throws {
        let server = try ServerProcess.start(ServeFixtures.arguments())
        defer { server.stop() }
        let ready = try server.request("GET", "/readyz")
        XCTAssertEqual(ready.status, 200)
        XCTAssertEqual(try ready.jsonObject() as? [String: String], ["status": "ready"])
        XCTAssertEqual(try server.request("GET", "/healthz").status, 200)

        let info = try XCTUnwrap(try server.request("GET", "/v1/info").jsonObject() as? [String: Any])
        XCTAssertEqual(info["model"] as? String, "tiny-p16-gelu")
        XCTAssertEqual(info["model_type"] as? String, "clip")
        XCTAssertEqual(info["search"] as? Bool, false)
        XCTAssertEqual(info["max_labels"] as? Int, 1000)
        XCTAssertEqual(info["max_body_bytes"] as? Int, 20_000_000)
        XCTAssertEqual(info["hypothesis_template"] as? String, "This is a photo of {}.")
        let config = try JSONSerialization.jsonObject(
            with: Data(contentsOf: ServeFixtures.tinyModel.appendingPathComponent("config.json"))) as? [String: Any]
        XCTAssertEqual(info["embedding_dim"] as? Int, config?["projection_dim"] as? Int)

        let lines = server.logLines.compactMap { $0["msg"] as? String }
        XCTAssertLessThan(try XCTUnwrap(lines.firstIndex(of: "listening")), try XCTUnwrap(lines.firstIndex(of: "model loaded")))
    }

    func testAModelThatFailsToLoadEndsTheServerWithItsError() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-model-\(UUID().uuidString)")
        XCTAssertThrowsError(try ServerProcess.start(["--model", missing.path])) { error in
            guard case ServerProcess.Failure.exited(let status, let stdout, let stderr) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(status, 1)
            XCTAssertTrue(stderr.contains(missing.path), stderr)
            XCTAssertTrue(stderr.hasPrefix("error: "), stderr)
            let failure = stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.first { $0["msg"] as? String == "model failed to load" }
            XCTAssertEqual(failure?["level"] as? String, "error")
            XCTAssertTrue((failure?["error"] as? String)?.contains(missing.path) == true, stdout)
        }
    }

    func testPageAndOpenAPIAreServed() throws {
        let server = try ServerProcess.start(ServeFixtures.arguments())
        defer { server.stop() }
        let page = try server.request("GET", "/")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.headers["content-type"], "text/html; charset=utf-8")
        XCTAssertTrue(page.text.lowercased().contains("<!doctype html"), page.text)
        let yaml = try server.request("GET", "/openapi.yaml")
        XCTAssertEqual(yaml.status, 200)
        XCTAssertTrue(yaml.headers["content-type"]?.hasPrefix("application/yaml") == true)
        XCTAssertTrue(yaml.text.hasPrefix("openapi: 3.1"), yaml.text)
        // HEAD of a GET route: the headers without the body.
        let connection = try server.connect(timeout: 5)
        try connection.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let head = String(decoding: try connection.readToEnd(), as: UTF8.self)
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200"), head)
        XCTAssertFalse(head.contains("\"status\""), head)
    }

    func testUnknownRoutesAndMethodsAnswerJSON() throws {
        let server = try ServerProcess.start(ServeFixtures.arguments())
        defer { server.stop() }
        let missing = try server.request("GET", "/v2/nothing?x=1")
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.error?.type, "not_found_error")
        XCTAssertTrue(missing.error?.message.contains("/v2/nothing") == true, missing.text)
        XCTAssertEqual(missing.headers["content-type"], "application/json; charset=utf-8")

        let wrongMethod = try server.request("POST", "/healthz", body: Data())
        XCTAssertEqual(wrongMethod.status, 405)
        XCTAssertEqual(wrongMethod.headers["allow"], "GET, HEAD")
        XCTAssertEqual(wrongMethod.error?.type, "invalid_request_error")
        XCTAssertTrue(wrongMethod.error?.message.contains("POST") == true, wrongMethod.text)

        let delete = try server.request("DELETE", "/metrics")
        XCTAssertEqual(delete.status, 405)
        XCTAssertNotNil(delete.error)

        // Not HTTP, a header without a colon, a header block over the decoder's limit: 400 with the JSON body.
        for raw in ["NOT HTTP AT ALL\r\n\r\n", "GET /healthz HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n",
                    "GET /healthz HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 100_000) + "\r\n\r\n"] {
            let connection = try server.connect(timeout: 5)
            try? connection.send(raw)
            let response = try connection.readResponse()
            XCTAssertEqual(response.status, 400, raw.prefix(40) + ": " + response.text)
            XCTAssertEqual(response.error?.type, "invalid_request_error", response.text)
            XCTAssertTrue(connection.closedByPeer(within: 4))
        }
        // The server still answers; the three are logged and counted.
        XCTAssertEqual(try server.request("GET", "/healthz").status, 200)
        let rejected = server.waitForLogLines(count: 3) { $0["msg"] as? String == "request" && $0["route"] as? String == "BadRequest" }
        XCTAssertEqual(rejected.map { $0["status"] as? Int }, [400, 400, 400])
        XCTAssertTrue(try server.request("GET", "/metrics").text
            .contains("zeroshot_requests_total{route=\"BadRequest\",method=\"\",status=\"400\"} 3"))
    }
}
