import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Hummingbird's HTTP/1.1 child channel (`HTTP1Channel`, with its idle timeout) plus a request deadline and a
/// close instead of a drain:
///
/// - `RequestDeadlineHandler`, first in the pipeline, sees the raw bytes: the first byte of a request starts a
///   timer of `requestTimeout`; when the request's end has not been decoded by then (headers or body trickling),
///   the client gets `408` with a JSON error body and `Connection: close` if no response to it has begun, and the
///   connection is closed. A handler after the HTTP decoder could not do this: it sees nothing until the whole
///   head has arrived.
/// - `RequestProgressHandler`, after the HTTP codec, tells it where requests end and responses begin, and answers a
///   request that cannot be parsed with a JSON 400; when a
///   response ends before its request's body has been received (a 413 for a body over the limit, a 401, ...), it
///   closes the connection (output first, then the whole connection after a short linger, reading and dropping what
///   the client still sends, so that the client reads the response instead of a reset) rather than letting
///   Hummingbird read and drop the rest of a body that may never end.
struct TimedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    /// `--max-body-bytes`: an `Expect: 100-continue` request declaring a longer body gets no `100 Continue`.
    let maxBodyBytes: Int
    let requestTimeout: TimeAmount
    let idleTimeout: TimeAmount?
    /// How long a closing connection still reads (and drops) what the client sends after the response.
    let linger: TimeAmount
    /// Told of each request answered here, never reaching the router (status 400 or 408, `route` `BadRequest` or
    /// `RequestTimeout`, time since its first byte), for the request log and metrics.
    let rejected: @Sendable (_ status: Int, _ route: String, _ duration: Duration) -> Void

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let deadline = RequestDeadlineHandler(timeout: requestTimeout, linger: linger, rejected: rejected)
        let progress = NIOLoopBound(RequestProgressHandler(deadline: deadline), eventLoop: channel.eventLoop)
        do {
            try channel.pipeline.syncOperations.addHandler(deadline, position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        let http = HTTP1Channel(responder: responder,
                                configuration: .init(additionalChannelHandlers: [progress.value], idleTimeout: idleTimeout))
        let maxBodyBytes = self.maxBodyBytes
        return http.setup(channel: channel, logger: logger).flatMapThrowing { value in
            // Right after NIO's HTTP/1 decoder, before the conversion to HTTP types drops the request's version.
            let operations = channel.pipeline.syncOperations
            let decoder = try operations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try operations.addHandler(HTTP1HeadHandler(maxBodyBytes: maxBodyBytes), position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}

/// What HTTP/1 says about a request that the HTTP types Hummingbird works with cannot carry (they have no version):
///
/// - A request that does not keep its connection alive (HTTP/1.0 without `Connection: keep-alive`, or `Connection`
///   with a `close` token in any letter case) gets exactly `Connection: close`, which is what Hummingbird looks for to
///   close the connection after the response; its response says `Connection: close` too. (Otherwise an HTTP/1.0
///   client reading up to the end of the connection waits for the idle timeout.) So does CONNECT, whose response
///   NIO writes without a body or length. The response to an HTTP/1.0
///   request that keeps the connection alive says `Connection: keep-alive` (HTTP/1.0 closes by default).
/// - `Expect: 100-continue` is answered with `100 Continue` as the head arrives, so that a client waiting for it
///   (curl for bodies over 1 MB) sends its body at once instead of after its own timeout. Not when the declared
///   `Content-Length` is over `maxBodyBytes` (the 413 answers instead, before any of the body is sent), nor while an
///   earlier response on the connection is still pending (pipelining: the 100 would go out before it).
///
/// Sits between NIO's `HTTPRequestDecoder` and the conversion to HTTP types; all its state is on the event loop.
final class HTTP1HeadHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let maxBodyBytes: Int
    /// For each request read whose final response head has not been written, the `Connection` its response must say
    /// (nil: nothing to add).
    private var connection: [String?] = []
    /// A final response head was written and its end was not.
    private var responding = false

    init(maxBodyBytes: Int) { self.maxBodyBytes = maxBodyBytes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        // CONNECT (a proxy tunnel, not served here) closes too: NIO writes its response without a body or length.
        let keepAlive = head.isKeepAlive && head.method != .CONNECT
        if !keepAlive { head.headers.replaceOrAdd(name: "connection", value: "close") }
        connection.append(!keepAlive ? "close" : head.version == .http1_0 ? "keep-alive" : nil)
        let expectsContinue = head.headers["expect"].contains { $0.lowercased() == "100-continue" }
        let declared = head.headers["content-length"].first.flatMap { Int($0) } ?? 0
        if expectsContinue && declared <= maxBodyBytes && connection.count == 1 && !responding {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))),
                                  promise: nil)
        }
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.code >= 200 || head.status == .switchingProtocols:
            responding = true
            if !connection.isEmpty, let value = connection.removeFirst() {
                head.headers.replaceOrAdd(name: "connection", value: value)
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end:
            responding = false
            context.write(data, promise: promise)
        default:
            context.write(data, promise: promise)
        }
    }
}

/// See `TimedHTTP1Channel`. Raw bytes in and out; all its state is on the channel's event loop.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let timeout: TimeAmount
    let linger: TimeAmount
    let rejected: @Sendable (_ status: Int, _ route: String, _ duration: Duration) -> Void
    private var context: ChannelHandlerContext?
    /// When the current request's first byte arrived.
    private var started = ContinuousClock.now
    /// The current request's head was decoded (the router has it).
    var headDecoded = false
    private var timer: Scheduled<Void>?
    /// A request has begun (a byte arrived, or a head was decoded) and its end has not been decoded.
    private var receiving = false
    /// A response to the current request has begun (its head was written).
    var responseStarted = false
    /// The connection is closing: what arrives is dropped.
    private var discarding = false

    init(timeout: TimeAmount, linger: TimeAmount,
         rejected: @escaping @Sendable (_ status: Int, _ route: String, _ duration: Duration) -> Void) {
        self.timeout = timeout
        self.linger = linger
        self.rejected = rejected
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if discarding { return }
        if !receiving && unwrapInboundIn(data).readableBytes > 0 { requestBegan() }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
    }

    /// A request head was decoded (it may have come with the previous request's bytes).
    func requestBegan() {
        if !receiving {
            receiving = true
            responseStarted = false
            headDecoded = false
            started = .now
            startTimer()
        }
    }

    /// The request's end was decoded: the client has sent all of it.
    func requestEnded() {
        receiving = false
        timer?.cancel()
        timer = nil
    }

    /// Tells `rejected` of the current request.
    func reportRejected(_ status: Int, _ route: String) {
        rejected(status, route, ContinuousClock.now - started)
    }

    /// Whether the current request is still being received.
    var isReceiving: Bool { receiving }

    private func startTimer() {
        guard let context else { return }
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            self?.timedOut()
        }
    }

    private func timedOut() {
        timer = nil
        guard receiving, let context, !discarding else { return }
        receiving = false
        if !responseStarted {
            let seconds = Double(timeout.nanoseconds) / 1e9
            let body = ServerError(.requestTimeout, type: "invalid_request_error",
                                   "the request was not received within \(seconds) s (--request-timeout)").jsonBody
            let head = "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json; charset=utf-8\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
            responseStarted = true
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: head + body)), promise: nil)
            // A request whose head the router has is logged by the router (its body read fails).
            if !headDecoded { rejected(408, "RequestTimeout", ContinuousClock.now - started) }
        }
        closeAfterLinger()
    }

    /// Closes the connection: output now (after what was written), the whole connection after `linger`, dropping
    /// what arrives meanwhile.
    func closeAfterLinger() {
        guard let context, !discarding else { return }
        discarding = true
        receiving = false
        timer?.cancel()
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.close(mode: .output, promise: promise)
        promise.futureResult.assumeIsolated().whenFailure { [weak self] _ in self?.context?.close(promise: nil) }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: linger) { [weak self] in
            self?.context?.close(promise: nil)
        }
    }
}

/// See `TimedHTTP1Channel`: sits after the HTTP codec and reports request ends and response starts to the
/// `RequestDeadlineHandler` of its connection.
final class RequestProgressHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let deadline: RequestDeadlineHandler
    /// Requests whose head was decoded and whose response has not ended.
    private var outstanding = 0

    init(deadline: RequestDeadlineHandler) { self.deadline = deadline }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            outstanding += 1
            deadline.requestBegan()
            deadline.headDecoded = true
        case .body: break
        case .end: deadline.requestEnded()
        }
        context.fireChannelRead(data)
    }

    /// The client closed its side while a request is being answered: it has gone away (as nginx's 499), so the
    /// connection is closed, which cancels the route (`DisconnectMiddleware`) and frees its queue slot. Otherwise the
    /// event goes on (Hummingbird ends the connection).
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event, outstanding > 0 {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// A request line or header block that is not HTTP/1.1 (or over the header limits), while no request is being
    /// answered: 400 with the JSON error body, then close. (Hummingbird would answer 400 with an empty body.) A
    /// parse error inside a request being answered goes on to Hummingbird.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError, outstanding == 0 else {
            context.fireErrorCaught(error)
            return
        }
        outstanding += 1
        deadline.requestBegan()
        let body = ServerError.badRequest("the request is not valid HTTP/1.1: \(parseError)").jsonBody
        let head = HTTPResponse(status: .badRequest, headerFields: [
            .contentType: "application/json; charset=utf-8", .contentLength: String(body.utf8.count), .connection: "close",
        ])
        write(context: context, data: wrapOutboundOut(.head(head)), promise: nil)
        write(context: context, data: wrapOutboundOut(.body(context.channel.allocator.buffer(string: body))), promise: nil)
        write(context: context, data: wrapOutboundOut(.end(nil)), promise: nil)
        context.flush()
        deadline.reportRejected(400, "BadRequest")
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head:
            deadline.responseStarted = true
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            outstanding = max(0, outstanding - 1)
            context.write(data, promise: promise)
            if deadline.isReceiving {
                // The response is complete but the request's body is not: close rather than drain it.
                context.flush()
                deadline.closeAfterLinger()
            }
        }
    }
}
