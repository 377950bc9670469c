import Foundation

/// What the request-log line of the current request carries beyond method, route, status and duration: filled by
/// the route (the batch size its image ran in), read by the logging middleware once the response is made. The
/// middleware binds a fresh one per request (`RequestLog.$current`).
public final class RequestLog: @unchecked Sendable {
    @TaskLocal public static var current: RequestLog?

    private let lock = NSLock()
    private var _batchSize: Int?

    public init() {}

    /// The number of images in the image-tower call the request's image ran in (nil: no image).
    public var batchSize: Int? {
        get { lock.withLock { _batchSize } }
        set { lock.withLock { _batchSize = newValue } }
    }
}
