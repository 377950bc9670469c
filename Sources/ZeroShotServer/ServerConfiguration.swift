import Foundation
import ZeroShot

/// Everything `zeroshot serve` is told: where to listen, the model, and the limits that keep the server alive.
public struct ServerConfiguration: Sendable {
    /// Address to bind (loopback by default: expose it on purpose, e.g. `0.0.0.0` in a container).
    public var host: String = "127.0.0.1"
    /// TCP port (0: any free port; the bound port is in the `listening` log line).
    public var port: Int = 8080
    /// A Hub repo id or a model directory; nil: `$ZEROSHOT_MODEL`, else the default model.
    public var model: String?
    /// A photo index (`ImageIndex`) for `POST /v1/search`; nil: the route answers 404.
    public var indexPath: String?
    public var precision: Precision = .fp32
    /// Inference threads (nil: all cores).
    public var threads: Int?
    /// Most images per image-tower call when concurrent requests are batched.
    public var maxBatch: Int = 16
    /// Longest wait for more images once one is queued, before a batch runs.
    public var maxBatchWait: Duration = .milliseconds(5)
    /// Most requests waiting for inference; one more gets 503 with `Retry-After`.
    public var maxQueue: Int = 128
    /// Largest request body in bytes; a larger one gets 413.
    public var maxBodyBytes: Int = 20_000_000
    /// Most pixels of an image (width x height); more gets 413. `defaultMaxPixels` (50 megapixels) by default, below
    /// the command line's Pillow threshold (178,956,970): a 20 MB body can hold a PNG that decodes to that many
    /// pixels (about 0.6 GB while decoding), and a server decodes several images at once.
    public var maxPixels: Int = ServerConfiguration.defaultMaxPixels

    /// The server's default `maxPixels`: 50,000,000 (a 48-megapixel phone photo, 8064 x 6048, passes).
    public static let defaultMaxPixels = 50_000_000
    /// Most candidate labels (or embedding inputs) in one request; more gets 422.
    public var maxLabels: Int = 1000
    /// With a key, every route but `/healthz`, `/readyz` and `/` needs `Authorization: Bearer KEY` (else 401).
    public var apiKey: String?
    /// Whether image inputs may be http(s) URLs fetched by the server (off: 400, no server-side request forgery).
    public var allowURLs: Bool = false
    /// Longest time to receive a whole request (headers and body); a slower client is cut off.
    public var requestTimeout: Duration = .seconds(30)
    /// A connection with nothing to read or write for this long is closed.
    public var idleTimeout: Duration = .seconds(60)
    /// On SIGTERM/SIGINT: stop accepting, then wait at most this long for in-flight requests.
    public var shutdownGracePeriod: Duration = .seconds(30)
    /// The disk cache of text embeddings (`ZeroShotClassifier.Options.textEmbeddingCache`); nil: memory only.
    public var textEmbeddingCache: URL?

    public init() {}
}
