import Foundation
import ZeroShot

/// Runs the model for the server, off the event loop.
///
/// CONTRACT (the first version is unbatched; the batched engine replaces this file keeping these signatures):
/// - `decode` reads and preprocesses on worker threads (never the caller's event loop).
/// - `imageEmbedding` queues one image; concurrent calls are batched (up to `maxBatch`, waiting at most
///   `maxBatchWait` after the first) and run on the engine's thread. Returns the L2-normalised embedding and the
///   size of the batch it ran in.
/// - `textEmbeddings` / `labelEmbeddings` go through the classifier's bounded LRU text-embedding cache.
/// - Every call counts against `maxQueue` while it waits or runs; one more throws `ServerError.unavailable` (503).
/// - A cancelled caller (client gone) leaves the queue at once and throws `CancellationError`.
public final class InferenceEngine: Sendable {
    public let classifier: ZeroShotClassifier
    public let maxBatch: Int
    public let maxBatchWait: Duration
    public let maxQueue: Int

    public init(classifier: ZeroShotClassifier, maxBatch: Int, maxBatchWait: Duration, maxQueue: Int) {
        self.classifier = classifier
        self.maxBatch = maxBatch
        self.maxBatchWait = maxBatchWait
        self.maxQueue = maxQueue
    }

    /// A decoded image (EXIF orientation applied), ready for `imageEmbedding`.
    public struct PreparedImage: Sendable {
        /// pixel_values `[3, S, S]` as the checkpoint's image processor makes them.
        public let pixelValues: [Float]
        public let width: Int
        public let height: Int
    }

    /// Decodes and preprocesses encoded image bytes on a worker thread.
    ///
    /// - Throws: `ServerError` 413 when the image has more pixels than the classifier's `maxPixels`, 400 when the
    ///   bytes are not an image this server decodes or its pixel_values cannot be made; `field` names the request
    ///   field in the message.
    public func prepare(_ bytes: Data, field: String) async throws -> PreparedImage {
        let classifier = self.classifier
        return try await Self.offLoop {
            let image: RGBImage
            do {
                image = try classifier.decode(.encoded(bytes))
            } catch let error as ImageIOError {
                if error.kind == .tooLarge { throw ServerError.tooLarge("\(field): \(error.localizedDescription)") }
                throw ServerError.badRequest("\(field): \(error.localizedDescription)")
            } catch {
                throw ServerError.badRequest("\(field): \(error.localizedDescription)")
            }
            do {
                return PreparedImage(pixelValues: try classifier.pixelValues(.pixels(image)), width: image.width, height: image.height)
            } catch {
                throw ServerError.badRequest("\(field): \(error.localizedDescription)")
            }
        }
    }

    /// The L2-normalised image embedding `[D]` of a prepared image, and the size of the batch it ran in.
    public func imageEmbedding(_ image: PreparedImage) async throws -> (embedding: [Float], batchSize: Int) {
        let classifier = self.classifier
        let embedding = try await Self.offLoop {
            try classifier.model.imageEmbeddings(pixelValues: image.pixelValues, batchSize: 1)[0]
        }
        return (embedding, 1)
    }

    /// L2-normalised text embeddings `[texts.count, D]`, each text as given (no template).
    public func textEmbeddings(_ texts: [String]) async throws -> [[Float]] {
        let classifier = self.classifier
        return try await Self.offLoop { try classifier.textEmbeddings(texts) }
    }

    /// Text embeddings of the candidate labels put through the hypothesis template (`labelEmbeddings`).
    public func labelEmbeddings(_ labels: [String], hypothesisTemplate: String) async throws -> [[Float]] {
        let classifier = self.classifier
        return try await Self.offLoop { try classifier.labelEmbeddings(labels, hypothesisTemplate: hypothesisTemplate) }
    }

    /// Requests waiting or running now.
    public var queueDepth: Int { 0 }

    /// Runs `work` on a Dispatch worker thread and resumes the caller with its result.
    static func offLoop<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }
}
