import Foundation
import Inputs
import Metrics
import ZeroShot

/// Runs the model for the server, off the event loop, batching concurrent image requests.
///
/// - `prepare` decodes and preprocesses on Dispatch worker threads, at most `prepareConcurrency` images at a time
///   (default: the core count), never on the caller's event loop nor on the engine thread.
/// - `imageEmbedding` queues one image. The images go through the image tower on the engine's own thread (a
///   `Thread`, not one of Swift concurrency's cooperative threads: the model blocks it for a whole batch), in
///   batches of up to `maxBatch` (one `ZeroShotModel.imageEmbeddings(pixelValues:batchSize:)` call each): a batch
///   starts when it is full or `maxBatchWait` after its oldest image was queued, whichever comes first, and at once
///   for images that queued while the previous batch ran. It returns the L2-normalised embedding and the size of
///   the batch it ran in. An embedding equals the classifier's own (`ZeroShotClassifier.imageEmbeddings`) for the
///   same image exactly in a batch of 1, and to float32 rounding (the matrix products' sums depend on the rows of
///   the batch) otherwise.
/// - `textEmbeddings` / `labelEmbeddings` go through the classifier's bounded LRU text-embedding cache: texts all
///   held in memory are answered at once, on the caller's thread; others run on the engine thread, between batches
///   (every text job queued when a batch ends runs before the next one).
/// - A request holds one of `maxQueue` slots (`queueDepth`) while it waits or runs: the calls made within
///   `withRequestSlot` share its slot; a call made outside one takes a slot of its own. Past them,
///   `ServerError.unavailable` (503 with `Retry-After`).
/// - A cancelled caller (the client went away) leaves the queue at once, throwing `CancellationError`, and frees its
///   slot; a job cancelled before its batch or text pass started is never run.
/// - `shutdown()` refuses new calls and finishes the queued ones.
///
/// Batch sizes, the queue depth and the label-cache hits and misses are reported to `observer` (by default
/// swift-metrics: `zeroshot_batch_size`, `zeroshot_queue_depth`, `zeroshot_label_cache_hits_total`,
/// `zeroshot_label_cache_misses_total`).
public final class InferenceEngine: Sendable {
    public let classifier: ZeroShotClassifier
    /// Most images per image-tower call (at least 1).
    public let maxBatch: Int
    /// Longest wait for more images after the oldest queued one, before a batch that is not full runs.
    public let maxBatchWait: Duration
    /// Most calls waiting or running (at least 1).
    public let maxQueue: Int
    /// Most images decoded and preprocessed at a time.
    public let prepareConcurrency: Int
    let queue: EngineQueue
    private let cacheCounts = CacheCounts()

    /// Where the engine reports what it does, for metrics. The closures are called on the engine's and the callers'
    /// threads, some under the engine's lock: they must be quick and must not call the engine.
    public struct Observer: Sendable {
        /// The number of images of each batch, as it starts.
        public var batch: @Sendable (Int) -> Void
        /// The calls waiting or running, after each change.
        public var queueDepth: @Sendable (Int) -> Void
        /// New hits and misses of the classifier's in-memory text-embedding cache (`textCacheStatistics`) since
        /// the previous report, after each text call.
        public var labelCache: @Sendable (_ hits: Int, _ misses: Int) -> Void
        /// Called once as the engine starts (e.g. to make metrics that exist before their first value).
        public var start: @Sendable () -> Void

        public init(batch: @escaping @Sendable (Int) -> Void = { _ in },
                    queueDepth: @escaping @Sendable (Int) -> Void = { _ in },
                    labelCache: @escaping @Sendable (_ hits: Int, _ misses: Int) -> Void = { _, _ in },
                    start: @escaping @Sendable () -> Void = {}) {
            self.batch = batch
            self.queueDepth = queueDepth
            self.labelCache = labelCache
            self.start = start
        }

        /// Reports nothing.
        public static let none = Observer()

        /// Reports to swift-metrics' bootstrapped factory (nothing before `MetricsSystem.bootstrap`): the recorder
        /// `zeroshot_batch_size` (a histogram with Prometheus), the gauge `zeroshot_queue_depth`, the counters
        /// `zeroshot_label_cache_hits_total` and `zeroshot_label_cache_misses_total`. The handles are made at each
        /// report, so the metrics system may be bootstrapped after the engine is made; the four are made (the
        /// gauge set to 0) as the engine starts, so that they are exported before the first request.
        public static let metrics = Observer(
            batch: { Recorder(label: "zeroshot_batch_size").record($0) },
            queueDepth: { Gauge(label: "zeroshot_queue_depth").record($0) },
            labelCache: { hits, misses in
                Counter(label: "zeroshot_label_cache_hits_total").increment(by: hits)
                Counter(label: "zeroshot_label_cache_misses_total").increment(by: misses)
            },
            start: {
                _ = Recorder(label: "zeroshot_batch_size")
                Gauge(label: "zeroshot_queue_depth").record(0)
                _ = Counter(label: "zeroshot_label_cache_hits_total")
                _ = Counter(label: "zeroshot_label_cache_misses_total")
            })
    }

    /// Starts the engine thread.
    ///
    /// - Parameters:
    ///   - maxBatch: most images per image-tower call (values below 1 are taken as 1).
    ///   - maxBatchWait: longest wait for more images after the oldest queued one.
    ///   - maxQueue: most calls waiting or running (values below 1 are taken as 1).
    ///   - prepareConcurrency: most images decoded at a time (nil: the core count).
    ///   - observer: receives batch sizes, the queue depth and label-cache counts (default swift-metrics).
    public convenience init(classifier: ZeroShotClassifier, maxBatch: Int, maxBatchWait: Duration, maxQueue: Int,
                            prepareConcurrency: Int? = nil, observer: Observer = .metrics) {
        let model = classifier.model
        self.init(classifier: classifier, maxBatch: maxBatch, maxBatchWait: maxBatchWait, maxQueue: maxQueue,
                  prepareConcurrency: prepareConcurrency, observer: observer,
                  embed: { pixelValues, count in try model.imageEmbeddings(pixelValues: pixelValues, batchSize: count) },
                  trace: nil)
    }

    /// The engine with the image tower replaced by `embed` (`[count, 3, S, S]` -> `[count][D]`) and `trace` told
    /// "text" / "image:N" as the engine thread starts a text job or a batch: for tests.
    init(classifier: ZeroShotClassifier, maxBatch: Int, maxBatchWait: Duration, maxQueue: Int,
         prepareConcurrency: Int?, observer: Observer,
         embed: @escaping @Sendable ([Float], Int) throws -> [[Float]], trace: (@Sendable (String) -> Void)?) {
        self.classifier = classifier
        self.maxBatch = max(1, maxBatch)
        self.maxBatchWait = max(.zero, maxBatchWait)
        self.maxQueue = max(1, maxQueue)
        self.prepareConcurrency = max(1, prepareConcurrency ?? ProcessInfo.processInfo.activeProcessorCount)
        queue = EngineQueue(maxBatch: maxBatch, maxBatchWait: maxBatchWait, maxQueue: maxQueue,
                            prepareLimit: self.prepareConcurrency, observer: observer, embed: embed, trace: trace)
        cacheCounts.reset(to: classifier.textCacheStatistics)
        observer.start()
        queue.start()
    }

    /// An engine dropped without `shutdown()` lets its thread end once its queue is empty (no call can be queued
    /// anymore: callers hold the engine).
    deinit {
        queue.close()
    }

    /// A decoded image (EXIF orientation applied), ready for `imageEmbedding`.
    public struct PreparedImage: Sendable {
        /// pixel_values `[3, S, S]` as the checkpoint's image processor makes them.
        public let pixelValues: [Float]
        public let width: Int
        public let height: Int
    }

    /// Decodes and preprocesses encoded image bytes on a worker thread (at most `prepareConcurrency` at a time; the
    /// call holds a queue slot while it waits or runs).
    ///
    /// - Throws: `ServerError` 413 when the image has more pixels than the classifier's `maxPixels`, 400 when the
    ///   bytes are not an image this server decodes or its pixel_values cannot be made; `field` names the request
    ///   field in the message. 503 when the queue is full or the engine shuts down; `CancellationError` when the
    ///   calling task is cancelled.
    public func prepare(_ bytes: Data, field: String) async throws -> PreparedImage {
        let classifier = self.classifier
        return try await queue.submitPrepare {
            let image: RGBImage
            do {
                image = try classifier.decode(.encoded(bytes))
            } catch let error as ImageIOError {
                if error.kind == .tooLarge { throw ServerError.tooLarge("\(field): \(error.localizedDescription) (--max-pixels)") }
                if error.kind == .notAnImage,
                   case .video(let container) = bytes.prefix(ContentKind.headerLength).withUnsafeBytes({ ContentKind.sniff($0) }) {
                    throw ServerError.badRequest("\(field): a video (\(container)); this route takes images "
                                                 + "(zeroshot classify, embed and index sample videos into frames)")
                }
                throw ServerError.badRequest("\(field): \(error.localizedDescription)")
            } catch {
                throw ServerError.badRequest("\(field): \(error.localizedDescription)")
            }
            do {
                return PreparedImage(pixelValues: try classifier.pixelValues(.pixels(image)), width: image.width,
                                     height: image.height)
            } catch {
                throw ServerError.badRequest("\(field): \(error.localizedDescription)")
            }
        }
    }

    /// The L2-normalised image embedding `[D]` of a prepared image, and the size of the batch it ran in.
    ///
    /// - Throws: 503 (`ServerError.unavailable`) when the queue is full or the engine shuts down;
    ///   `CancellationError` when the calling task is cancelled (the image is then left out of the batches that
    ///   have not started); 500 when the image tower fails on this image.
    public func imageEmbedding(_ image: PreparedImage) async throws -> (embedding: [Float], batchSize: Int) {
        let size = classifier.model.imageSize
        guard image.pixelValues.count == 3 * size * size else {
            throw ServerError.internalError("an image of \(image.pixelValues.count) pixel values; the model takes "
                                            + "3 x \(size) x \(size)")
        }
        return try await queue.submitImage(image.pixelValues)
    }

    /// L2-normalised text embeddings `[texts.count, D]`, each text as given (no template), as
    /// `ZeroShotClassifier.textEmbeddings` gives them.
    ///
    /// - Throws: the classifier's errors, 503 when the queue is full or the engine shuts down, `CancellationError`.
    public func textEmbeddings(_ texts: [String]) async throws -> [[Float]] {
        if texts.isEmpty { return [] }
        let classifier = self.classifier
        if let cached = classifier.cachedTextEmbeddings(texts) {
            reportCacheCounts()
            return cached
        }
        defer { reportCacheCounts() }
        return try await queue.submitText { try classifier.textEmbeddings(texts) }
    }

    /// Text embeddings of the candidate labels put through the hypothesis template, as
    /// `ZeroShotClassifier.labelEmbeddings` gives them.
    ///
    /// - Throws: `ZeroShotError.noCandidateLabels` / `.invalidTemplate` before anything is queued, then as
    ///   `textEmbeddings`.
    public func labelEmbeddings(_ labels: [String], hypothesisTemplate: String) async throws -> [[Float]] {
        guard !labels.isEmpty else { throw ZeroShotError.noCandidateLabels }
        let texts = try labels.map { try applyHypothesisTemplate(hypothesisTemplate, to: $0) }
        return try await textEmbeddings(texts)
    }

    /// Runs `body`, one request's inference (its prepare, image and text calls, in this task and its child tasks), in
    /// one queue slot held throughout.
    ///
    /// - Throws: 503 (`ServerError.unavailable`) when every slot is taken or the engine shuts down; what `body` throws.
    public func withRequestSlot<T>(_ body: () async throws -> T) async throws -> T {
        try await queue.admit(body)
    }

    /// Requests (and calls outside `withRequestSlot`) waiting or running now.
    public var queueDepth: Int { queue.queueDepth }

    /// Whether `shutdown()` was called: new calls are refused.
    public var isShuttingDown: Bool { queue.isClosing }

    /// Refuses new calls (503 with `Retry-After`), finishes every call queued or running, and returns once the
    /// engine thread has stopped. Call it after the HTTP server has stopped taking requests.
    public func shutdown() async {
        await queue.shutdown()
    }

    /// Reports the label-cache counts that changed since the last report.
    private func reportCacheCounts() {
        let (hits, misses) = cacheCounts.advance(to: classifier.textCacheStatistics)
        if hits > 0 || misses > 0 { queue.observer.labelCache(hits, misses) }
    }
}

/// The classifier's cache counts last reported by an engine.
private final class CacheCounts: @unchecked Sendable {
    private let lock = NSLock()
    private var hits = 0
    private var misses = 0

    func reset(to statistics: ZeroShotClassifier.TextCacheStatistics) {
        lock.lock()
        hits = statistics.hits
        misses = statistics.misses
        lock.unlock()
    }

    /// The counts added since the last call, taking the larger of the two readings (a reading taken earlier may
    /// arrive later).
    func advance(to statistics: ZeroShotClassifier.TextCacheStatistics) -> (hits: Int, misses: Int) {
        lock.lock()
        defer { lock.unlock() }
        let newHits = max(0, statistics.hits - hits), newMisses = max(0, statistics.misses - misses)
        hits = max(hits, statistics.hits)
        misses = max(misses, statistics.misses)
        return (newHits, newMisses)
    }
}
