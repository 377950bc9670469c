import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import ZeroShot

/// `zeroshot serve`: zero-shot image classification, embeddings and photo-index search over HTTP, an application on
/// top of the `ZeroShot` library (Hummingbird 2, swift-service-lifecycle for graceful shutdown, swift-log JSON
/// lines, swift-metrics with swift-prometheus).
public enum ZeroShotServer {
    /// Runs the server until SIGTERM or SIGINT.
    ///
    /// 1. Binds `configuration.host:port` (port 0: any free port) and logs `{"msg":"listening","host","port"}` with
    ///    the bound port; `/healthz` answers from then on.
    /// 2. Loads the model (and `--db`'s index) in the background (`ModelLoader`); `/readyz` is 503 until it is
    ///    loaded, the inference routes answer 503 with `Retry-After`.
    /// 3. On SIGTERM/SIGINT: stops accepting, lets in-flight requests finish (at most
    ///    `configuration.shutdownGracePeriod`), then returns.
    ///
    /// Each request goes through, outermost first: the request log and metrics (`RequestLogMiddleware`), JSON errors
    /// (`ErrorMiddleware`), cancellation when the client goes away (`DisconnectMiddleware`), the API key
    /// (`AuthMiddleware`, with `apiKey`), the body limit (`BodyLimitMiddleware`), and
    /// 405 for a known path with another method (`MethodNotAllowedMiddleware`). Connections have the request deadline
    /// and idle timeout of `TimedHTTP1Channel`.
    ///
    /// - Throws: the model's loading error (after logging it), or `ListenError` when the address cannot be bound.
    public static func run(_ configuration: ServerConfiguration, logger: Logger) async throws {
        ServerMetrics.bootstrap()
        ServerMetrics.setModelReady(false)
        ServerRequestContext.uploadLimit.value = configuration.maxBodyBytes
        let loader = ModelLoader(configuration: configuration, logger: logger)
        let signal = SignalBox()
        let router = makeRouter(configuration, loader: loader, logger: logger)

        // Hummingbird's and ServiceLifecycle's own lines only at debug and trace level (ZEROSHOT_LOG_LEVEL): the
        // request, lifecycle and error lines are ours, and theirs repeat them (a failed load is followed by the
        // server's cancellation errors).
        var frameworkLogger = logger
        frameworkLogger.logLevel = logger.logLevel <= .debug ? logger.logLevel : .critical
        let requestTimeout = TimeAmount(configuration.requestTimeout)
        let idleTimeout = TimeAmount(configuration.idleTimeout)
        let app = Application(
            router: router,
            server: HTTPServerBuilder { responder in
                TimedHTTP1Channel(responder: responder, maxBodyBytes: configuration.maxBodyBytes,
                                  requestTimeout: requestTimeout, idleTimeout: idleTimeout,
                                  linger: .seconds(2)) { status, route, duration in
                    RequestLogMiddleware<ServerRequestContext>.record(logger, method: "", route: route, path: "",
                                                                      status: status, duration: duration, batchSize: nil)
                }
            },
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "zeroshot"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                logger.notice("listening", metadata: ["host": .string(configuration.host), "port": .stringConvertible(port)])
                loader.serverIsListening()
            },
            logger: frameworkLogger
        )
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                // Shut down in reverse order: the line first, then the HTTP server drains, then the model goes.
                // A model that fails to load shuts the group down gracefully (open connections end properly; a
                // cancelled HTTP server could trap in NIO with a connection open), then `run` throws its error.
                .init(service: loader, successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: app),
                .init(service: ShutdownAnnouncer(logger: logger, configuration: configuration, signal: signal),
                      successTerminationBehavior: .ignore),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: frameworkLogger
        )
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownGracePeriod
        groupConfiguration.maximumCancellationDuration = .seconds(5)
        do {
            try await withSignalRecorded(signal) {
                try await ServiceGroup(configuration: groupConfiguration).run()
            }
        } catch where !loader.hasListened {
            throw ListenError(host: configuration.host, port: configuration.port, underlying: error)
        }
        logger.notice("stopped")
    }

    /// Records in `box` which of SIGTERM and SIGINT arrives during `body`, for the shutdown line (the `ServiceGroup`
    /// in `body` handles the signal itself).
    private static func withSignalRecorded(_ box: SignalBox, _ body: () async throws -> Void) async throws {
        let sources = [SIGTERM, SIGINT].map { signal in
            let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
            source.setEventHandler { box.set(signal) }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }
        try await body()
    }

    /// The router: middlewares, then the health, static and API routes, then the table of methods for 405.
    static func makeRouter(_ configuration: ServerConfiguration, loader: ModelLoader,
                           logger: Logger) -> Router<ServerRequestContext> {
        let router = Router(context: ServerRequestContext.self, options: [.autoGenerateHeadEndpoints])
        let routes = RouteTable()
        // Middlewares apply to the routes registered after them.
        router.add(middleware: RequestLogMiddleware(logger: logger))
        router.add(middleware: ErrorMiddleware(logger: logger))
        router.add(middleware: DisconnectMiddleware())
        if let key = configuration.apiKey { router.add(middleware: AuthMiddleware(key: key)) }
        router.add(middleware: BodyLimitMiddleware(limit: configuration.maxBodyBytes))
        router.add(middleware: MethodNotAllowedMiddleware(routes: routes))
        HealthRoutes.register(on: router, model: loader)
        StaticRoutes.register(on: router)
        APIRoutes.register(on: router, state: { try loader.state() })
        routes.fill(from: router)
        return router
    }
}

/// The server could not listen on `host:port` (address in use, not an address of this machine, a privileged port).
public struct ListenError: Error, LocalizedError {
    public let host: String
    public let port: Int
    public let underlying: Error

    public var errorDescription: String? {
        // NIO's IOError reads "bind(descriptor:ptr:bytes:): Address already in use) (errno: 98)": the system's words.
        let reason = (underlying as? IOError).map { String(cString: strerror($0.errnoCode)) }
            ?? (underlying as? LocalizedError)?.errorDescription ?? "\(underlying)"
        return "cannot listen on \(host):\(port): \(reason)"
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(duration.totalNanoseconds)
    }
}

/// The signal that started the shutdown, as the signal source saw it.
final class SignalBox: @unchecked Sendable {
    private let lock = NSLock()
    private var signal: Int32?

    func set(_ value: Int32) { lock.withLock { if signal == nil { signal = value } } }
    var value: Int32? { lock.withLock { signal } }
}

/// Logs `{"msg":"shutting down","signal","grace_seconds"}` as the service group's graceful shutdown begins: the last
/// service of the group, so the first to be told, before the HTTP server drains.
struct ShutdownAnnouncer: Service {
    let logger: Logger
    let configuration: ServerConfiguration
    let signal: SignalBox

    func run() async throws {
        try? await gracefulShutdown()
        guard !Task.isCancelled else { return }
        // The signal source and the group see the signal at about the same time: give the source a moment.
        for _ in 0..<20 where signal.value == nil { try? await Task.sleep(for: .milliseconds(5)) }
        var metadata: Logger.Metadata = ["grace_seconds": .stringConvertible(configuration.shutdownGracePeriod.inMilliseconds / 1000)]
        if let value = signal.value { metadata["signal"] = .stringConvertible(Int(value)) }
        logger.notice("shutting down", metadata: metadata)
    }
}
