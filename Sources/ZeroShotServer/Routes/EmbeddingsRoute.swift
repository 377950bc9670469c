import Foundation
import Hummingbird
import ZeroShot

/// `POST /v1/embeddings`: OpenAI's and Infinity's embeddings API over the served model's two towers.
///
/// Request: `{"model"?: str (accepted and ignored: one model per server), "input": str | [str],
/// "modality"?: "text" (default) | "image", "encoding_format"?: "float" (default) | "base64", "dimensions"?: int
/// (only the model's own width)}`. Texts are embedded as given (no template). Images are `data:` URIs, or http(s)
/// URLs with --allow-urls (a bare string is taken for text, so raw base64 is not an image here).
///
/// Response: `{"object": "list", "data": [{"object": "embedding", "embedding": [float] | "<base64 of little-endian
/// float32>", "index": i}], "model": <served model name>, "usage": {"prompt_tokens": n, "total_tokens": n}}`.
/// Embeddings are L2-normalised (the classifier's). Tokens are the input_ids of each text as the text tower sees
/// them (special tokens included, truncated to the model's length, no padding); images count 0.
///
/// Errors: 422 for a missing, empty or over-long `input` (more than --max-labels items), an empty text or one over
/// `TextLimit.characters` (10,000), texts of more than `TextLimit.totalCharacters` (100,000) in all, an unknown
/// `modality` or `encoding_format`, a `dimensions` other than the model's, an image input that is not a data: URI
/// or URL; 400/413 for an image as in classification.
enum EmbeddingsRoute {
    struct Body: Decodable {
        var model: String?
        var input: StringOrList
        var modality: String?
        var encoding_format: String?
        var dimensions: JSONInteger?
    }

    enum Modality: String { case text, image }
    enum Encoding: String { case float, base64 }

    /// A request body read and checked: everything `respond` checks before the model runs.
    struct Parsed {
        var inputs: [(text: String, field: String)]
        var modality: Modality
        var encoding: Encoding
        /// The image inputs (`modality` image), in input order.
        var references: [ImageReference]
    }

    /// Reads and checks a body against the served model's embedding width `width`.
    ///
    /// - Throws: `ServerError` 400/422 as listed above.
    static func parse(_ buffer: ByteBuffer, configuration: ServerConfiguration, width: Int) throws -> Parsed {
        let body = try RequestPayload.decodeJSON(Body.self, from: buffer)
        let modality = try choice(body.modality ?? "text", field: "modality", as: Modality.self)
        let encoding = try choice(body.encoding_format ?? "float", field: "encoding_format", as: Encoding.self)
        if let dimensions = body.dimensions?.value, dimensions != width {
            throw ServerError.invalidField("dimensions", "\(dimensions), but this model's embeddings have \(width) "
                                           + "values and are not shortened; leave dimensions out")
        }
        let inputs: [(text: String, field: String)]
        switch body.input {
        case .string(let text): inputs = [(text, "input")]
        case .list(let list): inputs = list.enumerated().map { ($0.element, "input[\($0.offset)]") }
        }
        guard !inputs.isEmpty else { throw ServerError.invalidField("input", "an empty list; give at least one input") }
        guard inputs.count <= configuration.maxLabels else {
            throw ServerError.invalidField("input", "\(inputs.count) inputs, more than the limit of "
                                           + "\(configuration.maxLabels) (--max-labels)")
        }
        if let empty = inputs.first(where: { $0.text.isEmpty }) {
            throw ServerError.invalidField(empty.field, "an empty string; give a text" + (modality == .image ? " (a data: URI)" : ""))
        }
        var references: [ImageReference] = []
        switch modality {
        case .text:
            for input in inputs { try TextLimit.check(input.text, field: input.field) }
            try TextLimit.checkTotal(inputs.reduce(0) { $0 + $1.text.unicodeScalars.count }, field: "input", what: "the texts")
        case .image:
            references = try inputs.map { input in
                try ImageReference.parse(input.text, field: input.field, accepts: .dataURIOrURL,
                                         allowURLs: configuration.allowURLs)
            }
        }
        return Parsed(inputs: inputs, modality: modality, encoding: encoding, references: references)
    }

    static func respond(_ request: Request, state: ServerState) async throws -> Response {
        let configuration = state.configuration
        let buffer = try await RequestPayload.collect(request, limit: configuration.maxBodyBytes)
        let engine = state.engine
        let parsed = try parse(buffer, configuration: configuration, width: engine.classifier.model.embeddingWidth)
        let inputs = parsed.inputs, encoding = parsed.encoding
        let embeddings: [[Float]]
        var tokens = 0
        switch parsed.modality {
        case .text:
            let texts = inputs.map(\.text)
            embeddings = try await APIResponse.inference("text embedding") { try await engine.textEmbeddings(texts) }
            let classifier = engine.classifier
            tokens = texts.reduce(0) { $0 + classifier.tokenizer.encode($1, maxLength: classifier.textLength).ids.count }
        case .image:
            embeddings = try await imageEmbeddings(parsed.references, fields: inputs.map(\.field), state: state)
        }
        let data = embeddings.enumerated().map { i, embedding in
            JSONText.object([("object", JSONText.string("embedding")),
                             ("embedding", encoded(embedding, as: encoding)), ("index", "\(i)")])
        }
        let usage = JSONText.object([("prompt_tokens", "\(tokens)"), ("total_tokens", "\(tokens)")])
        return APIResponse.json(JSONText.object([
            ("object", JSONText.string("list")), ("data", JSONText.array(data)),
            ("model", JSONText.string(state.modelName)), ("usage", usage),
        ]))
    }

    /// The image embeddings of several inputs, fetched, decoded and embedded concurrently (the engine batches them),
    /// in one queue slot; at most two batches' worth (`2 * maxBatch`) in flight, so that a request of many images
    /// never holds all their pixel_values at once. The request log gets the largest batch any of them ran in.
    static func imageEmbeddings(_ references: [ImageReference], fields: [String], state: ServerState) async throws -> [[Float]] {
        let engine = state.engine, configuration = state.configuration
        let inFlight = max(1, 2 * engine.maxBatch)
        return try await engine.withRequestSlot {
            try await withThrowingTaskGroup(of: (Int, [Float], Int).self) { group in
                func embed(_ i: Int) {
                    group.addTask {
                        let bytes = try await ImageBytes.load(references[i], field: fields[i], configuration: configuration)
                        return try await APIResponse.inference("image embedding") {
                            let prepared = try await engine.prepare(bytes, field: fields[i])
                            let (embedding, batchSize) = try await engine.imageEmbedding(prepared)
                            return (i, embedding, batchSize)
                        }
                    }
                }
                var next = 0
                while next < min(inFlight, references.count) { embed(next); next += 1 }
                var result = [[Float]](repeating: [], count: references.count)
                var largestBatch = 0
                while let (i, embedding, batchSize) = try await group.next() {
                    result[i] = embedding
                    largestBatch = max(largestBatch, batchSize)
                    if next < references.count { embed(next); next += 1 }
                }
                RequestLog.current?.batchSize = largestBatch
                return result
            }
        }
    }

    /// A JSON array of the values (shortest float32 text), or the base64 of their little-endian float32 bytes.
    static func encoded(_ embedding: [Float], as encoding: Encoding) -> String {
        switch encoding {
        case .float:
            return JSONText.array(embedding.map { JSONText.number($0) })
        case .base64:
            var bytes = Data(capacity: embedding.count * 4)
            for value in embedding { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            return JSONText.string(bytes.base64EncodedString())
        }
    }

    /// The case of `T` named `value`, or 422 naming `field` and the choices.
    static func choice<T: RawRepresentable>(_ value: String, field: String, as: T.Type) throws -> T
    where T.RawValue == String {
        guard let parsed = T(rawValue: value) else {
            let choices = field == "modality" ? "\"text\" or \"image\"" : "\"float\" or \"base64\""
            throw ServerError.invalidField(field, "\"\(value)\" is not \(choices)")
        }
        return parsed
    }
}
