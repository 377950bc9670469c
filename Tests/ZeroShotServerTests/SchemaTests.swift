import Foundation
import TestSupport
import XCTest

/// `Resources/openapi.yaml` is valid OpenAPI 3.1 (openapi-spec-validator), and a running `zeroshot serve --db` keeps
/// it: schemathesis generates requests from the served `/openapi.yaml` (its examples, then coverage and fuzzing
/// cases, at most `ZEROSHOT_SCHEMATHESIS_EXAMPLES` (100) per operation, seed `ZEROSHOT_SCHEMATHESIS_SEED` or a fixed
/// one) and checks that no answer is a 5xx and that every answer has a documented status, content type and body
/// schema. Skipped without the tools, failed without them when `ZEROSHOT_CI=1` (see `ExternalTools`). The JUnit
/// report goes to `test-artifacts/`.
final class SchemaTests: XCTestCase {
    static let document = ExternalTools.repository.appendingPathComponent("Sources/ZeroShotServer/Resources/openapi.yaml")

    func testOpenAPIDocumentIsValid() throws {
        let python = try ExternalTools.python(importing: ["openapi_spec_validator"])
        let run = try ExternalTools.run(python, ["-m", "openapi_spec_validator", "--schema", "3.1", Self.document.path],
                                        timeout: 60)
        XCTAssertEqual(run.status, 0, "\(run.stdout)\n\(run.stderr)")
    }

    func testServedDocumentHoldsUnderSchemathesis() throws {
        let python = try ExternalTools.python(importing: ["schemathesis"])
        let db = try ExternalTools.photoIndex(self)
        let server = try ServerProcess.start(["--model", ExternalTools.model.path, "--db", db.path])
        defer { server.stop() }
        let served = try server.request("GET", "/openapi.yaml")
        XCTAssertEqual(served.status, 200)
        XCTAssertEqual(served.body, try Data(contentsOf: Self.document), "GET /openapi.yaml is not Resources/openapi.yaml")

        // The file (the same bytes): loaded from the server's URL, schemathesis leaves out the document's own path.
        let run = try schemathesis(python, server, examples: nil, fromFile: true)
        // Every operation of the document was tested.
        let selected = try XCTUnwrap(firstMatch(#"Selected: (\d+)/(\d+)"#, in: run.stdout), run.stdout)
        let tested = try XCTUnwrap(firstMatch(#"Tested: (\d+)"#, in: run.stdout), run.stdout)
        let cases = try XCTUnwrap(firstMatch(#"(\d+) generated"#, in: run.stdout), run.stdout)
        XCTAssertGreaterThanOrEqual(Int(selected[1]) ?? 0, 10, run.stdout)
        XCTAssertEqual(tested[0], selected[1], run.stdout)
        XCTAssertGreaterThanOrEqual(Int(cases[0]) ?? 0, Int(selected[1]) ?? 1, run.stdout)
        // Whatever the requests were, the server is still up and answering.
        XCTAssertEqual(try server.request("GET", "/healthz").status, 200, server.stderr)
    }

    /// With `--api-key`: without the key every protected operation answers its documented 401, with it the
    /// documented answers as without a key.
    func testDocumentedAnswersWithAnAPIKey() throws {
        let python = try ExternalTools.python(importing: ["schemathesis"])
        let key = "schema-test-\(UUID().uuidString)"
        let server = try ServerProcess.start(["--model", ExternalTools.model.path, "--api-key", key])
        defer { server.stop() }
        // The document from the file: GET /openapi.yaml needs the key too.
        let withoutKey = try schemathesis(python, server, examples: 5, phases: "examples,fuzzing", fromFile: true)
        let withKey = try schemathesis(python, server, examples: 10, phases: "examples,fuzzing", fromFile: true,
                                       extra: ["--header", "Authorization: Bearer \(key)"])
        let denied = server.logLines.filter { $0["msg"] as? String == "request" && $0["status"] as? Int == 401 }
        XCTAssertGreaterThan(denied.count, 0, "no request was refused without the key:\n\(withoutKey.stdout)")
        let served = server.logLines.filter { line in
            line["msg"] as? String == "request" && (line["route"] as? String)?.hasPrefix("/v1/") == true
                && line["status"] as? Int != 401
        }
        XCTAssertGreaterThan(served.count, 0, "no /v1 request got past the key check:\n\(withKey.stdout)")
    }

    /// Runs schemathesis with the server's `/openapi.yaml` (or, `fromFile`, `Resources/openapi.yaml` and the server's
    /// URL) and fails the test unless it passes: no 5xx, and every status, content type and body as documented.
    @discardableResult
    func schemathesis(_ python: String, _ server: ServerProcess, examples: Int?, phases: String = "examples,coverage,fuzzing",
                      fromFile: Bool = false, extra: [String] = [],
                      file: StaticString = #filePath, line: UInt = #line) throws -> CommandRun {
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["ZEROSHOT_SCHEMATHESIS_SEED"] ?? "20261201"
        let examples = examples.map(String.init) ?? environment["ZEROSHOT_SCHEMATHESIS_EXAMPLES"] ?? "100"
        let report = ExternalTools.artifacts.appendingPathComponent("schemathesis-junit-\(name.filter(\.isLetter)).xml")
        // schemathesis keeps a cache of crashes in its working directory: a temporary one, not the repository.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-schemathesis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let run = try ExternalTools.run(python, [
            "-m", "schemathesis.cli", "run",
        ] + (fromFile ? [Self.document.path, "--url", "http://127.0.0.1:\(server.port)"]
                      : ["http://127.0.0.1:\(server.port)/openapi.yaml"]) + [
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--phases", phases, "--max-examples", examples, "--seed", seed,
            // One worker: with two, hypothesis's source inspection in threads hits a CPython 3.11 ast bug
            // ("AST constructor recursion depth mismatch") now and then, an error of the tool, not of the server.
            "--workers", "1", "--request-timeout", "30", "--generation-database", "none", "--no-color",
            "--report", "junit", "--report-junit-path", report.path,
        ] + extra, directory: scratch, timeout: 300)
        XCTAssertEqual(run.status, 0, "schemathesis (seed \(seed)) failed:\n\(run.stdout)\n\(run.stderr)", file: file, line: line)
        return run
    }

    /// The capture groups of the first match of `pattern` in `text`.
    func firstMatch(_ pattern: String, in text: String) -> [String]? {
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
        return (1..<match.numberOfRanges).compactMap { Range(match.range(at: $0), in: text).map { String(text[$0]) } }
    }
}
