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
        _ = run
        XCTAssertTrue(connection.closedByPeer(within: 2))
    }
}
