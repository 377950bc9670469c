import XCTest
import TestSupport

/// `zeroshot serve` options and their ZEROSHOT_* environment variables.
final class ServeCommandTests: XCTestCase {
    func testHelpListsEveryOptionAndItsVariable() throws {
        let run = try ZeroshotProcess.run(["serve", "--help"])
        XCTAssertEqual(run.status, 0)
        for option in ["--model", "--host", "--port", "--db", "--precision", "--threads", "--max-batch", "--max-batch-wait-ms",
                       "--max-queue", "--max-body-bytes", "--max-pixels", "--max-labels", "--api-key", "--allow-urls",
                       "--request-timeout", "--idle-timeout", "--shutdown-grace", "--text-cache", "--no-text-cache",
                       "ZEROSHOT_PORT", "ZEROSHOT_ALLOW_URLS", "ZEROSHOT_SHUTDOWN_GRACE", "EXAMPLES"] {
            XCTAssertTrue(run.stdout.contains(option), "\(option) missing in\n\(run.stdout)")
        }
    }

    func testBadEnvironmentValuesAreUsageErrorsNamingTheVariable() throws {
        let cases: [(String, String)] = [
            ("ZEROSHOT_PORT", "eighty"), ("ZEROSHOT_PORT", "70000"), ("ZEROSHOT_MAX_BATCH", "0"),
            ("ZEROSHOT_MAX_BATCH_WAIT_MS", "-1"), ("ZEROSHOT_MAX_QUEUE", "1.5"), ("ZEROSHOT_MAX_BODY_BYTES", "lots"),
            ("ZEROSHOT_MAX_PIXELS", "0"), ("ZEROSHOT_MAX_LABELS", "x"), ("ZEROSHOT_THREADS", "0"),
            ("ZEROSHOT_PRECISION", "fp8"), ("ZEROSHOT_ALLOW_URLS", "maybe"), ("ZEROSHOT_REQUEST_TIMEOUT", "0"),
            ("ZEROSHOT_IDLE_TIMEOUT", "soon"), ("ZEROSHOT_SHUTDOWN_GRACE", "-3"), ("ZEROSHOT_LOG_LEVEL", "loud"),
        ]
        for (name, value) in cases {
            let run = try ZeroshotProcess.run(["serve", "--model", ServeFixtures.tinyModel.path], environment: [name: value])
            XCTAssertEqual(run.status, 64, "\(name)=\(value): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains("\(name)=\(value)"), "\(name)=\(value): \(run.stderr)")
        }
    }

    func testBadOptionValuesAreUsageErrors() throws {
        for arguments in [["--port", "-1"], ["--max-batch", "0"], ["--request-timeout", "0"], ["--idle-timeout", "nan"],
                          ["--shutdown-grace", "-1"], ["--api-key", ""], ["--text-cache", "/tmp", "--no-text-cache"]] {
            let run = try ZeroshotProcess.run(["serve"] + arguments)
            XCTAssertEqual(run.status, 64, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(arguments[0]), "\(arguments): \(run.stderr)")
        }
    }

    func testEnvironmentIsHonouredAndOptionsWin() throws {
        // The variables configure the server; --port 0 (given by ServerProcess) wins over ZEROSHOT_PORT.
        let server = try ServerProcess.start(ServeFixtures.arguments(), environment: [
            "ZEROSHOT_PORT": "1", "ZEROSHOT_API_KEY": "from-env", "ZEROSHOT_MAX_BODY_BYTES": "64",
            "ZEROSHOT_MAX_LABELS": "7", "ZEROSHOT_REQUEST_TIMEOUT": "1",
        ])
        defer { server.stop() }
        XCTAssertNotEqual(server.port, 1)
        XCTAssertEqual(try server.request("GET", "/v1/info").status, 401)
        let auth = ["Authorization": "Bearer from-env"]
        let info = try XCTUnwrap(try server.request("GET", "/v1/info", headers: auth).jsonObject() as? [String: Any])
        XCTAssertEqual(info["max_body_bytes"] as? Int, 64)
        XCTAssertEqual(info["max_labels"] as? Int, 7)
        let large = try server.request("POST", "/v1/embeddings", headers: auth, body: Data(repeating: 32, count: 65))
        XCTAssertEqual(large.status, 413, large.text)
        // ZEROSHOT_REQUEST_TIMEOUT=1: a head left unfinished is cut off.
        let connection = try server.connect(timeout: 10)
        try connection.send("GET /healthz HTTP/1.1\r\n")
        let start = Date()
        XCTAssertTrue(connection.closedByPeer(within: 6))
        XCTAssertLessThan(Date().timeIntervalSince(start), 4.5)

        let flags = try ServerProcess.start(ServeFixtures.arguments(["--api-key", "from-flag", "--max-labels", "9"]),
                                            environment: ["ZEROSHOT_API_KEY": "from-env", "ZEROSHOT_MAX_LABELS": "7"])
        defer { flags.stop() }
        XCTAssertEqual(try flags.request("GET", "/v1/info", headers: auth).status, 401)
        let flagInfo = try flags.request("GET", "/v1/info", headers: ["Authorization": "Bearer from-flag"])
        XCTAssertEqual((try flagInfo.jsonObject() as? [String: Any])?["max_labels"] as? Int, 9)
    }
}
