import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Listening on the port it logs, graceful shutdown on SIGTERM and SIGINT.
final class LifecycleTests: XCTestCase {
    func testListeningLineHasTheBoundPortAndSIGTERMExitsZero() throws {
        let server = try ServerProcess.start(ServeFixtures.arguments())
        let listening = try XCTUnwrap(server.logLines.first { $0["msg"] as? String == "listening" })
        XCTAssertEqual(listening["host"] as? String, "127.0.0.1")
        XCTAssertEqual(listening["port"] as? Int, server.port)
        XCTAssertNotEqual(server.port, 0)
        XCTAssertEqual(try server.request("GET", "/healthz").status, 200)
        let run = server.stop(signal: SIGTERM)
        XCTAssertEqual(run.status, 0, run.stderr)
        let messages = run.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["msg"] as? String
        }
        XCTAssertTrue(messages.contains("shutting down"), run.stdout)
        XCTAssertEqual(messages.last, "stopped", run.stdout)
        // The port is free again.
        XCTAssertThrowsError(try ServerProcess.Connection(port: server.port, timeout: 1))
    }

    func testSIGINTExitsZero() throws {
        let server = try ServerProcess.start(ServeFixtures.arguments())
        XCTAssertEqual(server.stop(signal: SIGINT).status, 0)
    }

    func testInFlightRequestFinishesAfterSIGTERM() throws {
        let server = try ServerProcess.start(ServeFixtures.arguments(["--request-timeout", "20", "--shutdown-grace", "20"]))
        let connection = try server.connect(timeout: 20)
        let body = "{\"input\": \"a photo of a dog\"}"
        try connection.send("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            + "Content-Length: \(body.utf8.count)\r\n\r\n" + body.prefix(5))
        Thread.sleep(forTimeInterval: 0.3)
        kill(server.process.processIdentifier, SIGTERM)
        XCTAssertNotNil(server.waitForLogLine { $0["msg"] as? String == "shutting down" })
        // New connections are refused once shutting down ...
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertTrue(server.process.isRunning, "the server exited with a request in flight")
        // ... while the request in flight completes.
        try connection.send(String(body.dropFirst(5)))
        let response = try connection.readResponse()
        XCTAssertEqual(response.status, 200, response.text)
        let run = try XCTUnwrap(server.waitForExit(timeout: 20), "the server did not exit after its last request")
        XCTAssertEqual(run.status, 0, run.stderr)
    }

    func testGracePeriodBoundsTheShutdown() throws {
        // A request that never completes: after --shutdown-grace the server exits anyway.
        let server = try ServerProcess.start(ServeFixtures.arguments(["--request-timeout", "60", "--shutdown-grace", "1"]))
        let connection = try server.connect(timeout: 20)
        try connection.send("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        Thread.sleep(forTimeInterval: 0.3)
        let start = Date()
        kill(server.process.processIdentifier, SIGTERM)
        let run = try XCTUnwrap(server.waitForExit(timeout: 15), "the server did not exit after its grace period")
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        XCTAssertEqual(run.status, 0, run.stderr)
        // The unfinished request was cancelled at the end of the grace period.
        XCTAssertTrue(run.stdout.contains("\"status\":499"), run.stdout)
        XCTAssertTrue(connection.closedByPeer(within: 2))
    }

    func testAClientThatGoesAwayFreesItsQueueSlot() throws {
        // A lone image waits up to 30 s for a batch to fill: the request holds a queue slot meanwhile.
        let server = try ServerProcess.start(ServeFixtures.arguments(["--max-batch-wait-ms", "30000"]))
        defer { server.stop() }
        let image = try Data(contentsOf: ServeFixtures.fixtures.appendingPathComponent("images/png_bilevel.png"))
        let body = "{\"inputs\": \"\(image.base64EncodedString())\", \"parameters\": {\"candidate_labels\": [\"a\", \"b\"]}}"
        let connection = try server.connect(timeout: 10)
        try connection.send("POST /v1/zero-shot-image-classification HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            + "Content-Length: \(body.utf8.count)\r\n\r\n" + body)
        func queueDepth() throws -> String? {
            try server.request("GET", "/metrics").text.split(separator: "\n")
                .first { $0.hasPrefix("zeroshot_queue_depth ") }.map { String($0.dropFirst("zeroshot_queue_depth ".count)) }
        }
        var waiting = false
        for _ in 0..<100 {
            if let depth = try queueDepth(), depth != "0.0", depth != "0" { waiting = true; break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertTrue(waiting, "the request never waited in the queue")

        let closed = Date()
        connection.close()
        let line = server.waitForLogLine(timeout: 10) { $0["msg"] as? String == "request" && $0["status"] as? Int == 499 }
        XCTAssertEqual(line?["route"] as? String, "/v1/zero-shot-image-classification", server.stdout)
        XCTAssertLessThan(Date().timeIntervalSince(closed), 10)
        let depth = try queueDepth()
        XCTAssertTrue(["0", "0.0"].contains(depth ?? ""), "queue depth \(depth ?? "missing") after the client went away")
    }

    func testAPortInUseIsAnError() throws {
        let first = try ServerProcess.start(ServeFixtures.arguments())
        defer { first.stop() }
        XCTAssertThrowsError(try ServerProcess.start(ServeFixtures.arguments(["--port", String(first.port)]))) { error in
            guard case ServerProcess.Failure.exited(let status, _, let stderr) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(status, 1)
            XCTAssertTrue(stderr.contains("cannot listen on 127.0.0.1:\(first.port)"), stderr)
        }
    }
}
