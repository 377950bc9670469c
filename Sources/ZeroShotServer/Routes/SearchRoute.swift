import Foundation
import Hummingbird
import ImageIndex
import Inputs
import Logging
import ZeroShot

/// `POST /v1/search` over the photo index of `--db`, as `zeroshot search --db` searches it.
///
/// Request: `{"query"?: str, "image"?: base64 | data: URI | http(s) URL (only with --allow-urls), "top_k"?: int
/// (1...1000, default 10), "all_frames"?: bool (default false)}`, at least one of `query` and `image`. The query text is embedded as given (no
/// template); with both, the query is the L2-normalised sum of the text's and the image's embeddings
/// (`ImageIndex.combinedQuery`).
///
/// Response: `[{"path": str, "score": float}]` best first, score the cosine similarity of the stored embedding with
/// the query (ties in path order); a video frame is `{"path", "time": seconds (3 decimals, truncated), "score"}`. A
/// video is one hit, its best frame, unless `all_frames` (`EmbeddingMatrix.search`); `top_k` counts hits.
///
/// The index must have been made with the served model: its recorded fingerprint is compared with the model's on
/// every request, and a different model is a 500 naming both (its embeddings cannot be compared). An index with
/// nothing indexed yet gives `[]`.
///
/// Errors: 404 without --db; 422 with neither `query` nor `image`, an empty `query` or one over
/// `TextLimit.characters` (10,000), `top_k` out of range or of the
/// wrong type; 400/413 for the image as in classification.
enum SearchRoute {
    struct Body: Decodable {
        var query: String?
        var image: String?
        var top_k: JSONInteger?
        var all_frames: Bool?
    }

    static let defaultTopK = 10
    static let topKRange = 1...1000

    /// Reads and checks a body: the body, its `top_k` (default applied) and its image, if any.
    ///
    /// - Throws: `ServerError` 400/422 as listed above.
    static func parse(_ buffer: ByteBuffer, configuration: ServerConfiguration) throws -> (Body, topK: Int, image: ImageReference?) {
        let body = try RequestPayload.decodeJSON(Body.self, from: buffer)
        let topK = body.top_k?.value ?? defaultTopK
        guard topKRange.contains(topK) else {
            throw ServerError.invalidField("top_k", "\(topK) is out of range: give \(topKRange.lowerBound) to \(topKRange.upperBound)")
        }
        guard body.query != nil || body.image != nil else {
            throw ServerError.invalidField("query", "missing, and so is image: give a text to search for, an image, or both")
        }
        if let query = body.query, query.allSatisfy(\.isWhitespace) {
            throw ServerError.invalidField("query", "empty; give words to search for")
        }
        if let query = body.query { try TextLimit.check(query, field: "query") }
        let image = try body.image.map {
            try ImageReference.parse($0, field: "image", accepts: .base64DataURIOrURL, allowURLs: configuration.allowURLs)
        }
        return (body, topK, image)
    }

    static func respond(_ request: Request, state: ServerState, snapshots: IndexSnapshots, logger: Logger) async throws -> Response {
        let configuration = state.configuration
        guard let index = state.index else {
            throw ServerError.notFound("search needs a photo index: start the server with --db INDEX")
        }
        let buffer = try await RequestPayload.collect(request, limit: configuration.maxBodyBytes)
        let (body, topK, image) = try parse(buffer, configuration: configuration)
        let engine = state.engine
        let snapshot = try await snapshots.snapshot(index, servedBy: engine.classifier, logger: logger)
        var imageBytes: Data?
        if let image { imageBytes = try await ImageBytes.load(image, field: "image", configuration: configuration) }
        // The text and the image in one queue slot.
        let positive: [[Float]] = try await engine.withRequestSlot {
            var positive: [[Float]] = []
            if let query = body.query {
                positive += try await APIResponse.inference("text embedding") { try await engine.textEmbeddings([query]) }
            }
            if let imageBytes {
                positive.append(try await APIResponse.inference("image embedding") {
                    let (embedding, batchSize) = try await engine.imageEmbedding(try await engine.prepare(imageBytes, field: "image"))
                    RequestLog.current?.batchSize = batchSize
                    return embedding
                })
            }
            return positive
        }
        guard let query = ImageIndex.combinedQuery(positive: positive, negative: []) else {
            throw ServerError.invalidField("query", "the text and the image cancel each other exactly; nothing to search for")
        }
        guard let matrix = snapshot?.matrix else { return APIResponse.json("[]") }
        let allFrames = body.all_frames ?? false
        let hits = try await OffLoop.run { try matrix.search(query, topK: topK, allFrames: allFrames) }
        return APIResponse.json(JSONText.array(hits.map { hit in
            var fields = [("path", JSONText.string(hit.path))]
            if let time = hit.timeText { fields.append(("time", time)) }
            fields.append(("score", JSONText.number(hit.score)))
            return JSONText.object(fields)
        }))
    }
}

/// The index's embeddings held in memory between requests (`ImageIndex.embeddingMatrix`), read again when the
/// index file or its write-ahead log changes (size or modification time), so that a `zeroshot index` run adding
/// photos is seen by the next request. An index file replaced by another one (removed and made again, moved over) is
/// opened again: the connection opened first would go on reading the old, unlinked file. Reads happen on a worker
/// thread, one at a time.
final class IndexSnapshots: @unchecked Sendable {
    struct Snapshot: Sendable {
        let matrix: EmbeddingMatrix
        let paths: Set<String>
        /// The paths whose rows are video frames.
        let videos: Set<String>
    }

    private struct Stamp: Equatable {
        let file: [Double]
        /// Device and inode of the index file (nil when there is none).
        let identity: [UInt64]?
    }

    private let lock = NSLock()
    private var cached: (stamp: Stamp, snapshot: Snapshot?)?
    /// The index as opened here, and the file it was opened on.
    private var opened: (index: ImageIndex, identity: [UInt64])?

    /// The current snapshot of the index at `index.path`; nil while nothing is indexed (no model recorded).
    ///
    /// - Throws: `ServerError` 500 when the index was made with another model than `classifier`'s, is gone or cannot
    ///   be read (naming the index and the reason).
    func snapshot(_ index: ImageIndex, servedBy classifier: ZeroShotClassifier, logger: Logger) async throws -> Snapshot? {
        try await OffLoop.run { [self] in
            try lock.withLock {
                let stamp = Self.stamp(index.path)
                if let cached, cached.stamp == stamp { return cached.snapshot }
                guard let identity = stamp.identity else {
                    throw ServerError.internalError("the index \(index.path) cannot be read: there is no file there "
                                                    + "anymore (removed or moved while the server runs)")
                }
                let current: ImageIndex
                if let opened, opened.identity == identity {
                    current = opened.index
                } else {
                    do {
                        current = try ImageIndex(path: index.path, create: false, readOnly: true)
                    } catch {
                        throw ServerError.internalError("the index \(index.path) cannot be read: \(error.localizedDescription)")
                    }
                    opened = (current, identity)
                }
                let snapshot = try Self.read(current, servedBy: classifier, logger: logger)
                cached = (stamp, snapshot)
                return snapshot
            }
        }
    }

    /// Size and modification time of the index file and its `-wal`, and the file's device and inode.
    private static func stamp(_ path: String) -> Stamp {
        var values: [Double] = []
        for file in [path, path + "-wal"] {
            if let status = InputLoader.fileStatus(file) { values += [Double(status.size), status.mtime] } else { values += [-1, -1] }
        }
        var st = stat()
        let identity = stat(path, &st) == 0 ? [UInt64(st.st_dev), UInt64(st.st_ino)] : nil
        return Stamp(file: values, identity: identity)
    }

    private static func read(_ index: ImageIndex, servedBy classifier: ZeroShotClassifier, logger: Logger) throws -> Snapshot? {
        do {
            guard let recorded = try index.model() else { return nil }
            let served = try classifier.identity
            guard recorded.identity.fingerprint == served.fingerprint else {
                throw ServerError.internalError("the index \(index.path) was made with \(recorded.identity), but the server "
                                                + "runs \(served): restart it with --model \(recorded.identity.reference)")
            }
            let matrix = try index.embeddingMatrix(corrupt: { error in
                logger.warning("index row left out: \(error.description)")
            })
            let videos = Set(zip(matrix.paths, matrix.times).compactMap { $0.1 == nil ? nil : $0.0 })
            return Snapshot(matrix: matrix, paths: Set(matrix.paths), videos: videos)
        } catch let error as ServerError {
            throw error
        } catch {
            throw ServerError.internalError("the index \(index.path) cannot be read: \(error.localizedDescription)")
        }
    }
}
