import Foundation
import Hummingbird

/// `GET /` (the page, `Resources/index.html`) and `GET /openapi.yaml` (`Resources/openapi.yaml`), both embedded in
/// the executable (`PackageResources`), so the server needs no files next to it.
enum StaticRoutes {
    static func register<Context: RequestContext>(on router: Router<Context>) {
        let page = ByteBuffer(bytes: PackageResources.index_html)
        let openAPI = ByteBuffer(bytes: PackageResources.openapi_yaml)
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                     body: .init(byteBuffer: page))
        }
        router.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: .init(byteBuffer: openAPI))
        }
    }
}
