import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 with an ephemeral port, for tests. One connection at a time, one request
/// per connection (`Connection: close`); every socket has a receive timeout and the accept loop polls, so nothing
/// can hang a test.
public final class LoopbackServer: @unchecked Sendable {
    public struct Request: Sendable {
        public var method: String
        public var path: String
        /// Lowercased header names.
        public var headers: [String: String]
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)] = []
        public var body = Data()
        /// Announce the full `Content-Length` but close the connection after this many body bytes.
        public var cutAfter: Int? = nil
        /// Send the body in this many pieces with `pause` seconds between them (a slow link).
        public var pieces = 1
        public var pause: TimeInterval = 0
        /// Send no `Content-Length`: the body ends when the connection closes.
        public var omitContentLength = false
        /// Seconds to wait before sending anything (a server that does not answer).
        public var delay: TimeInterval = 0

        public init(status: Int, headers: [(String, String)] = [], body: Data = Data(), cutAfter: Int? = nil,
                    pieces: Int = 1, pause: TimeInterval = 0, omitContentLength: Bool = false, delay: TimeInterval = 0) {
            self.status = status
            self.headers = headers
            self.body = body
            self.cutAfter = cutAfter
            self.pieces = pieces
            self.pause = pause
            self.omitContentLength = omitContentLength
            self.delay = delay
        }
    }

    public let port: UInt16
    private let listener: Int32
    private let handler: @Sendable (Request) -> Response
    private let lock = NSLock()
    private var stopped = false
    private var log: [Request] = []
    private let finished = DispatchSemaphore(value: 0)

    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    public var requests: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return log
    }

    public init(handler: @escaping @Sendable (Request) -> Response) throws {
        self.handler = handler
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw ServerError.socket("socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw ServerError.socket("bind/listen")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in self.serve() }
        thread.start()
    }

    public func stop() {
        lock.lock()
        let wasStopped = stopped
        stopped = true
        lock.unlock()
        guard !wasStopped else { return }
        _ = finished.wait(timeout: .now() + 5)
        close(listener)
    }

    deinit { stop() }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    private func serve() {
        defer { finished.signal() }
        while !isStopped {
            var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 50) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            handle(client)
            close(client)
        }
    }

    private func handle(_ fd: Int32) {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        let terminator: [UInt8] = Array("\r\n\r\n".utf8)
        while buffer.count < 65536 {
            let n = recv(fd, &chunk, chunk.count, 0)
            guard n > 0 else { return }
            buffer += chunk[0..<n]
            if buffer.count >= 4, (0...(buffer.count - 4)).contains(where: { Array(buffer[$0..<$0 + 4]) == terminator }) {
                break
            }
        }
        guard let text = String(bytes: buffer, encoding: .utf8) else { return }
        let head = text.components(separatedBy: "\r\n\r\n")[0]
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let request = Request(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers)
        lock.lock()
        log.append(request)
        lock.unlock()

        let response = handler(request)
        if response.delay > 0 { Thread.sleep(forTimeInterval: response.delay) }
        var out = "HTTP/1.1 \(response.status) \(reason(response.status))\r\n"
        var hasLength = false
        for (name, value) in response.headers {
            if name.lowercased() == "content-length" { hasLength = true }
            out += "\(name): \(value)\r\n"
        }
        if !hasLength && !response.omitContentLength { out += "Content-Length: \(response.body.count)\r\n" }
        out += "Connection: close\r\n\r\n"
        var bytes = Array(out.utf8)
        if request.method != "HEAD" {
            bytes += response.cutAfter.map { Array(response.body.prefix($0)) } ?? Array(response.body)
        }
        let headLength = out.utf8.count
        let pieceLength = max(1, (bytes.count - headLength + response.pieces - 1) / max(1, response.pieces))
        var sent = 0
        while sent < bytes.count {
            let end = sent < headLength ? headLength : min(bytes.count, sent + pieceLength)
            if sent >= headLength && sent > headLength && response.pause > 0 { Thread.sleep(forTimeInterval: response.pause) }
            var offset = sent
            while offset < end {
                let n = bytes[offset..<end].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { return }
                offset += n
            }
            sent = end
        }
        if response.cutAfter != nil { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 206: return "Partial Content"
        case 302: return "Found"
        case 307: return "Temporary Redirect"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 416: return "Range Not Satisfiable"
        case 301: return "Moved Permanently"
        case 500: return "Internal Server Error"
        default: return "Status"
        }
    }

    public enum ServerError: Error { case socket(String) }
}
