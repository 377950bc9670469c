import XCTest
import TestSupport

/// GET /metrics: Prometheus text with the request counts by route, method and status, latency histograms and the
/// server's gauges; the request log lines.
final class MetricsTests: XCTestCase {
    func testMetricsCountTheRequestsAndLogLinesDescribeThem() throws {
        let server = try ServerProcess.start(ServeFixtures.arguments())
        defer { server.stop() }
        for _ in 0..<3 { XCTAssertEqual(try server.request("GET", "/healthz").status, 200) }
        XCTAssertEqual(try server.request("GET", "/nowhere").status, 404)
        XCTAssertEqual(try server.request("PUT", "/readyz", body: Data()).status, 405)

        let metrics = try server.request("GET", "/metrics")
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        let text = metrics.text
        for family in ["# TYPE zeroshot_requests_total counter", "# TYPE zeroshot_request_duration_seconds histogram",
                       "# TYPE zeroshot_queue_depth gauge", "# TYPE zeroshot_model_ready gauge",
                       "# TYPE zeroshot_batch_size histogram", "# TYPE zeroshot_label_cache_hits_total counter",
                       "# TYPE zeroshot_label_cache_misses_total counter"] {
            XCTAssertTrue(text.contains(family), "\(family) missing in\n\(text)")
        }
        XCTAssertTrue(text.contains("zeroshot_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 3"), text)
        XCTAssertTrue(text.contains("zeroshot_requests_total{route=\"NotFound\",method=\"GET\",status=\"404\"} 1"), text)
        XCTAssertTrue(text.contains("zeroshot_requests_total{route=\"NotFound\",method=\"PUT\",status=\"405\"} 1"), text)
        XCTAssertTrue(text.contains("zeroshot_request_duration_seconds_count{route=\"/healthz\",method=\"GET\"} 3"), text)
        XCTAssertTrue(text.contains("zeroshot_model_ready 1"), text)

        // One JSON line per request, with the fields.
        let line = try XCTUnwrap(server.waitForLogLine { $0["msg"] as? String == "request" && $0["status"] as? Int == 405 })
        XCTAssertEqual(line["method"] as? String, "PUT")
        XCTAssertEqual(line["route"] as? String, "NotFound")
        XCTAssertEqual(line["level"] as? String, "info")
        XCTAssertNotNil(line["time"] as? String)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(line["duration_ms"] as? Double), 0)
        let healthz = server.waitForLogLines(count: 3) {
            $0["msg"] as? String == "request" && $0["route"] as? String == "/healthz" && $0["status"] as? Int == 200
        }
        XCTAssertEqual(healthz.count, 3)
        // Every standard-output line is a JSON object.
        for text in server.stdout.split(separator: "\n") {
            XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], String(text))
        }
    }

    func testLogLevelFromTheEnvironment() throws {
        let server = try ServerProcess.start(ServeFixtures.arguments(), environment: ["ZEROSHOT_LOG_LEVEL": "notice"])
        XCTAssertEqual(try server.request("GET", "/healthz").status, 200)
        let run = server.stop()
        XCTAssertEqual(run.status, 0)
        // Request lines are info: hidden; the lifecycle lines are notice.
        XCTAssertFalse(run.stdout.contains("\"msg\":\"request\""), run.stdout)
        XCTAssertTrue(run.stdout.contains("\"msg\":\"model loaded\""), run.stdout)
        XCTAssertTrue(run.stdout.contains("\"msg\":\"stopped\""), run.stdout)
    }
}
