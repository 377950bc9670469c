import Foundation
import Hummingbird
import Logging

/// Logs one JSON line per request once its response is made, and counts it in the metrics
/// (`ServerMetrics.recordRequest`):
/// `{"time","level":"info","msg":"request","method","route","path","status","duration_ms","batch_size"?}`.
///
/// `route` is the matched route pattern (`NotFound` when no route matched), `duration_ms` the time from the request
/// head to the response head (not the body's transfer), `batch_size` what the route put in `RequestLog.current`.
/// The outermost middleware: an error that still escapes the inner ones is turned into its JSON response here, so
/// the logged status is the one sent.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let record = RequestLog()
        let response: Response
        do {
            response = try await RequestLog.$current.withValue(record) { try await next(request, context) }
        } catch {
            response = try ErrorMiddleware<Context>.response(for: error, request: request, context: context, logger: logger)
        }
        Self.record(logger, method: request.method.rawValue, route: context.endpointPath ?? "NotFound",
                    path: request.uri.path, status: Int(response.status.code), duration: ContinuousClock.now - start,
                    batchSize: record.batchSize)
        return response
    }

    /// Logs the request line and counts the request in the metrics (also for the requests the channel answers
    /// itself: 400 for what is not HTTP, 408 for a head that does not arrive in time; their method and path are
    /// empty, as they were not read).
    static func record(_ logger: Logger, method: String, route: String, path: String, status: Int, duration: Duration,
                       batchSize: Int?) {
        var metadata: Logger.Metadata = [
            "method": .string(method),
            "route": .string(route),
            "path": .string(path),
            "status": .stringConvertible(status),
            "duration_ms": .stringConvertible((duration.inMilliseconds * 1000).rounded() / 1000),
        ]
        if let batchSize { metadata["batch_size"] = .stringConvertible(batchSize) }
        logger.info("request", metadata: metadata)
        ServerMetrics.recordRequest(route: route, method: method, status: status, duration: duration)
    }
}
