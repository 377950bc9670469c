import Foundation
import HTTPTypes
import Hummingbird
import ZeroShot

/// An error answered as `{"error": {"message": ..., "type": ...}}` with its status (Hummingbird's
/// `HTTPResponseError`: the error knows its status). Every error a route or middleware throws to the client is one of
/// these; the message names the field or input and the reason.
public struct ServerError: Error, HTTPResponseError, LocalizedError, Sendable {
    public let status: HTTPResponse.Status
    /// The OpenAI-style error type: `invalid_request_error`, `authentication_error`, `not_found_error`,
    /// `payload_too_large`, `overloaded_error`, `server_error`, ...
    public let type: String
    public let message: String
    /// Extra response headers (`Retry-After` on 503, `WWW-Authenticate` on 401).
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, type: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.type = type
        self.message = message
        self.headers = headers
    }

    public var errorDescription: String? { message }

    /// 400: the request cannot be read (not JSON, bad base64, not an image, a URL without `--allow-urls`).
    public static func badRequest(_ message: String) -> ServerError {
        ServerError(.badRequest, type: "invalid_request_error", message)
    }

    /// 422: the request was read but a field is missing, empty, of the wrong type or out of range.
    public static func invalidField(_ field: String, _ reason: String) -> ServerError {
        ServerError(.unprocessableContent, type: "invalid_request_error", "\(field): \(reason)")
    }

    /// 413: a body over `--max-body-bytes` or an image over `--max-pixels`.
    public static func tooLarge(_ message: String) -> ServerError {
        ServerError(.contentTooLarge, type: "payload_too_large", message)
    }

    /// 401 with `WWW-Authenticate: Bearer`.
    public static func unauthorized(_ message: String) -> ServerError {
        ServerError(.unauthorized, type: "authentication_error", message, headers: [.wwwAuthenticate: "Bearer"])
    }

    /// 503 with `Retry-After` (seconds): the queue is full, or the model is still loading.
    public static func unavailable(_ message: String, retryAfterSeconds: Int = 1) -> ServerError {
        ServerError(.serviceUnavailable, type: "overloaded_error", message, headers: [.retryAfter: String(retryAfterSeconds)])
    }

    /// 404 for a route, a model name or a path that is not there.
    public static func notFound(_ message: String) -> ServerError {
        ServerError(.notFound, type: "not_found_error", message)
    }

    /// 500: a failure of the server, not of the request (its message is logged; the client gets it too).
    public static func internalError(_ message: String) -> ServerError {
        ServerError(.internalServerError, type: "server_error", message)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: jsonBody)))
    }

    /// The response body: `{"error":{"message":...,"type":...}}` and a newline.
    public var jsonBody: String {
        JSONText.object([("error", JSONText.object([("message", JSONText.string(message)),
                                                    ("type", JSONText.string(type))]))]) + "\n"
    }
}
