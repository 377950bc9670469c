import Foundation
import Hummingbird
import Logging

/// Turns every error a route or an inner middleware throws into a JSON error response
/// (`{"error":{"message","type"}}`, `ServerError`'s shape):
/// - a `ServerError` as it is;
/// - Hummingbird's own `HTTPError` (a body over `maxUploadSize` is 413, a bad query or body decoding is 400, ...)
///   with its status, its message (or the status's reason phrase) and a type named after the status;
/// - any other `HTTPResponseError` with its status, type named after it;
/// - `CancellationError` (the client went away) as 499-like `server_error` that nobody reads;
/// - anything else as 500 `server_error` with the error's description, logged at error level.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return try Self.response(for: error, request: request, context: context, logger: logger)
        }
    }

    static func response(for error: Error, request: Request, context: Context, logger: Logger) throws -> Response {
        try serverError(for: error, request: request, logger: logger).response(from: request, context: context)
    }

    /// The `ServerError` an error is answered with.
    static func serverError(for error: Error, request: Request, logger: Logger) -> ServerError {
        switch error {
        case let error as ServerError:
            return error
        case let error as HTTPError:
            var converted = ServerError(error.status, type: errorType(error.status),
                                        error.body ?? defaultMessage(error.status, request: request))
            for field in error.headers where field.name != .contentType && field.name != .contentLength {
                converted.headers.append(field)
            }
            return converted
        case let error as any HTTPResponseError:
            return ServerError(error.status, type: errorType(error.status),
                               (error as? LocalizedError)?.errorDescription ?? defaultMessage(error.status, request: request))
        case is CancellationError:
            return ServerError(.init(code: 499, reasonPhrase: "Client Closed Request"), type: "server_error",
                               "the request was cancelled")
        default:
            let message = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            logger.error("request failed", metadata: ["method": .string(request.method.rawValue),
                                                      "path": .string(request.uri.path), "error": .string(message)])
            return .internalError(message)
        }
    }

    /// The error type of a status: `invalid_request_error` for 400/405/408/422, `authentication_error` 401,
    /// `not_found_error` 404, `payload_too_large` 413, `overloaded_error` 503, `server_error` for other 5xx.
    static func errorType(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 401: return "authentication_error"
        case 403: return "permission_error"
        case 404: return "not_found_error"
        case 413: return "payload_too_large"
        case 429, 503: return "overloaded_error"
        case 500...: return "server_error"
        default: return "invalid_request_error"
        }
    }

    static func defaultMessage(_ status: HTTPResponse.Status, request: Request) -> String {
        switch status.code {
        case 404: return "no route \(request.method.rawValue) \(request.uri.path)"
        case 413: return "the request body is larger than the server's limit"
        default: return status.reasonPhrase
        }
    }
}

/// Answers 405 (with `Allow`) instead of 404 when the path is a route with other methods, and names the path in
/// the 404 of an unknown route. Innermost middleware: it only acts on Hummingbird's not-found responder.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && context.endpointPath == "NotFound" {
            let path = request.uri.path
            let allowed = routes.methods(for: path)
            guard !allowed.isEmpty else {
                throw ServerError.notFound("no route \(request.method.rawValue) \(path)")
            }
            let list = allowed.joined(separator: ", ")
            throw ServerError(.methodNotAllowed, type: "invalid_request_error",
                              "\(path) does not take \(request.method.rawValue); use \(list)", headers: [.allow: list])
        }
    }
}

/// The methods of every route path, filled once all routes are registered (`Router.routes`).
final class RouteTable: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(components: [Substring], methods: [String])] = []

    /// Records the routes of a router (call after every route is registered).
    func fill<Context>(from router: Router<Context>) {
        var byPath: [String: Set<String>] = [:]
        for route in router.routes {
            byPath["\(route.path)", default: []].insert(route.method.rawValue)
            // HEAD of every GET route (`RouterOptions.autoGenerateHeadEndpoints`, added when the responder is built).
            if route.method == .get { byPath["\(route.path)", default: []].insert("HEAD") }
        }
        let list = byPath.map { (path, methods) in
            (components: path.split(separator: "/"), methods: methods.sorted())
        }
        lock.withLock { entries = list }
    }

    /// The methods of the routes whose pattern matches `path` (`:name`, `{name}`, `*` match one component, `**`
    /// the rest); empty when none does.
    func methods(for path: String) -> [String] {
        let parts = path.split(separator: "/")
        var result = Set<String>()
        for entry in lock.withLock({ entries }) where Self.matches(entry.components, parts) {
            result.formUnion(entry.methods)
        }
        return result.sorted()
    }

    static func matches(_ pattern: [Substring], _ parts: [Substring]) -> Bool {
        for (i, component) in pattern.enumerated() {
            if component == "**" { return true }
            guard i < parts.count else { return false }
            let wildcard = component == "*" || component.hasPrefix(":") || (component.hasPrefix("{") && component.hasSuffix("}"))
            if !wildcard && component != parts[i] { return false }
        }
        return pattern.count == parts.count
    }
}
