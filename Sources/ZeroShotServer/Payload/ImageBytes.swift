import Foundation
import Hub
import HTTPTypes
import Hummingbird
import ZeroShot

/// The bytes of a request's image, and the helpers the routes share to run blocking work and answer JSON.
enum ImageBytes {
    /// The encoded image of `reference`: the bytes themselves, or the body of its URL fetched on a worker thread as
    /// `zeroshot classify` fetches URLs (`RemoteFile.fetch`: 30 s without data, at most 5 redirects), capped at
    /// `--max-body-bytes` like an image sent in the body.
    ///
    /// - Throws: `ServerError` 413 for a download over the cap, 400 for any other failed download (naming the
    ///   field and the URL's error: status, timeout, refused connection, ...).
    static func load(_ reference: ImageReference, field: String, configuration: ServerConfiguration) async throws -> Data {
        switch reference {
        case .bytes(let data):
            return data
        case .url(let url):
            let limit = configuration.maxBodyBytes
            do {
                return try await OffLoop.run { try RemoteFile.fetch(url, maxBytes: limit, timeout: 30) }
            } catch let error as RemoteFileError {
                if case .tooLarge(let url, _, let length) = error {
                    throw ServerError.tooLarge("\(field): the image at \(url) is "
                                               + (length.map { "\($0) bytes" } ?? "larger than that")
                                               + ", more than the limit of \(limit) bytes (--max-body-bytes)")
                }
                throw ServerError.badRequest("\(field): the image URL cannot be fetched: \(error.description)")
            }
        }
    }
}

/// Blocking work (a download, an SQLite read, a file read) on a Dispatch worker thread, never the event loop.
enum OffLoop {
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }
}

/// JSON responses and the error mapping of the inference routes.
enum APIResponse {
    /// A 200 response with JSON `text` (already JSON, as `JSONText` writes it) and a final newline.
    static func json(_ text: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }

    /// The warnings header of a response (one field per message; non-ASCII shown as `\u{...}` so that every byte of
    /// the header is printable ASCII).
    static let warningHeader = HTTPField.Name("Zeroshot-Warning")!

    static func warningFields(_ messages: [String]) -> HTTPFields {
        var fields = HTTPFields()
        for message in messages {
            let ascii = message.unicodeScalars.map { scalar -> String in
                (0x20..<0x7F).contains(scalar.value) ? String(scalar) : "\\u{\(String(scalar.value, radix: 16))}"
            }.joined()
            fields.append(HTTPField(name: warningHeader, value: ascii))
        }
        return fields
    }

    /// Runs inference work, passing `ServerError` and cancellation through and turning any other error (a failure
    /// of the model, not of the request) into a 500 that says what failed.
    static func inference<T>(_ what: String, _ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let error as ServerError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ServerError.internalError("\(what) failed: \(error.localizedDescription)")
        }
    }
}
