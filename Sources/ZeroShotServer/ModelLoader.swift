import Foundation
import ImageIndex
import Logging
import ServiceLifecycle
import ZeroShot

/// Loads the model once the server listens, and holds it: the service of `ZeroShotServer.run` that makes
/// `/readyz` turn 200. Until the model is loaded, `state()` throws 503 with `Retry-After`.
///
/// Loading runs on a thread of its own (it reads and converts the checkpoint, which takes seconds), never on the
/// event loop or the cooperative pool. A failure is logged (`{"msg":"model failed to load","error":...}`) and
/// thrown from `run`, which ends the server with that error (exit status 1). On graceful shutdown the service
/// shuts the engine down after the HTTP server has drained (it is shut down after it).
final class ModelLoader: Service, @unchecked Sendable {
    let configuration: ServerConfiguration
    let logger: Logger
    private let lock = NSLock()
    private var loaded: ServerState?
    private var listened = false
    private let started: AsyncStream<Void>
    private let startedContinuation: AsyncStream<Void>.Continuation

    init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        (started, startedContinuation) = AsyncStream<Void>.makeStream()
    }

    /// The loaded model's state. - Throws: `ServerError.unavailable` (503, `Retry-After: 1`) while it loads.
    func state() throws -> ServerState {
        guard let state = lock.withLock({ loaded }) else {
            throw ServerError.unavailable("the model is loading; retry shortly")
        }
        return state
    }

    /// Called once the server listens: loading begins.
    func serverIsListening() {
        lock.withLock { listened = true }
        startedContinuation.yield()
    }

    /// Whether the server has listened.
    var hasListened: Bool { lock.withLock { listened } }

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            for await _ in self.started { break }
            try Task.checkCancellation()
            let configuration = self.configuration, logger = self.logger
            let start = ContinuousClock.now
            // Without --model, the index's recorded model is served (`load`), else $ZEROSHOT_MODEL or the default.
            let name = configuration.model ?? configuration.indexPath.map { "the model of the index \($0)" }
                ?? ModelLocator.defaultModel()
            logger.info("loading model", metadata: ["model": .string(name)])
            let result = await Self.onThread { Result { try Self.load(configuration, logger: logger) } }
            switch result {
            case .success(let state):
                self.lock.withLock { self.loaded = state }
                ServerMetrics.setModelReady(true)
                let seconds = ((ContinuousClock.now - start).inMilliseconds).rounded() / 1000
                logger.notice("model loaded", metadata: ["model": .string(state.modelName),
                                                       "load_seconds": .stringConvertible(seconds)])
            case .failure(let error):
                let message = (error as? LocalizedError)?.errorDescription ?? "\(error)"
                // The index of --db is opened here too: say which of the two failed.
                let what = error is ImageIndexError ? "index" : "model"
                logger.error("model failed to load", metadata: ["error": .string(message), "failed": .string(what)])
                throw error
            }
        }
        try? await gracefulShutdown()
        // The HTTP server has drained (it is shut down first): the engine finishes what it holds and stops.
        if let state = lock.withLock({ loaded }) { await state.engine.shutdown() }
    }

    /// Loads the classifier of `configuration` (and opens its index) as `zeroshot classify`/`search` do.
    ///
    /// - Throws: the model's loading errors (`ZeroShotError.modelNotFound`, `ModelError`, `TokenizerError`, ...),
    ///   `ImageIndexError` for `--db` (not found, not an index, no model recorded, another model than `--model`).
    static func load(_ configuration: ServerConfiguration, logger: Logger) throws -> ServerState {
        if let threads = configuration.threads { ComputeThreads.set(threads) }
        if let message = KernelPath.environmentWarning { logger.warning("\(message)") }
        var reference = configuration.model
        var index: ImageIndex?
        var recorded: ImageIndex.Model?
        if let path = configuration.indexPath {
            let opened = try ImageIndex(path: path, create: false, readOnly: true)
            guard let model = try opened.model() else { throw ImageIndexError.noModel(path: path) }
            if reference == nil { reference = model.identity.reference }
            index = opened
            recorded = model
        }
        let options = ZeroShotClassifier.Options(
            maxPixels: configuration.maxPixels, batchSize: configuration.maxBatch, precision: configuration.precision,
            textEmbeddingCache: configuration.textEmbeddingCache, warn: { logger.warning("\($0)") })
        let classifier = try ZeroShotClassifier(model: reference, options: options,
                                                progress: { logger.info("\($0)") })
        if let recorded, let path = configuration.indexPath {
            let identity = try classifier.identity
            guard identity.fingerprint == recorded.identity.fingerprint else {
                throw ImageIndexError.modelMismatch(path: path, index: recorded.identity, given: identity)
            }
        }
        let unused = classifier.model.unusedTensors
        if !unused.isEmpty {
            logger.warning("\(unused.count) tensors of the checkpoint are not used with its config.json",
                           metadata: ["tensors": .string(unused.prefix(3).joined(separator: ", "))])
        }
        let engine = InferenceEngine(classifier: classifier, maxBatch: configuration.maxBatch,
                                     maxBatchWait: configuration.maxBatchWait, maxQueue: configuration.maxQueue)
        return ServerState(configuration: configuration, engine: engine, index: index,
                           modelName: servedName(reference ?? ModelLocator.defaultModel()))
    }

    /// The `model` of responses: a directory's last path component, else the Hub reference as given.
    static func servedName(_ reference: String) -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: reference, isDirectory: &isDirectory), isDirectory.boolValue {
            return URL(fileURLWithPath: reference).standardizedFileURL.lastPathComponent
        }
        return reference
    }

    /// Runs `work` on a new thread and returns its result.
    static func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: work()) }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}
