import Foundation
import Hummingbird
import NIOCore

/// The request context of the server's routes: Hummingbird's core context, with `maxUploadSize` the configured
/// `--max-body-bytes` (what `Request.decode` and `collectBody(upTo: context.maxUploadSize)` allow).
public struct ServerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let maxUploadSize: Int
    /// The connection of the request (`DisconnectMiddleware` watches it close).
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        maxUploadSize = Self.uploadLimit.value
    }

    /// `--max-body-bytes` of the running server (set by `ZeroShotServer.run` before it listens).
    static let uploadLimit = Limit()

    final class Limit: @unchecked Sendable {
        private let lock = NSLock()
        private var bytes = ServerConfiguration().maxBodyBytes
        var value: Int {
            get { lock.withLock { bytes } }
            set { lock.withLock { bytes = newValue } }
        }
    }
}
