import Foundation
import Hummingbird
import NIOCore

/// Cancels the route's task when the client's connection closes before the response is made: a request waiting in
/// the engine's queue then leaves it at once (`InferenceEngine` throws `CancellationError` to a cancelled caller),
/// and its line is logged with status 499.
///
/// The route runs in a child task next to a second one that waits for the connection's `closeFuture`; whichever
/// ends first cancels the other. (Hummingbird's `consumeWithCancellationOnInboundClose` is not used: cancelling its
/// read-ahead ends the connection's inbound stream, which closes every keep-alive connection after one request.)
struct DisconnectMiddleware: RouterMiddleware {
    typealias Context = ServerRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let channel = context.channel
        return try await withoutActuallyEscaping(next) { next in
            let route = UnsafeSendable(next)
            return try await withThrowingTaskGroup(of: Response?.self) { group in
                group.addTask { try await route.value(request, context) }
                group.addTask {
                    await Self.waitForClose(channel)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let response = first else {
                    throw CancellationError()
                }
                return response
            }
        }
    }

    /// Returns when `channel` has closed, or at once when the calling task is cancelled.
    static func waitForClose(_ channel: any Channel) async {
        let once = ResumeOnce()
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                once.set(continuation)
                channel.closeFuture.whenComplete { _ in once.resume() }
            }
        } onCancel: {
            once.resume()
        }
    }
}

/// A continuation resumed at most once, possibly before it is set (then as soon as it is).
private final class ResumeOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?
    private var resumed = false

    func set(_ continuation: CheckedContinuation<Void, Never>) {
        let resumeNow = lock.withLock {
            if resumed { return true }
            self.continuation = continuation
            return false
        }
        if resumeNow { continuation.resume() }
    }

    func resume() {
        let pending = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            if resumed { return nil }
            resumed = true
            defer { continuation = nil }
            return continuation
        }
        pending?.resume()
    }
}

/// A value moved into a child task that runs while the caller waits for it (the route closure of `handle`).
private struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
