import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import ZeroShot

/// `zeroshot serve`: zero-shot image classification, embeddings and photo-index search over HTTP, an application on
/// top of the `ZeroShot` library (Hummingbird 2, swift-service-lifecycle for graceful shutdown).
public enum ZeroShotServer {
    /// Runs the server until SIGTERM or SIGINT: stops accepting, finishes in-flight requests (at most
    /// `configuration.shutdownGracePeriod`), then returns.
    public static func run(_ configuration: ServerConfiguration, logger: Logger) async throws {
        let router = Router()
        router.get("/healthz") { _, _ in "ok\n" }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "zeroshot"),
            logger: logger
        )
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}
