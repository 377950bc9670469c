import Foundation
import Hummingbird
import NIOCore

/// `--max-body-bytes`: a request whose `Content-Length` is over the limit gets 413 before any of its body is read;
/// a body without a length (chunked) is read through `LimitedBody`, which throws 413 as soon as more than the limit
/// has arrived, so no more than `limit` bytes are ever held. After a 413 the connection is closed (the channel
/// handler does not drain a body the response did not wait for).
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let limit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength] {
            guard let bytes = Int(length) else { throw ServerError.badRequest("Content-Length \(length) is not a number") }
            if bytes > limit { throw Self.tooLarge(limit, "of \(bytes) bytes (Content-Length)") }
            return try await next(request, context)
        }
        var request = request
        request.body = RequestBody(asyncSequence: LimitedBody(base: request.body, limit: limit))
        return try await next(request, context)
    }

    static func tooLarge(_ limit: Int, _ detail: String) -> ServerError {
        .tooLarge("request body \(detail) is over the limit of \(limit) bytes (--max-body-bytes)")
    }
}

/// A request body that throws `ServerError.tooLarge` once more than `limit` bytes have been read.
struct LimitedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let base: RequestBody
    let limit: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        let limit: Int
        var total = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let buffer = try await base.next() else { return nil }
            total += buffer.readableBytes
            if total > limit { throw BodyLimitMiddleware<BasicRequestContext>.tooLarge(limit, "of more than \(limit) bytes") }
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), limit: limit) }
}
