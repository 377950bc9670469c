import Foundation
import TestSupport
import XCTest

/// Hostile and malformed input against a real `zeroshot serve --db` process: each case answers a 4xx JSON error (or
/// does what HTTP/1 says), and the server goes on serving. The index is the class's own, so that tests may replace
/// it under the running server.
final class AttackTests: XCTestCase {
    nonisolated(unsafe) static var server: ServerProcess?
    nonisolated(unsafe) static var folder: URL?
    static let images = ["chelsea.jpg", "coffee_small.png", "rocket.jpg"]

    static var db: String { folder!.appendingPathComponent("photos.db").path }

    override class func setUp() {
        super.setUp()
        guard let folder = try? ServeFixtures.temporaryDirectory() else { return }
        self.folder = folder
        let photos = folder.appendingPathComponent("photos")
        try? FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        for name in images { try? FileManager.default.copyItem(at: pipelineImage(name), to: photos.appendingPathComponent(name)) }
        guard let run = try? index(photos.path, into: db), run.status == 0 else { return }
        server = try? ServerProcess.start(["--model", fixtureModel("tiny-f16").path, "--no-text-cache", "--threads", "1",
                                           "--db", db])
    }

    override class func tearDown() {
        server?.stop()
        server = nil
        if let folder { try? FileManager.default.removeItem(at: folder) }
        super.tearDown()
    }

    static func index(_ folder: String, into db: String) throws -> CommandRun {
        try ZeroshotProcess.run(["index", "--db", db, "--model", fixtureModel("tiny-f16").path, "--quiet", folder])
    }

    func server() throws -> ServerProcess { try XCTUnwrap(Self.server, "zeroshot serve --db did not start") }

    /// The server still answers `/healthz` and a good request.
    func assertStillServing(_ server: ServerProcess, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try server.request("GET", "/healthz").status, 200, file: file, line: line)
        let good = try server.postJSON("/v1/embeddings", #"{"input": "a cat"}"#)
        XCTAssertEqual(good.status, 200, good.text, file: file, line: line)
    }

    /// Sends `bytes` on a new connection and reads one response.
    func raw(_ server: ServerProcess, _ bytes: String, timeout: TimeInterval = 10) throws -> ServerProcess.Response {
        let connection = try server.connect(timeout: timeout)
        defer { connection.close() }
        try connection.send(bytes)
        return try connection.readResponse()
    }

    // MARK: - HTTP/1

    /// A chunked body that breaks HTTP/1.1 (a chunk size that is not hex, an unknown transfer coding) was a 500
    /// `server_error` logged as a failure of the server: it is a 400 now.
    func testMalformedChunkedBodyIsABadRequest() throws {
        let server = try server()
        for (name, request) in [
            ("chunk size not hex", "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"),
            ("chunk size overflowing", "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "FFFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n"),
            ("unknown transfer coding", "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc"),
        ] {
            let response = try raw(server, request)
            XCTAssertEqual(response.status, 400, "\(name): \(response.text)")
            XCTAssertEqual(response.error?.type, "invalid_request_error", name)
            XCTAssertTrue(response.error?.message.contains("not valid HTTP/1.1") == true, "\(name): \(response.text)")
        }
        try assertStillServing(server)
    }

    /// The request line and headers together are bounded by NIO's HTTP parser (llhttp): 80 KiB, then a 400 before
    /// anything is routed; one long header, 100,000 short ones and a 1 MiB path alike.
    func testHeadersOverEightyKiBAreABadRequest() throws {
        let server = try server()
        let head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: "
        let fits = try raw(server, head + String(repeating: "a", count: 80 * 1024 - head.utf8.count - 4) + "\r\n\r\n")
        XCTAssertEqual(fits.status, 200, fits.text)
        for (name, request) in [
            ("one long header", head + String(repeating: "a", count: 80 * 1024) + "\r\n\r\n"),
            ("100,000 headers", "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                + (0..<100_000).map { "X-\($0): v\r\n" }.joined() + "\r\n"),
            ("a 1 MiB path", "GET /" + String(repeating: "a", count: 1 << 20) + " HTTP/1.1\r\nHost: x\r\n\r\n"),
        ] {
            let response = try raw(server, request)
            XCTAssertEqual(response.status, 400, "\(name): \(response.text)")
            XCTAssertTrue(response.error?.message.contains("too many header bytes") == true, "\(name): \(response.text)")
        }
        try assertStillServing(server)
    }

    /// A client that closes its connection in the middle of a body was logged as an error and counted as a 500: it
    /// went away, as a cancelled request (499), and nothing failed on the server's side.
    func testClientGoneInTheMiddleOfABodyIsNotAServerError() throws {
        let server = try server()
        let connection = try server.connect()
        try connection.send("POST /v1/embeddings?gone-mid-body HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            + "Content-Length: 1000\r\n\r\n{\"input\": \"a")
        Thread.sleep(forTimeInterval: 0.2)
        connection.close()
        let line = server.waitForLogLine { $0["msg"] as? String == "request" && $0["path"] as? String == "/v1/embeddings"
            && ($0["status"] as? Int).map { $0 != 200 } == true }
        XCTAssertEqual(line?["status"] as? Int, 499, "\(line ?? [:])")
        XCTAssertNil(server.waitForLogLine(timeout: 0.5) { $0["msg"] as? String == "request failed" },
                     "a client going away is not a failure of the server")
        try assertStillServing(server)
    }

    /// An HTTP/1.0 request (which closes its connection by default) and `Connection: Close` (any letter case) were
    /// answered on a connection left open until the idle timeout: a client reading to the end of the connection hung.
    func testConnectionsThatAskToCloseAreClosed() throws {
        let server = try server()
        for request in ["GET /healthz HTTP/1.0\r\n\r\n", "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n",
                        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, CLOSE\r\n\r\n"] {
            let connection = try server.connect(timeout: 5)
            defer { connection.close() }
            try connection.send(request)
            let response = try connection.readResponse()
            XCTAssertEqual(response.status, 200, request)
            XCTAssertEqual(response.headers["connection"], "close", request)
            XCTAssertTrue(connection.closedByPeer(within: 3), "the connection stays open after \(request.debugDescription)")
        }
        // CONNECT is not served; its 404 has no body nor length (NIO's encoder), so only the close ends it.
        do {
            let connection = try server.connect(timeout: 5)
            defer { connection.close() }
            try connection.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
            let answer = String(decoding: try connection.readToEnd(), as: UTF8.self)
            XCTAssertTrue(answer.hasPrefix("HTTP/1.1 404"), answer)
        }
        // HTTP/1.0 with keep-alive: the connection stays, and the response says so (HTTP/1.0 closes by default).
        let connection = try server.connect(timeout: 5)
        defer { connection.close() }
        for _ in 0..<2 {
            try connection.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let response = try connection.readResponse()
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(response.headers["connection"], "keep-alive")
        }
    }

    /// `Expect: 100-continue` got no `100 Continue`: curl (which sends it for bodies over 1 MB) waited a second
    /// before every such upload. A body declared over --max-body-bytes gets the 413 instead, before it is sent.
    func testExpectContinueIsAnswered() throws {
        let server = try server()
        let connection = try server.connect(timeout: 5)
        defer { connection.close() }
        let body = #"{"input": "a cat"}"#
        try connection.send("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            + "Expect: 100-continue\r\nContent-Length: \(body.utf8.count)\r\n\r\n")
        let interim = try connection.receive()
        XCTAssertEqual(String(decoding: interim, as: UTF8.self), "HTTP/1.1 100 Continue\r\n\r\n")
        try connection.send(body)
        let response = try connection.readResponse()
        XCTAssertEqual(response.status, 200, response.text)

        let tooLarge = try raw(server, "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                               + "Expect: 100-continue\r\nContent-Length: 999999999\r\n\r\n", timeout: 5)
        XCTAssertEqual(tooLarge.status, 413, tooLarge.text)
        try assertStillServing(server)
    }

    // MARK: - Bodies

    /// Bytes that are not JSON got "the request body is not valid JSON" and nothing more (Foundation's decoder on
    /// Linux gives no reason); a lone surrogate escape in a string-or-list field was "expected a string or a list of
    /// strings", which it is.
    func testJSONErrorsSayWhatIsWrong() throws {
        let server = try server()
        for (body, expected) in [
            (#"{"input": NaN}"#, "Invalid value around character 10"),
            (String(repeating: "[", count: 100_000), "Too many nested arrays or dictionaries"),
            (#"{"input": ["a", "b\u0001"]}"#.replacingOccurrences(of: "\\u0001", with: "\u{01}"), "control character"),
        ] {
            let response = try server.postJSON("/v1/embeddings", body)
            XCTAssertEqual(response.status, 400, response.text)
            XCTAssertTrue(response.error?.message.contains(expected) == true, "\(response.text) lacks \(expected)")
        }
        let surrogate = try server.postJSON("/v1/embeddings", #"{"input": "\ud800"}"#)
        XCTAssertTrue([400, 422].contains(surrogate.status), surrogate.text)
        XCTAssertFalse(surrogate.error?.message.contains("expected a string or a list") ?? true, surrogate.text)
        XCTAssertTrue(surrogate.error?.message.lowercased().contains("surrogate") == true
                      || surrogate.error?.message.contains("escape") == true, surrogate.text)
        try assertStillServing(server)
    }

    /// 1,000 labels (or embeddings inputs) of up to 10,000 characters each were accepted: one request of a few MB
    /// kept the engine thread tokenizing for tens of seconds while every other request waited. The texts of a
    /// request are bounded in all now (`TextLimit.totalCharacters`); the bound leaves 1,000 ordinary labels alone.
    func testManyLongLabelsInOneRequestAreRefused() throws {
        let server = try server()
        let image = try Data(contentsOf: pipelineImage("chelsea.jpg")).base64EncodedString()
        let long = (0..<1000).map { "label \($0) " + String(repeating: "x", count: 9_000) }
        func classify(_ labels: [String]) throws -> ServerProcess.Response {
            let body = try JSONSerialization.data(withJSONObject: ["inputs": image, "parameters": ["candidate_labels": labels]])
            return try server.request("POST", "/v1/zero-shot-image-classification",
                                      headers: ["Content-Type": "application/json"], body: body, timeout: 10)
        }
        let refused = try classify(long)
        XCTAssertEqual(refused.status, 422, refused.text)
        XCTAssertTrue(refused.error?.message.hasPrefix("parameters.candidate_labels: ") == true, refused.text)
        XCTAssertTrue(refused.error?.message.contains("100000") == true, refused.text)
        let body = try JSONSerialization.data(withJSONObject: ["input": long])
        let embeddings = try server.request("POST", "/v1/embeddings", headers: ["Content-Type": "application/json"],
                                            body: body, timeout: 10)
        XCTAssertEqual(embeddings.status, 422, embeddings.text)
        XCTAssertTrue(embeddings.error?.message.hasPrefix("input: ") == true, embeddings.text)
        // 1,000 labels of ordinary length.
        let ordinary = try classify((0..<1000).map { "a photo label number \($0)" })
        XCTAssertEqual(ordinary.status, 200, ordinary.text)
    }

    /// A multipart body cut off inside its last part (no closing boundary) was read as if that part were not sent:
    /// "candidate_labels: missing". It is a 400 that says the body was cut off.
    func testTruncatedMultipartBodySaysItWasCutOff() throws {
        let server = try server()
        let image = try Data(contentsOf: pipelineImage("chelsea.jpg"))
        var body = Data("--B\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n\r\n".utf8)
        body += image
        body += Data("\r\n--B\r\nContent-Disposition: form-data; name=\"candidate_labels\"\r\n\r\ncat, dog".utf8)
        let response = try server.request("POST", "/v1/zero-shot-image-classification",
                                          headers: ["Content-Type": "multipart/form-data; boundary=B"], body: body)
        XCTAssertEqual(response.status, 400, response.text)
        XCTAssertTrue(response.error?.message.contains("cut off") == true, response.text)
        XCTAssertTrue(response.error?.message.contains("candidate_labels") == true, response.text)
        // The same body with its closing boundary is read.
        let whole = try server.request("POST", "/v1/zero-shot-image-classification",
                                       headers: ["Content-Type": "multipart/form-data; boundary=B"],
                                       body: body + Data("\r\n--B--\r\n".utf8))
        XCTAssertEqual(whole.status, 200, whole.text)
    }

    // MARK: - Image URLs

    /// Downloads of image URLs (--allow-urls) ran on the Dispatch workers that index and file reads share, each for
    /// as long as its remote server took: a hundred URLs that never answer stopped search and thumbnails. They run
    /// on threads of their own now, at most `ImageBytes.maxDownloads` at a time.
    func testImageURLsThatNeverAnswerDoNotStopSearch() throws {
        // A listening socket that never accepts: connections complete, requests go out, nothing comes back.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(listener, 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        XCTAssertTrue(bound)
        XCTAssertEqual(listen(listener, 512), 0)
        var listenerOpen = true
        defer { if listenerOpen { close(listener) } }
        let url = "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))/photo.jpg"

        let server = try ServerProcess.start(["--model", fixtureModel("tiny-f16").path, "--no-text-cache", "--threads", "1",
                                              "--db", Self.db, "--allow-urls"])
        defer { server.stop() }
        let count = 100
        let statuses = LockedArray()
        let done = DispatchGroup()
        for _ in 0..<count {
            done.enter()
            Thread {
                let status = try? server.postJSON("/v1/zero-shot-image-classification",
                                                  #"{"inputs": "\#(url)", "parameters": {"candidate_labels": ["a", "b"]}}"#,
                                                  timeout: 30).status
                statuses.append(status ?? -1)
                done.leave()
            }.start()
        }
        Thread.sleep(forTimeInterval: 1)
        let search = try server.postJSON("/v1/search", #"{"query": "a cat"}"#, timeout: 10)
        XCTAssertEqual(search.status, 200, search.text)
        XCTAssertEqual(try server.request("GET", "/healthz", timeout: 10).status, 200)
        // The remote server goes away: every download fails at once, each request is a 400.
        close(listener)
        listenerOpen = false
        XCTAssertEqual(done.wait(timeout: .now() + 20), .success, "requests still waiting for their URLs")
        XCTAssertEqual(statuses.values.filter { $0 == 400 }.count, count, "\(statuses.values)")
        try assertStillServing(server)
    }

    // MARK: - The index under the server

    /// An indexed image replaced by a link to another file (here a text file standing for /etc/passwd) was served:
    /// `/v1/images` read any file at an indexed path. Only images are served now.
    func testImagesServesOnlyFilesThatAreStillImages() throws {
        let server = try server()
        let folder = try XCTUnwrap(Self.folder)
        let path = folder.appendingPathComponent("photos/chelsea.jpg").path
        let query = "/v1/images?path=" + path.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        XCTAssertEqual(try server.request("GET", query).status, 200)
        let saved = folder.appendingPathComponent("chelsea.saved")
        let secret = folder.appendingPathComponent("secret.txt")
        try Data("root:x:0:0:root:/root:/bin/bash\n".utf8).write(to: secret)
        try FileManager.default.moveItem(atPath: path, toPath: saved.path)
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.moveItem(atPath: saved.path, toPath: path)
        }
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: secret.path)
        let response = try server.request("GET", query)
        XCTAssertEqual(response.status, 404, response.text)
        XCTAssertFalse(response.text.contains("root:x"), "the linked file was served")
        XCTAssertTrue(response.error?.message.contains("no longer an image") == true, response.text)
    }

    /// An index file replaced while the server runs (removed and made again, or another moved over it) was never
    /// seen: the server read the old, unlinked file for ever. It is opened again; a removed index is a 500 naming it.
    func testAnIndexReplacedWhileTheServerRunsIsReadAgain() throws {
        let server = try server()
        let folder = try XCTUnwrap(Self.folder)
        func paths() throws -> [String] {
            let response = try server.postJSON("/v1/search", #"{"query": "a cat", "top_k": 10}"#)
            XCTAssertEqual(response.status, 200, response.text)
            return try XCTUnwrap(try response.jsonObject() as? [[String: Any]]).compactMap { $0["path"] as? String }.sorted()
        }
        XCTAssertEqual(try paths().count, Self.images.count)
        let saved = folder.appendingPathComponent("photos.saved").path
        try FileManager.default.copyItem(atPath: Self.db, toPath: saved)
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: Self.db + suffix) }
            try? FileManager.default.moveItem(atPath: saved, toPath: Self.db)
        }
        // Another index with one photo, moved over the served one.
        let other = folder.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: pipelineImage("rocket.jpg"), to: other.appendingPathComponent("rocket.jpg"))
        let otherDB = folder.appendingPathComponent("other.db").path
        let run = try Self.index(other.path, into: otherDB)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(rename(otherDB, Self.db), 0)
        XCTAssertEqual(try paths(), [other.appendingPathComponent("rocket.jpg").path])

        try FileManager.default.removeItem(atPath: Self.db)
        let gone = try server.postJSON("/v1/search", #"{"query": "a cat"}"#)
        XCTAssertEqual(gone.status, 500, gone.text)
        XCTAssertTrue(gone.error?.message.contains(Self.db) == true, gone.text)
        try assertStillServing(server)
    }
}

/// Values appended from several threads.
final class LockedArray: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Int] = []
    func append(_ value: Int) { lock.withLock { items.append(value) } }
    var values: [Int] { lock.withLock { items } }
}
