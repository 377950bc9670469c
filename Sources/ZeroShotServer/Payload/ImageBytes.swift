import Foundation
import Hub
import HTTPTypes
import Hummingbird
import ZeroShot

/// The bytes of a request's image, and the helpers the routes share to run blocking work and answer JSON.
enum ImageBytes {
    /// Most URL downloads running at a time; more wait for one to end (and leave the wait when their client goes
    /// away).
    static let maxDownloads = 16
    static let downloads = Slots(maxDownloads)
    /// Seconds a URL download may take in all, however steadily the remote server trickles data.
    static let downloadDeadline: TimeInterval = 60

    /// The encoded image of `reference`: the bytes themselves, or the body of its URL fetched as `zeroshot classify`
    /// fetches URLs (`RemoteFile.fetch`: 30 s without data, at most 5 redirects), capped at `--max-body-bytes` like
    /// an image sent in the body, and given `downloadDeadline` (60 s) in all.
    ///
    /// A download blocks a thread for as long as the remote server takes (at most `downloadDeadline`), so it runs on a thread of its own, at most `maxDownloads` at a time, never on the Dispatch
    /// workers that the other blocking work of the server (`OffLoop`: index reads, file reads) shares: slow URLs
    /// cannot stop search or thumbnails.
    ///
    /// - Throws: `ServerError` 413 for a download over the cap, 400 for any other failed download (naming the
    ///   field and the URL's error: status, timeout, refused connection, ...); `CancellationError` when the caller
    ///   is cancelled while it waits for a download slot.
    static func load(_ reference: ImageReference, field: String, configuration: ServerConfiguration) async throws -> Data {
        switch reference {
        case .bytes(let data):
            return data
        case .url(let url):
            let limit = configuration.maxBodyBytes
            do {
                try await downloads.acquire()
                return try await OwnThread.run {
                    defer { downloads.release() }
                    return try RemoteFile.fetch(url, maxBytes: limit, timeout: 30, deadline: ImageBytes.downloadDeadline)
                }
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

/// Blocking work that may take as long as another machine wants (a download) on a new thread of its own.
enum OwnThread {
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try work() }) }
            thread.name = "zeroshot-download"
            thread.start()
        }
    }
}

/// A counting semaphore for async callers: `acquire` waits (in order) while all slots are taken, and a cancelled
/// waiter leaves the wait at once with `CancellationError`.
final class Slots: @unchecked Sendable {
    private let lock = NSLock()
    private var free: Int
    private var waiters: [(id: UUID, continuation: CheckedContinuation<Void, Error>)] = []

    init(_ count: Int) { free = count }

    func acquire() async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                let now: Result<Void, Error>? = lock.withLock {
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if free > 0 {
                        free -= 1
                        return .success(())
                    }
                    waiters.append((id, continuation))
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            let waiter = lock.withLock { () -> CheckedContinuation<Void, Error>? in
                guard let i = waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return waiters.remove(at: i).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    func release() {
        let next = lock.withLock { () -> CheckedContinuation<Void, Error>? in
            if waiters.isEmpty {
                free += 1
                return nil
            }
            return waiters.removeFirst().continuation
        }
        next?.resume()
    }
}

/// Blocking work (an SQLite read, a file read) on a Dispatch worker thread, never the event loop.
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
