import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One file fetched over HTTP(S) into memory, as transformers' `load_image` fetches an image URL
/// (`requests.get(url, timeout=...)`), with the limits a command run over many URLs needs: a timeout, a size cap and
/// a bounded number of redirects. Hub fetches what a caller names; it knows nothing of images here.
public enum RemoteFile {
    /// The default size cap: 50,000,000 bytes (50 MB).
    public static let defaultMaxBytes = 50_000_000

    /// Whether `text` names an HTTP(S) URL: it starts with `http://` or `https://` (scheme in any case).
    public static func isRemote(_ text: String) -> Bool {
        let lower = text.prefix(8).lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://")
    }

    /// Fetches the body of `url` with a GET request.
    ///
    /// - Parameters:
    ///   - url: an `http` or `https` URL.
    ///   - maxBytes: the largest body accepted, in bytes. A longer body is refused by its `Content-Length` before any
    ///     of it is read, or, without one, as soon as the bytes received pass the cap (never held beyond it).
    ///   - timeout: seconds the server may stay silent (connecting, before the response, between body bytes).
    ///   - maxRedirects: 3xx responses followed at most (each target must be http or https too).
    ///   - deadline: seconds the whole fetch may take, redirects included, however steadily the server sends (nil:
    ///     no limit but `timeout`'s): a server trickling a byte now and then is cut off.
    /// - Returns: the body of the final 2xx response.
    /// - Throws: `RemoteFileError`, every case naming `url`: `.unsupportedScheme`, `.httpStatus` (any status other
    ///   than 2xx after redirects), `.timedOut`, `.pastDeadline`, `.tooLarge`, `.tooManyRedirects`, `.badRedirect`,
    ///   `.transport`.
    public static func fetch(_ url: URL, maxBytes: Int = defaultMaxBytes, timeout: TimeInterval = 30,
                             maxRedirects: Int = 5, deadline: TimeInterval? = nil) throws -> Data {
        var current = url
        var redirects = 0
        let end = deadline.map { Date().addingTimeInterval($0) }
        while true {
            guard let scheme = current.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
                throw RemoteFileError.unsupportedScheme(url: url.absoluteString, target: current == url ? nil : current.absoluteString)
            }
            // The scheme is case-insensitive (RFC 3986), but URLSession only knows "http" and "https".
            if current.scheme != scheme, var parts = URLComponents(url: current, resolvingAgainstBaseURL: true) {
                parts.scheme = scheme
                current = parts.url ?? current
            }
            var request = URLRequest(url: current)
            request.httpMethod = "GET"
            request.setValue("zeroshot", forHTTPHeaderField: "User-Agent")
            let result = HTTP.perform(request, followRedirects: false, timeout: timeout,
                                      totalTimeout: end.map { $0.timeIntervalSinceNow },
                                      memoryLimit: max(0, maxBytes), cancelOverLimit: true)
            if result.pastDeadline, let deadline {
                throw RemoteFileError.pastDeadline(url: url.absoluteString, seconds: deadline)
            }
            if result.overLimit {
                let announced = result.response?.expectedContentLength
                throw RemoteFileError.tooLarge(url: url.absoluteString, maxBytes: maxBytes,
                                               contentLength: announced.flatMap { $0 >= 0 ? Int($0) : nil })
            }
            if let error = result.error {
                let nsError = error as NSError
                if nsError.domain == NSURLErrorDomain && nsError.code == NSURLErrorTimedOut {
                    throw RemoteFileError.timedOut(url: url.absoluteString, seconds: timeout)
                }
                throw RemoteFileError.transport(url: url.absoluteString, reason: error.localizedDescription)
            }
            guard let response = result.response else {
                throw RemoteFileError.transport(url: url.absoluteString, reason: "no response")
            }
            let status = response.statusCode
            if (300..<400).contains(status) && status != 304 {
                guard let location = result.header("Location"),
                      let next = URL(string: location, relativeTo: current)?.absoluteURL
                else {
                    throw RemoteFileError.badRedirect(url: url.absoluteString, status: status,
                                                      location: result.header("Location"))
                }
                redirects += 1
                guard redirects <= maxRedirects else {
                    throw RemoteFileError.tooManyRedirects(url: url.absoluteString, maxRedirects: maxRedirects)
                }
                current = next
                continue
            }
            guard (200..<300).contains(status) else {
                throw RemoteFileError.httpStatus(url: url.absoluteString, status: status)
            }
            return result.body
        }
    }
}

/// Why `RemoteFile.fetch` failed. Every message names the URL as given.
public enum RemoteFileError: Error, LocalizedError, CustomStringConvertible, Sendable, Equatable {
    /// The URL (or a redirect's `target`) is not http or https.
    case unsupportedScheme(url: String, target: String?)
    /// The final response's status is not 2xx (after redirects).
    case httpStatus(url: String, status: Int)
    /// The server sent nothing for `seconds`.
    case timedOut(url: String, seconds: TimeInterval)
    /// The whole fetch took longer than `seconds` (`fetch`'s `deadline`).
    case pastDeadline(url: String, seconds: TimeInterval)
    /// The body is longer than `maxBytes`: announced by `Content-Length` (`contentLength`), or counted while streaming
    /// (`contentLength` nil).
    case tooLarge(url: String, maxBytes: Int, contentLength: Int?)
    /// More than `maxRedirects` redirects.
    case tooManyRedirects(url: String, maxRedirects: Int)
    /// A 3xx response without a usable `Location`.
    case badRedirect(url: String, status: Int, location: String?)
    /// The connection failed (DNS, refused, reset, TLS), in the system's words.
    case transport(url: String, reason: String)

    /// The URL the error concerns, as given to `fetch`.
    public var url: String {
        switch self {
        case .unsupportedScheme(let url, _), .httpStatus(let url, _), .timedOut(let url, _), .pastDeadline(let url, _),
             .tooLarge(let url, _, _),
             .tooManyRedirects(let url, _), .badRedirect(let url, _, _), .transport(let url, _):
            return url
        }
    }

    public var description: String {
        switch self {
        case .unsupportedScheme(let url, nil):
            return "\(url): not an http or https URL"
        case .unsupportedScheme(let url, let target?):
            return "\(url): redirected to \(target), which is not an http or https URL"
        case .httpStatus(let url, let status):
            return "\(url): HTTP \(status)\(Self.reasonPhrase(status).map { " " + $0 } ?? "")"
        case .timedOut(let url, let seconds):
            return "\(url): timed out (no data from the server for \(Self.seconds(seconds)))"
        case .pastDeadline(let url, let seconds):
            return "\(url): not received within \(Self.seconds(seconds)) (the server sends too slowly)"
        case .tooLarge(let url, let maxBytes, let length?):
            return "\(url): the file is \(length) bytes, more than the limit of \(maxBytes) bytes "
                + "(--max-download-bytes raises it)"
        case .tooLarge(let url, let maxBytes, nil):
            return "\(url): the file is larger than the limit of \(maxBytes) bytes (--max-download-bytes raises it)"
        case .tooManyRedirects(let url, let maxRedirects):
            return "\(url): too many redirects (more than \(maxRedirects))"
        case .badRedirect(let url, let status, let location):
            return "\(url): HTTP \(status) redirect " + (location.map { "to an invalid location '\($0)'" } ?? "without a Location")
        case .transport(let url, let reason):
            return "\(url): \(reason)"
        }
    }

    public var errorDescription: String? { description }

    private static func seconds(_ t: TimeInterval) -> String {
        t == t.rounded() ? "\(Int(t)) s" : "\(t) s"
    }

    /// The standard reason phrase of an HTTP status (RFC 9110), or nil for an unusual one.
    static func reasonPhrase(_ status: Int) -> String? {
        let phrases: [Int: String] = [
            400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required",
            408: "Request Timeout", 409: "Conflict", 410: "Gone", 411: "Length Required", 412: "Precondition Failed",
            413: "Content Too Large", 414: "URI Too Long", 415: "Unsupported Media Type", 416: "Range Not Satisfiable",
            417: "Expectation Failed", 418: "I'm a teapot", 421: "Misdirected Request", 422: "Unprocessable Content",
            425: "Too Early", 426: "Upgrade Required", 428: "Precondition Required", 429: "Too Many Requests",
            431: "Request Header Fields Too Large", 451: "Unavailable For Legal Reasons",
            500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout", 505: "HTTP Version Not Supported",
            100: "Continue", 101: "Switching Protocols", 304: "Not Modified",
        ]
        return phrases[status]
    }
}
