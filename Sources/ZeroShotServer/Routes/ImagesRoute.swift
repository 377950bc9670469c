import Foundation
import Hub
import HTTPTypes
import Hummingbird
import ImageIO
import Inputs
import Logging
import ZeroShot

/// `GET /v1/images?path=P`: the bytes of an image of the `--db` index, for the page's search thumbnails.
///
/// Only a path that is exactly a row of the index is served (no other file can be read through it), and only while
/// the file there is still an image: the content type comes from the file's first bytes (`image/jpeg`, `image/png`,
/// `image/gif`, `image/webp`, `image/bmp`), and a file that starts like none of them (the indexed image was replaced,
/// say by a link to another file) is not served. A row that is a URL (indexed from http(s)) is answered with a
/// redirect to it.
///
/// Errors: 404 without --db, for a path that is not a row, or for a row whose file can no longer be read or is no
/// longer an image; 422 without `path`, or for the path of a video of the index (a video has no thumbnail).
enum ImagesRoute {
    static func respond(_ request: Request, state: ServerState, snapshots: IndexSnapshots, logger: Logger) async throws -> Response {
        guard let index = state.index else {
            throw ServerError.notFound("images are served from a photo index: start the server with --db INDEX")
        }
        guard let value = request.uri.queryParameters["path"], !value.isEmpty else {
            throw ServerError.invalidField("path", "missing; give the path of an indexed image (?path=...)")
        }
        let path = String(value)
        let snapshot = try await snapshots.snapshot(index, servedBy: state.engine.classifier, logger: logger)
        guard let snapshot, snapshot.paths.contains(path) else {
            throw ServerError.notFound("path: \(path) is not an image of the index")
        }
        if snapshot.videos.contains(path) {
            throw ServerError.invalidField("path", "\(path) is a video of the index; /v1/images serves only still images "
                                           + "(no thumbnail for videos)")
        }
        if RemoteFile.isRemote(path) {
            return Response(status: .found, headers: [.location: path])
        }
        let loaded: LoadedInput
        do {
            loaded = try await OffLoop.run { try InputLoader.readFile(path, name: path) }
        } catch {
            throw ServerError.notFound("path: the indexed image cannot be read now: \(error.localizedDescription)")
        }
        guard let format = loaded.bytes.withUnsafeBytes({ ImageFormat.detect($0) }) else {
            throw ServerError.notFound("path: the file at \(path) is no longer an image (it changed since it was "
                                       + "indexed); run zeroshot index again")
        }
        return Response(status: .ok, headers: [.contentType: "image/\(format.rawValue)", .cacheControl: "private, max-age=60"],
                        body: .init(byteBuffer: ByteBuffer(bytes: loaded.bytes)))
    }
}
