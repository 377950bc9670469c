import Foundation
import Hummingbird
import ZeroShot

/// The inference routes: `POST /v1/zero-shot-image-classification`, `POST /v1/embeddings`, `POST /v1/search` and
/// `GET /v1/images` (the last two answer 404 without `--db`).
///
/// CONTRACT: `state()` gives the loaded model's state, or throws `ServerError.unavailable` while the model loads.
/// Routes are generic over the request context so that the application chooses it. Every failure is a
/// `ServerError` naming the field and the reason (see each route).
public enum APIRoutes {
    public static func register<Context: RequestContext>(on router: Router<Context>,
                                                         state: @escaping @Sendable () throws -> ServerState) {
        let index = IndexSnapshots()
        router.post("/v1/zero-shot-image-classification") { request, context in
            try await ClassificationRoute.respond(request, state: try state(), logger: context.logger)
        }
        router.post("/v1/embeddings") { request, _ in
            try await EmbeddingsRoute.respond(request, state: try state())
        }
        router.post("/v1/search") { request, context in
            try await SearchRoute.respond(request, state: try state(), snapshots: index, logger: context.logger)
        }
        router.get("/v1/images") { request, context in
            try await ImagesRoute.respond(request, state: try state(), snapshots: index, logger: context.logger)
        }
    }
}
