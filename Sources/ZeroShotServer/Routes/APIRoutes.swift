import Foundation
import Hummingbird
import ZeroShot

/// The inference routes: `POST /v1/zero-shot-image-classification`, `POST /v1/embeddings`, `POST /v1/search`.
///
/// CONTRACT: `state()` gives the loaded model's state, or throws `ServerError.unavailable` while the model loads.
/// Routes are generic over the request context so that the application chooses it.
public enum APIRoutes {
    public static func register<Context: RequestContext>(on router: Router<Context>,
                                                         state: @escaping @Sendable () throws -> ServerState) {
    }
}
