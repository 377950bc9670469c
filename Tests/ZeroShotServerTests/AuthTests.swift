import XCTest
import TestSupport

/// --api-key: 401 without the key or with a wrong one, every route but /, /healthz and /readyz.
final class AuthTests: XCTestCase {
    static let key = "s3cret-key-\(UUID().uuidString)"
    nonisolated(unsafe) static var server: ServerProcess!

    override class func setUp() {
        super.setUp()
        server = try? ServerProcess.start(ServeFixtures.arguments(["--api-key", key]))
    }

    override class func tearDown() {
        server?.stop()
        server = nil
        super.tearDown()
    }

    var server: ServerProcess { get throws { try XCTUnwrap(Self.server, "the server did not start") } }

    func testProtectedRoutesNeedTheKey() throws {
        let server = try self.server
        for (method, path) in [("GET", "/v1/info"), ("GET", "/metrics"), ("GET", "/openapi.yaml"),
                               ("POST", "/v1/zero-shot-image-classification"), ("POST", "/v1/embeddings"),
                               ("GET", "/no/such/route")] {
            let missing = try server.request(method, path)
            XCTAssertEqual(missing.status, 401, "\(method) \(path)")
            XCTAssertEqual(missing.error?.type, "authentication_error", "\(method) \(path)")
            XCTAssertEqual(missing.headers["www-authenticate"], "Bearer", "\(method) \(path)")

            let wrong = try server.request(method, path, headers: ["Authorization": "Bearer \(Self.key)x"])
            XCTAssertEqual(wrong.status, 401, "\(method) \(path)")
            let prefix = try server.request(method, path, headers: ["Authorization": "Bearer \(Self.key.dropLast())"])
            XCTAssertEqual(prefix.status, 401, "\(method) \(path)")
            let basic = try server.request(method, path, headers: ["Authorization": "Basic \(Self.key)"])
            XCTAssertEqual(basic.status, 401, "\(method) \(path)")
        }
    }

    func testTheKeyOpensTheRoutes() throws {
        let server = try self.server
        let info = try server.request("GET", "/v1/info", headers: ["Authorization": "Bearer \(Self.key)"])
        XCTAssertEqual(info.status, 200, info.text)
        XCTAssertEqual(try server.request("GET", "/metrics", headers: ["authorization": "bearer \(Self.key)"]).status, 200)
        // With the key, an unknown route is a 404 again.
        XCTAssertEqual(try server.request("GET", "/no/such/route", headers: ["Authorization": "Bearer \(Self.key)"]).status, 404)
    }

    func testExemptRoutesNeedNoKey() throws {
        let server = try self.server
        for path in ["/", "/healthz", "/readyz"] {
            XCTAssertEqual(try server.request("GET", path).status, 200, path)
        }
    }
}
