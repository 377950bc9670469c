import Foundation
import TestSupport
import XCTest
@testable import Hub

/// `RemoteFile.fetch` against loopback servers: statuses, redirects, timeouts, the size cap, schemes. Every error
/// names the URL as given.
final class RemoteFileTests: XCTestCase {
    private func server(_ handler: @escaping @Sendable (LoopbackServer.Request) -> LoopbackServer.Response) throws -> LoopbackServer {
        let server = try LoopbackServer(handler: handler)
        addTeardownBlock { server.stop() }
        return server
    }

    private func fetchError(_ url: URL, maxBytes: Int = RemoteFile.defaultMaxBytes, timeout: TimeInterval = 5,
                            file: StaticString = #filePath, line: UInt = #line) -> RemoteFileError? {
        do {
            let data = try RemoteFile.fetch(url, maxBytes: maxBytes, timeout: timeout)
            XCTFail("fetched \(data.count) bytes, expected an error", file: file, line: line)
            return nil
        } catch let error as RemoteFileError {
            XCTAssertTrue(error.description.hasPrefix(url.absoluteString + ": "), error.description, file: file, line: line)
            XCTAssertEqual(error.localizedDescription, error.description, file: file, line: line)
            return error
        } catch {
            XCTFail("unexpected \(type(of: error)): \(error)", file: file, line: line)
            return nil
        }
    }

    func testSuccessReturnsTheExactBody() throws {
        let body = Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let s = try server { _ in .init(status: 200, headers: [("Content-Type", "image/jpeg")], body: body, pieces: 7) }
        XCTAssertEqual(try RemoteFile.fetch(s.baseURL.appendingPathComponent("cat.jpg")), body)
        XCTAssertEqual(s.requests.map(\.method), ["GET"])
        XCTAssertEqual(s.requests.first?.path, "/cat.jpg")
    }

    /// The scheme in capitals ("HTTP://host/x.jpg", valid per RFC 3986) is fetched; URLSession used to answer
    /// "unsupported URL".
    func testSchemeInAnyCase() throws {
        let s = try server { _ in .init(status: 200, headers: [], body: Data("ok".utf8)) }
        let upper = try XCTUnwrap(URL(string: s.baseURL.absoluteString.replacingOccurrences(of: "http://", with: "HTTP://") + "/a.jpg"))
        XCTAssertEqual(try RemoteFile.fetch(upper), Data("ok".utf8))
        XCTAssertEqual(s.requests.first?.path, "/a.jpg")
    }

    func testStatusIsNamedWithItsReason() throws {
        let s = try server { request in
            request.path == "/gone" ? .init(status: 500) : .init(status: 404, body: Data("<html>no</html>".utf8))
        }
        let url = s.baseURL.appendingPathComponent("missing.jpg")
        let error = fetchError(url)
        XCTAssertEqual(error, .httpStatus(url: url.absoluteString, status: 404))
        XCTAssertEqual(error?.description, "\(url.absoluteString): HTTP 404 Not Found")
        XCTAssertEqual(fetchError(s.baseURL.appendingPathComponent("gone"))?.description,
                       "\(s.baseURL.absoluteString)/gone: HTTP 500 Internal Server Error")
    }

    /// Five redirects are followed (relative and absolute Location); a sixth is refused.
    func testAtMostFiveRedirects() throws {
        let s = try server { request in
            // /hop/N redirects to /hop/N-1 ... /hop/0 answers.
            let n = Int(request.path.split(separator: "/").last ?? "") ?? 0
            if n == 0 { return .init(status: 200, body: Data("end".utf8)) }
            let location = n % 2 == 0 ? "/hop/\(n - 1)" : "\(n - 1)"
            return .init(status: n % 3 == 0 ? 307 : 302, headers: [("Location", location)])
        }
        XCTAssertEqual(try RemoteFile.fetch(s.baseURL.appendingPathComponent("hop/5")), Data("end".utf8))
        XCTAssertEqual(s.requests.count, 6)
        let url = s.baseURL.appendingPathComponent("hop/6")
        let error = fetchError(url)
        XCTAssertEqual(error, .tooManyRedirects(url: url.absoluteString, maxRedirects: 5))
        XCTAssertEqual(error?.description, "\(url.absoluteString): too many redirects (more than 5)")
        // The sixth redirect target is never asked for.
        XCTAssertEqual(s.requests.count, 6 + 6)
        // A smaller limit is honoured.
        XCTAssertThrowsError(try RemoteFile.fetch(s.baseURL.appendingPathComponent("hop/2"), maxRedirects: 1))
    }

    func testRedirectWithoutLocationOrToAnotherScheme() throws {
        let s = try server { request in
            request.path == "/file" ? .init(status: 302, headers: [("Location", "file:///etc/passwd")]) : .init(status: 301)
        }
        let bare = s.baseURL.appendingPathComponent("bare")
        XCTAssertEqual(fetchError(bare), .badRedirect(url: bare.absoluteString, status: 301, location: nil))
        let file = s.baseURL.appendingPathComponent("file")
        let error = fetchError(file)
        XCTAssertEqual(error, .unsupportedScheme(url: file.absoluteString, target: "file:///etc/passwd"))
        XCTAssertTrue(error?.description.contains("redirected to file:///etc/passwd") ?? false)
    }

    func testOnlyHTTPAndHTTPS() throws {
        for text in ["ftp://example.com/a.jpg", "file:///etc/hosts"] {
            let url = try XCTUnwrap(URL(string: text))
            XCTAssertEqual(fetchError(url)?.description, "\(text): not an http or https URL")
        }
        XCTAssertTrue(RemoteFile.isRemote("HTTPS://example.com/a.jpg"))
        XCTAssertTrue(RemoteFile.isRemote("http://x"))
        XCTAssertFalse(RemoteFile.isRemote("httpfoo/a.jpg"))
        XCTAssertFalse(RemoteFile.isRemote("photos/http://a"))
    }

    /// A server that says nothing fails after the timeout, not after the server gives up.
    func testSlowServerTimesOut() throws {
        let s = try server { _ in .init(status: 200, body: Data("late".utf8), delay: 2) }
        let url = s.baseURL.appendingPathComponent("slow.jpg")
        let start = Date()
        let error = fetchError(url, timeout: 0.4)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(error, .timedOut(url: url.absoluteString, seconds: 0.4))
        XCTAssertEqual(error?.description, "\(url.absoluteString): timed out (no data from the server for 0.4 s)")
        XCTAssertLessThan(elapsed, 1.8, "the fetch waited for the server instead of timing out")
    }

    /// A server that trickles its body (never silent for the timeout) is cut off at the deadline.
    func testTricklingServerIsCutOffAtTheDeadline() throws {
        let s = try server { _ in .init(status: 200, body: Data(count: 40), pieces: 40, pause: 0.1) }
        let url = s.baseURL.appendingPathComponent("trickle.jpg")
        let start = Date()
        XCTAssertThrowsError(try RemoteFile.fetch(url, timeout: 2, deadline: 0.8)) { error in
            XCTAssertEqual(error as? RemoteFileError, .pastDeadline(url: url.absoluteString, seconds: 0.8))
            XCTAssertEqual((error as? RemoteFileError)?.description,
                           "\(url.absoluteString): not received within 0.8 s (the server sends too slowly)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 3, "the fetch waited for the whole body")
        // Within its deadline the same body is received.
        let quick = try server { _ in .init(status: 200, body: Data(count: 40), pieces: 4, pause: 0.05) }
        XCTAssertEqual(try RemoteFile.fetch(quick.baseURL.appendingPathComponent("a.jpg"), deadline: 10).count, 40)
    }

    /// Announced by Content-Length: refused before the body.
    func testOverTheCapByContentLength() throws {
        let s = try server { _ in .init(status: 200, body: Data(count: 5000)) }
        let url = s.baseURL.appendingPathComponent("big.jpg")
        let error = fetchError(url, maxBytes: 4999)
        XCTAssertEqual(error, .tooLarge(url: url.absoluteString, maxBytes: 4999, contentLength: 5000))
        XCTAssertEqual(error?.description, "\(url.absoluteString): the file is 5000 bytes, more than the limit of "
                       + "4999 bytes (--max-download-bytes raises it)")
        // Exactly at the cap is fine.
        XCTAssertEqual(try RemoteFile.fetch(url, maxBytes: 5000).count, 5000)
        // An error page longer than the cap is still reported by its status.
        let errors = try server { _ in .init(status: 404, body: Data(count: 9000)) }
        let missing = errors.baseURL.appendingPathComponent("missing.jpg")
        XCTAssertEqual(fetchError(missing, maxBytes: 100), .httpStatus(url: missing.absoluteString, status: 404))
        let streamed = try server { _ in .init(status: 503, body: Data(count: 9000), omitContentLength: true) }
        let busy = streamed.baseURL.appendingPathComponent("busy.jpg")
        XCTAssertEqual(fetchError(busy, maxBytes: 100)?.description, "\(busy.absoluteString): HTTP 503 Service Unavailable")
    }

    /// Without Content-Length the bytes are counted as they stream in, and the transfer stops at the cap: a 64 MB
    /// body sent slowly in 64 pieces is abandoned long before its end.
    func testOverTheCapWhileStreaming() throws {
        let small = try server { _ in .init(status: 200, body: Data(count: 3000), omitContentLength: true) }
        let url = small.baseURL.appendingPathComponent("nolength.jpg")
        XCTAssertEqual(fetchError(url, maxBytes: 2999), .tooLarge(url: url.absoluteString, maxBytes: 2999, contentLength: nil))
        XCTAssertEqual(try RemoteFile.fetch(url, maxBytes: 3000).count, 3000)

        let huge = try server { _ in
            .init(status: 200, body: Data(count: 64 << 20), pieces: 64, pause: 0.05, omitContentLength: true)
        }
        let hugeURL = huge.baseURL.appendingPathComponent("endless.jpg")
        let start = Date()
        let error = fetchError(hugeURL, maxBytes: 100_000)
        XCTAssertEqual(error, .tooLarge(url: hugeURL.absoluteString, maxBytes: 100_000, contentLength: nil))
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.5, "the body was read to its end")
    }

    func testConnectionRefusedNamesTheURL() throws {
        let s = try LoopbackServer { _ in .init(status: 200) }
        let url = s.baseURL.appendingPathComponent("a.jpg")
        s.stop()
        guard case .transport(let named, let reason)? = fetchError(url, timeout: 2) else { return }
        XCTAssertEqual(named, url.absoluteString)
        XCTAssertFalse(reason.isEmpty)
    }
}
