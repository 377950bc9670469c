import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The outcome of one HTTP exchange.
struct HTTPResult {
    /// The last response received (a 3xx when redirects are not followed).
    var response: HTTPURLResponse?
    /// The body, when it was not streamed to a file (capped at `memoryLimit`).
    var body: Data
    /// A transport error (connection refused, timeout, connection lost mid-body, write failure).
    var error: Error?
    /// The exchange was cancelled because the body is longer than `memoryLimit` (with `cancelOverLimit`): by its
    /// `Content-Length` before any body byte, or while the body streamed in.
    var overLimit = false
    /// The exchange was cancelled because it had not ended by its deadline (`totalTimeout`).
    var pastDeadline = false

    func header(_ name: String) -> String? { response?.headerValue(name) }
}

extension HTTPURLResponse {
    /// Case-insensitive header lookup.
    func headerValue(_ name: String) -> String? {
        let lower = name.lowercased()
        for (key, value) in allHeaderFields {
            if let k = key as? String, k.lowercased() == lower { return value as? String ?? "\(value)" }
        }
        return nil
    }
}

/// Origin of a URL (scheme, lowercased host, port with the scheme's default), as huggingface_hub's `_url_origin`.
func urlOrigin(_ url: URL) -> String {
    let scheme = url.scheme?.lowercased() ?? ""
    let port = url.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : 0)
    return "\(scheme)://\(url.host?.lowercased() ?? ""):\(port)"
}

/// A blocking HTTP client over URLSession (libcurl on Linux). Each exchange gets its own session and delegate, so
/// the completion never depends on the Swift concurrency thread pool.
enum HTTP {
    /// Performs `request` and waits for it to end.
    /// - Parameters:
    ///   - followRedirects: when `false`, a 3xx response is returned as is. When `true`, redirects are followed and
    ///     the `Authorization` header is dropped as soon as the target leaves the origin of the original URL.
    ///   - timeout: seconds without progress before the exchange fails with a timeout.
    ///   - bodySink: called with the response head; a returned handle receives the body instead of memory.
    ///   - onData: called with the byte count of each chunk written to the sink.
    ///   - cancelOverLimit: when `true`, a 2xx body longer than `memoryLimit` bytes cancels the exchange
    ///     (`overLimit`); otherwise (and for other statuses) bytes past the limit are dropped.
    ///   - totalTimeout: seconds the whole exchange may take, however steadily data arrives; past them it is
    ///     cancelled (`pastDeadline`). URLSession's own resource timeout is not applied on Linux.
    static func perform(
        _ request: URLRequest,
        followRedirects: Bool,
        timeout: TimeInterval,
        totalTimeout: TimeInterval? = nil,
        memoryLimit: Int = 64 << 20,
        cancelOverLimit: Bool = false,
        bodySink: ((HTTPURLResponse) -> FileHandle?)? = nil,
        onData: ((Int) -> Void)? = nil
    ) -> HTTPResult {
        let delegate = ExchangeDelegate(
            followRedirects: followRedirects,
            originalOrigin: request.url.map(urlOrigin),
            memoryLimit: memoryLimit,
            cancelOverLimit: cancelOverLimit,
            bodySink: bodySink,
            onData: onData
        )
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = 7 * 24 * 3600
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: queue)
        var request = request
        request.timeoutInterval = timeout
        let task = session.dataTask(with: request)
        task.resume()
        var pastDeadline = false
        if let totalTimeout {
            if delegate.done.wait(timeout: .now() + max(0, totalTimeout)) == .timedOut {
                pastDeadline = true
                task.cancel()
                delegate.done.wait()
            }
        } else {
            delegate.done.wait()
        }
        session.finishTasksAndInvalidate()
        var result = delegate.result()
        result.pastDeadline = pastDeadline
        return result
    }
}

private final class ExchangeDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private let followRedirects: Bool
    private let originalOrigin: String?
    private let memoryLimit: Int
    private let cancelOverLimit: Bool
    private var overLimit = false
    private let bodySink: ((HTTPURLResponse) -> FileHandle?)?
    private let onData: ((Int) -> Void)?

    private var response: HTTPURLResponse?
    private var body = Data()
    private var sink: FileHandle?
    private var error: Error?
    private var writeError: Error?

    init(
        followRedirects: Bool, originalOrigin: String?, memoryLimit: Int, cancelOverLimit: Bool,
        bodySink: ((HTTPURLResponse) -> FileHandle?)?, onData: ((Int) -> Void)?
    ) {
        self.followRedirects = followRedirects
        self.originalOrigin = originalOrigin
        self.memoryLimit = memoryLimit
        self.cancelOverLimit = cancelOverLimit
        self.bodySink = bodySink
        self.onData = onData
    }

    func result() -> HTTPResult {
        lock.lock()
        defer { lock.unlock() }
        return HTTPResult(response: response, body: body, error: writeError ?? error, overLimit: overLimit)
    }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        guard followRedirects else {
            completionHandler(nil)
            return
        }
        var next = request
        if let url = next.url, urlOrigin(url) != originalOrigin {
            next.setValue(nil, forHTTPHeaderField: "Authorization")
        }
        completionHandler(next)
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        lock.lock()
        self.response = response as? HTTPURLResponse
        body = Data()
        if let http = self.response, let bodySink { sink = bodySink(http) } else { sink = nil }
        // Only a success body counts against the cap: an error page or a redirect's body is not what was asked for.
        let success = (200..<300).contains(self.response?.statusCode ?? 0)
        let announcedTooLong = cancelOverLimit && success && sink == nil
            && response.expectedContentLength > Int64(memoryLimit)
        if announcedTooLong { overLimit = true }
        lock.unlock()
        if announcedTooLong {
            completionHandler(.cancel)
            dataTask.cancel()
            return
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        lock.lock()
        if let sink {
            do {
                try sink.write(contentsOf: data)
            } catch {
                writeError = error
                lock.unlock()
                dataTask.cancel()
                return
            }
            lock.unlock()
            onData?(data.count)
            return
        }
        if body.count + data.count <= memoryLimit {
            body.append(data)
        } else if cancelOverLimit && (200..<300).contains(response?.statusCode ?? 0) {
            overLimit = true
            lock.unlock()
            dataTask.cancel()
            return
        }
        lock.unlock()
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.lock()
        self.error = error
        if response == nil, let http = task.response as? HTTPURLResponse { response = http }
        lock.unlock()
        done.signal()
    }
}
