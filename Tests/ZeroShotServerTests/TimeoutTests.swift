import XCTest
import TestSupport

/// Slow clients: headers or body trickling past --request-timeout are cut off, idle connections closed after
/// --idle-timeout; bodies over --max-body-bytes refused without being read.
final class TimeoutTests: XCTestCase {
    nonisolated(unsafe) static var server: ServerProcess!

    override class func setUp() {
        super.setUp()
        server = try? ServerProcess.start(ServeFixtures.arguments([
            "--request-timeout", "1", "--idle-timeout", "1.5", "--max-body-bytes", "1000",
        ]))
    }

    override class func tearDown() {
        server?.stop()
        server = nil
        super.tearDown()
    }

    var server: ServerProcess { get throws { try XCTUnwrap(Self.server, "the server did not start") } }

    /// Sends `bytes` one piece every `pause` seconds until the server closes the connection or all are sent;
    /// returns when the server closed it (seconds after the first byte) and what it answered.
    func trickle(_ pieces: [String], pause: TimeInterval) throws -> (closedAfter: TimeInterval?, answer: String) {
        let connection = try self.server.connect(timeout: 10)
        let start = Date()
        for piece in pieces {
            do { try connection.send(piece) } catch { break }
            if connection.closedByPeer(within: pause) { break }
        }
        let answer = String(decoding: (try? connection.readToEnd()) ?? Data(), as: UTF8.self)
        let closed = connection.closedByPeer(within: 5) ? Date().timeIntervalSince(start) : nil
        return (closed, answer)
    }

    func testTricklingHeadersAreCutOff() throws {
        let head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + String(repeating: "a", count: 40) + "\r\n\r\n"
        let (closed, answer) = try trickle(head.map(String.init), pause: 0.1)
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 408"), answer)
        XCTAssertTrue(answer.contains("\"type\": \"invalid_request_error\""), answer)
        XCTAssertTrue(answer.contains("--request-timeout"), answer)
        // 1 s deadline (+ the short linger before the whole connection closes); all of it would take 6 s.
        XCTAssertLessThan(try XCTUnwrap(closed), 4.5)
        let line = try self.server.waitForLogLine { $0["msg"] as? String == "request" && $0["status"] as? Int == 408 }
        XCTAssertEqual(line?["route"] as? String, "RequestTimeout")
    }

    func testTricklingBodyIsCutOff() throws {
        // A body the route reads: the request cannot be answered before the body is complete.
        let head = "POST /v1/embeddings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n"
        let body = "{\"input\": \"" + String(repeating: "a", count: 27) + "\"}"
        XCTAssertEqual(body.utf8.count, 40)
        let (closed, answer) = try trickle([head] + body.map(String.init), pause: 0.1)
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 408"), answer)
        XCTAssertLessThan(try XCTUnwrap(closed), 4.5)
    }

    func testAQuickRequestOnTheSameServerIsNotAffected() throws {
        let connection = try self.server.connect(timeout: 5)
        try connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try connection.readResponse().status, 200)
        // Keep-alive: a second request on the connection within the idle timeout.
        Thread.sleep(forTimeInterval: 0.5)
        try connection.send("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try connection.readResponse().status, 200)
    }

    func testIdleConnectionIsClosed() throws {
        let connection = try self.server.connect(timeout: 5)
        try connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try connection.readResponse().status, 200)
        let start = Date()
        XCTAssertTrue(connection.closedByPeer(within: 5))
        let idle = Date().timeIntervalSince(start)
        XCTAssertGreaterThan(idle, 1.0)
        XCTAssertLessThan(idle, 4.0)
    }

    func testBodyOverTheLimitByContentLength() throws {
        let connection = try self.server.connect(timeout: 5)
        // Announces 10 MB and sends only the head: the answer must not wait for the body.
        try connection.send("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n")
        let response = try connection.readResponse()
        XCTAssertEqual(response.status, 413)
        XCTAssertEqual(response.error?.type, "payload_too_large")
        XCTAssertTrue(response.error?.message.contains("--max-body-bytes") == true, response.text)
        XCTAssertTrue(connection.closedByPeer(within: 4))
    }

    func testChunkedBodyOverTheLimit() throws {
        let connection = try self.server.connect(timeout: 5)
        try connection.send("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        // 2,000 bytes in 500-byte chunks, then more without end: refused once past 1,000, the rest never read.
        var sent = 0
        for _ in 0..<200 {
            do { try connection.send("1f4\r\n" + String(repeating: " ", count: 500) + "\r\n") } catch { break }
            sent += 500
            if connection.closedByPeer(within: 0.01) { break }
        }
        let response = try connection.readResponse()
        XCTAssertEqual(response.status, 413, response.text)
        XCTAssertEqual(response.error?.type, "payload_too_large")
        XCTAssertTrue(connection.closedByPeer(within: 4))
    }

    func testBodyWithinTheLimitIsRead() throws {
        let response = try self.server.postJSON("/v1/embeddings", "{\"input\": \"a dog\"}")
        XCTAssertNotEqual(response.status, 413, response.text)
        XCTAssertNotEqual(response.status, 408, response.text)
    }
}
