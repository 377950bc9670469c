import Foundation
import Hummingbird
import ZeroShot

/// `GET /healthz` (the process is up: 200 `{"status":"ok"}` as soon as it listens), `GET /readyz` (200
/// `{"status":"ready"}` once the model is loaded, 503 `overloaded_error` with `Retry-After` before), `GET /metrics`
/// (Prometheus text of `ServerMetrics.registry`) and `GET /v1/info` (the served model and limits; 503 while it loads).
enum HealthRoutes {
    static func register<Context: RequestContext>(on router: Router<Context>, model: ModelLoader) {
        router.get("/healthz") { _, _ in jsonResponse("{\"status\":\"ok\"}\n") }
        router.get("/readyz") { _, _ in
            _ = try model.state()
            return jsonResponse("{\"status\":\"ready\"}\n")
        }
        router.get("/metrics") { _, _ in
            ServerMetrics.setQueueDepth((try? model.state())?.engine.queueDepth ?? 0)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: ServerMetrics.render())))
        }
        router.get("/v1/info") { _, _ in
            let state = try model.state()
            let classifier = state.engine.classifier
            let info = Info(model: state.modelName, model_type: type(of: classifier.model).modelType,
                            embedding_dim: classifier.model.embeddingWidth, search: state.index != nil,
                            max_labels: state.configuration.maxLabels, max_body_bytes: state.configuration.maxBodyBytes,
                            hypothesis_template: ZeroShotClassifier.defaultHypothesisTemplate)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return jsonResponse(String(decoding: try encoder.encode(info), as: UTF8.self) + "\n")
        }
    }

    /// The body of `GET /v1/info`.
    struct Info: Encodable {
        let model: String
        let model_type: String
        let embedding_dim: Int
        let search: Bool
        let max_labels: Int
        let max_body_bytes: Int
        let hypothesis_template: String
    }
}

/// A 200 response with a JSON body.
func jsonResponse(_ json: String, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
             body: .init(byteBuffer: ByteBuffer(string: json)))
}
