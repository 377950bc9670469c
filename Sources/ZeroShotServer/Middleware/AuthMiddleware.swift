import Foundation
import Hummingbird

/// With `--api-key`: every request but those of `exemptPaths` (`/`, `/healthz`, `/readyz`) needs
/// `Authorization: Bearer KEY`; otherwise 401 `authentication_error` with `WWW-Authenticate: Bearer`. The key is
/// compared in constant time (the time does not depend on where the given key differs).
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: [UInt8]
    static var exemptPaths: Set<String> { ["/", "/healthz", "/readyz"] }

    init(key: String) { self.key = Array(key.utf8) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.exemptPaths.contains(request.uri.path) { return try await next(request, context) }
        guard let header = request.headers[.authorization] else {
            throw ServerError.unauthorized("missing Authorization header: send Authorization: Bearer <API key>")
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw ServerError.unauthorized("the Authorization header is not Bearer <API key>")
        }
        guard Self.constantTimeEqual(Array(parts[1].trimmingCharacters(in: .whitespaces).utf8), key) else {
            throw ServerError.unauthorized("wrong API key")
        }
        return try await next(request, context)
    }

    /// Whether two byte strings are equal, in time that depends only on their lengths.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        let n = max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}
