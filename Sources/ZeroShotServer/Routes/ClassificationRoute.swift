import Foundation
import Hummingbird
import Logging
import ZeroShot

/// `POST /v1/zero-shot-image-classification`: the Hugging Face Inference API's zero-shot image classification.
///
/// Request: JSON `{"inputs": "<base64>" | "data:image/...;base64,..." | "http(s)://..." (only with --allow-urls),
/// "parameters": {"candidate_labels": [str] | "a, b, c", "hypothesis_template"?: str}}`, or `multipart/form-data`
/// with an `image` file part, `candidate_labels` parts (repeated and/or comma-separated) and an optional
/// `hypothesis_template` part. A list of strings takes each label as given (as `--label`); a string is split as
/// `zeroshot classify --labels` splits it (commas, "，", "、"; spaces around a label trimmed).
///
/// Response: `[{"label": str, "score": float}]` best first: the scores of `zeroshot classify --format json` for the
/// same image, labels and template (softmax over the labels for CLIP and Chinese-CLIP, the sigmoid of each label's
/// logit for SigLIP), written the same way (shortest float32 text, `null` for NaN). Labels and templates that
/// `zeroshot classify` warns about are scored too; each warning comes as a `Zeroshot-Warning` response header.
///
/// Errors: 400 body not JSON, bad base64, not an image, a URL without --allow-urls, a URL that cannot be fetched;
/// 413 body over --max-body-bytes, image over --max-pixels; 422 missing `inputs`/`image`, missing or empty
/// labels, more than --max-labels labels, labels through the template over `TextLimit.characters` each or
/// `TextLimit.totalCharacters` in all, wrong JSON types, a template that cannot be filled, each naming the
/// field; 503 while the model loads or when the queue is full.
enum ClassificationRoute {
    static func respond(_ request: Request, state: ServerState, logger: Logger) async throws -> Response {
        let configuration = state.configuration
        let body = try await RequestPayload.collect(request, limit: configuration.maxBodyBytes)
        let parsed = try parse(request, body: body, configuration: configuration)
        let engine = state.engine
        let scoring = engine.classifier.model.scoring
        let warnings = (try? ZeroShotClassifier.candidateLabelWarnings(
            parsed.candidateLabels, hypothesisTemplate: parsed.hypothesisTemplate, scoring: scoring)) ?? []
        // The client gets them as headers; the log has them at debug level (a busy server would repeat them).
        for warning in warnings { logger.debug("candidate labels: \(warning)") }
        let bytes = try await ImageBytes.load(parsed.image, field: parsed.imageField, configuration: configuration)
        let predictions = try await APIResponse.inference("classification") { try await engine.withRequestSlot {
            let prepared = try await engine.prepare(bytes, field: parsed.imageField)
            async let labelEmbeddings = engine.labelEmbeddings(parsed.candidateLabels,
                                                               hypothesisTemplate: parsed.hypothesisTemplate)
            let (embedding, batchSize) = try await engine.imageEmbedding(prepared)
            RequestLog.current?.batchSize = batchSize
            return engine.classifier.predictions(imageEmbeddings: [embedding], textEmbeddings: try await labelEmbeddings,
                                                 candidateLabels: parsed.candidateLabels)[0]
        } }
        return APIResponse.json(render(predictions), headers: APIResponse.warningFields(warnings))
    }

    /// The request from a JSON or a `multipart/form-data` body (by `Content-Type`; anything but multipart is read
    /// as JSON, except media types that cannot be: an image or form-urlencoded body is refused with a hint).
    static func parse(_ request: Request, body: ByteBuffer, configuration: ServerConfiguration) throws -> ClassificationRequest {
        let mediaType = RequestPayload.mediaType(request)
        if mediaType == "multipart/form-data" {
            let form = try FormData(body, contentType: request.headers[.contentType] ?? "")
            return try ClassificationRequest(form: form, configuration: configuration)
        }
        if let mediaType, mediaType.hasPrefix("image/") || mediaType == "application/octet-stream"
            || mediaType == "application/x-www-form-urlencoded" {
            throw ServerError.badRequest("Content-Type \(mediaType) is not read here: send JSON ({\"inputs\": base64 "
                                         + "image, \"parameters\": {\"candidate_labels\": [...]}}) or "
                                         + "multipart/form-data with an image file part and candidate_labels")
        }
        return try ClassificationRequest(json: body, configuration: configuration)
    }

    /// `[{"label": ..., "score": ...}]`, as `zeroshot classify --format json` writes a prediction (without the logit).
    static func render(_ predictions: [Prediction]) -> String {
        JSONText.array(predictions.map { p in
            JSONText.object([("label", JSONText.string(p.label)), ("score", JSONText.number(p.score))])
        })
    }
}
