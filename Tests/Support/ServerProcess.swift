import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A running `zeroshot serve` for tests: started on 127.0.0.1 with `--port 0`, its bound port read from the
/// `{"msg":"listening",...,"port":N}` log line, talked to over loopback with a small HTTP/1.1 client on raw sockets
/// (`request`), stopped with SIGTERM (`stop`).
///
///     let server = try ServerProcess.start(["--model", modelDirectory.path])   // waits for GET /readyz 200
///     let response = try server.request("GET", "/v1/info")
///     XCTAssertEqual(response.status, 200)
///     let info = try response.jsonObject()
///     let run = server.stop()                                                  // SIGTERM; exit status and logs
///     XCTAssertEqual(run.status, 0)
///
/// Everything is bounded: starting waits at most `startTimeout`, each request has a socket timeout, `stop` kills the
/// process with SIGKILL when it has not exited in time, and `deinit` stops a server a test forgot to stop.
public final class ServerProcess: @unchecked Sendable {
    /// The bound TCP port on 127.0.0.1.
    public let port: Int
    public let process: Process
    private let output: OutputCollector
    private let errors: OutputCollector
    private let lock = NSLock()
    private var finished: CommandRun?

    /// Starts `zeroshot serve --host 127.0.0.1 --port 0` followed by `arguments` (say `--port` or `--host` in
    /// `arguments` to replace them: the later flag wins), with `ZeroshotProcess.environment(environment)`.
    ///
    /// Waits for the listening line, then, with `waitUntilReady`, until `GET /readyz` answers 200 (with
    /// `authorization` if the server has an API key: `/readyz` is exempt, so it is not needed).
    ///
    /// - Throws: `ServerProcess.Failure.exited` when the process ends before listening (or before ready) with its
    ///   status and output; `.timeout` after `startTimeout` seconds (the process is killed).
    public static func start(_ arguments: [String], environment: [String: String] = [:], waitUntilReady: Bool = true,
                             startTimeout: TimeInterval = 60) throws -> ServerProcess {
        let started = try ZeroshotProcess.start(["serve", "--host", "127.0.0.1", "--port", "0"] + arguments,
                                                environment: environment)
        let (process, out, err) = started
        let output = OutputCollector(out.fileHandleForReading)
        let errors = OutputCollector(err.fileHandleForReading)
        let deadline = Date().addingTimeInterval(startTimeout)
        var port: Int?
        while port == nil {
            port = listeningPort(in: output.text)
            if port != nil { break }
            if !process.isRunning {
                output.waitForEnd(); errors.waitForEnd()
                throw Failure.exited(status: process.terminationStatus, stdout: output.text, stderr: errors.text)
            }
            if Date() > deadline {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw Failure.timeout("no listening line after \(startTimeout) s", stdout: output.text, stderr: errors.text)
            }
            output.waitForMore(until: min(deadline, Date().addingTimeInterval(0.1)))
        }
        let server = ServerProcess(port: port!, process: process, output: output, errors: errors)
        if waitUntilReady {
            while true {
                if let response = try? server.request("GET", "/readyz", timeout: 5), response.status == 200 { break }
                if !process.isRunning {
                    let run = server.stop()
                    throw Failure.exited(status: run.status, stdout: run.stdout, stderr: run.stderr)
                }
                if Date() > deadline {
                    let run = server.stop(timeout: 5)
                    throw Failure.timeout("not ready after \(startTimeout) s", stdout: run.stdout, stderr: run.stderr)
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        return server
    }

    private init(port: Int, process: Process, output: OutputCollector, errors: OutputCollector) {
        self.port = port
        self.process = process
        self.output = output
        self.errors = errors
    }

    deinit { _ = stop(timeout: 5) }

    /// The port of the first `{"msg":"listening",...}` JSON line of `text`.
    static func listeningPort(in text: String) -> Int? {
        for line in text.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["msg"] as? String == "listening" else { continue }
            if let port = object["port"] as? Int { return port }
        }
        return nil
    }

    /// What the server wrote to standard output so far (its JSON log lines).
    public var stdout: String { output.text }
    /// What the server wrote to standard error so far.
    public var stderr: String { errors.text }

    /// The JSON objects of the standard-output lines so far (lines that are not JSON objects are skipped).
    public var logLines: [[String: Any]] {
        stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Waits until at least `count` log lines satisfy `predicate` (at most `timeout` seconds) and returns those
    /// lines. A request's log line is written after its response, so a test that counts lines must wait for them.
    public func waitForLogLines(count: Int, timeout: TimeInterval = 10, _ predicate: ([String: Any]) -> Bool) -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let lines = logLines.filter(predicate)
            if lines.count >= count || Date() > deadline || !process.isRunning && output.ended { return lines }
            output.waitForMore(until: min(deadline, Date().addingTimeInterval(0.1)))
        }
    }

    /// Waits until a log line satisfies `predicate` (at most `timeout` seconds) and returns it.
    public func waitForLogLine(timeout: TimeInterval = 10, _ predicate: ([String: Any]) -> Bool) -> [String: Any]? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let line = logLines.first(where: predicate) { return line }
            if Date() > deadline || !process.isRunning && output.ended { return logLines.first(where: predicate) }
            output.waitForMore(until: min(deadline, Date().addingTimeInterval(0.1)))
        }
    }

    /// Sends SIGTERM (or `signal`), waits up to `timeout` seconds for the process to exit (then SIGKILL), and returns
    /// its exit status and everything it wrote. A second call returns the first one's result.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: TimeInterval = 30) -> CommandRun {
        lock.lock()
        defer { lock.unlock() }
        if let finished { return finished }
        if process.isRunning { kill(process.processIdentifier, signal) }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        output.waitForEnd()
        errors.waitForEnd()
        let run = CommandRun(status: process.terminationStatus, stdout: output.text, stderr: errors.text)
        finished = run
        return run
    }

    /// Waits (at most `timeout` seconds) for the process to exit by itself and returns what `stop` returns; nil if
    /// it is still running.
    public func waitForExit(timeout: TimeInterval) -> CommandRun? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return process.isRunning ? nil : stop()
    }

    // MARK: - HTTP

    /// A response: status code, headers (names lowercased; a repeated header's values joined by ", ") and body
    /// (a chunked body is decoded).
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The body as JSON (`JSONSerialization`).
        public func jsonObject() throws -> Any { try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }
        /// `error.message` and `error.type` of a JSON error body, nil when the body is not one.
        public var error: (message: String, type: String)? {
            guard let object = try? jsonObject() as? [String: Any], let error = object["error"] as? [String: Any],
                  let message = error["message"] as? String, let type = error["type"] as? String else { return nil }
            return (message, type)
        }
    }

    /// Sends one request on a new connection (`Connection: close`, `Content-Length` of `body` unless `headers` has
    /// `Content-Length` or `Transfer-Encoding`) and reads the whole response.
    ///
    /// - Throws: `Failure.connection` when the connection fails or is closed before a whole response head arrives,
    ///   `.timeout` when nothing arrives for `timeout` seconds.
    public func request(_ method: String, _ path: String, headers: [String: String] = [:], body: Data? = nil,
                        timeout: TimeInterval = 30) throws -> Response {
        let connection = try Connection(port: port, timeout: timeout)
        defer { connection.close() }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        let names = Set(headers.keys.map { $0.lowercased() })
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        if !names.contains("content-length") && !names.contains("transfer-encoding") && (body != nil || method == "POST") {
            head += "Content-Length: \(body?.count ?? 0)\r\n"
        }
        head += "\r\n"
        try connection.send(Data(head.utf8) + (body ?? Data()))
        return try connection.readResponse()
    }

    /// `request` with a JSON body (`Content-Type: application/json`).
    public func postJSON(_ path: String, _ json: String, headers: [String: String] = [:],
                         timeout: TimeInterval = 30) throws -> Response {
        var headers = headers
        headers["Content-Type"] = "application/json"
        return try request("POST", path, headers: headers, body: Data(json.utf8), timeout: timeout)
    }

    /// A new raw connection to the server, for tests that send bytes slowly or leave a request unfinished.
    public func connect(timeout: TimeInterval = 30) throws -> Connection { try Connection(port: port, timeout: timeout) }

    /// A TCP connection to 127.0.0.1 with send and receive timeouts.
    public final class Connection: @unchecked Sendable {
        public let fd: Int32
        private var buffered = Data()
        private var isClosed = false

        public init(port: Int, timeout: TimeInterval = 30) throws {
            #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
            #endif
            guard fd >= 0 else { throw Failure.connection("socket: errno \(errno)") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                let code = errno
                Glibc.close(fd)
                throw Failure.connection("connect to 127.0.0.1:\(port): errno \(code)")
            }
            var interval = timeval(tv_sec: Int(timeout), tv_usec: .init((timeout - timeout.rounded(.down)) * 1_000_000))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
            self.fd = fd
        }

        deinit { close() }

        public func close() {
            guard !isClosed else { return }
            isClosed = true
            Glibc.close(fd)
        }

        /// Sends all of `data`. - Throws: `Failure.connection` when the peer has closed or reset the connection.
        public func send(_ data: Data) throws {
            var offset = 0
            while offset < data.count {
                let n = data[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { throw Failure.connection("send: errno \(errno)") }
                offset += n
            }
        }

        public func send(_ text: String) throws { try send(Data(text.utf8)) }

        /// The next bytes from the peer; empty at end of stream (or a reset).
        /// - Throws: `Failure.timeout` when nothing arrives within the connection's timeout.
        public func receive() throws -> Data {
            if !buffered.isEmpty {
                defer { buffered = Data() }
                return buffered
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = recv(fd, &chunk, chunk.count, 0)
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { throw Failure.timeout("no data from the server", stdout: "", stderr: "") }
                return Data()  // ECONNRESET and the like: the server closed the connection
            }
            return Data(chunk[0..<n])
        }

        /// Reads until the peer closes the connection (or a receive times out) and returns all bytes.
        public func readToEnd() throws -> Data {
            var all = Data()
            while true {
                let data = try receive()
                if data.isEmpty { return all }
                all += data
            }
        }

        /// Whether the peer closes the connection within `timeout` seconds (bytes it sends meanwhile are dropped).
        public func closedByPeer(within timeout: TimeInterval) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&pfd, 1, Int32(max(1, min(100, deadline.timeIntervalSinceNow * 1000))))
                guard ready > 0 else { continue }
                var chunk = [UInt8](repeating: 0, count: 65536)
                let n = recv(fd, &chunk, chunk.count, Int32(MSG_DONTWAIT))
                if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { return true }
                if n > 0 { buffered += chunk[0..<n] }
            }
            return false
        }

        /// Reads one response (by `Content-Length`, chunked encoding, or to the end of the stream).
        public func readResponse() throws -> Response {
            var data = Data()
            let separator = Data("\r\n\r\n".utf8)
            var headEnd: Range<Data.Index>?
            while headEnd == nil {
                let more = try receive()
                if more.isEmpty {
                    throw Failure.connection("the server closed the connection before a whole response head (\(data.count) bytes)")
                }
                data += more
                headEnd = data.range(of: separator)
            }
            let headText = String(decoding: data[..<headEnd!.lowerBound], as: UTF8.self)
            var rest = Data(data[headEnd!.upperBound...])
            var lines = headText.components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst().split(separator: " ")
            guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
                throw Failure.connection("not an HTTP status line: \(headText.prefix(100))")
            }
            var headers: [String: String] = [:]
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = line[..<colon].lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                headers[name] = headers[name].map { $0 + ", " + value } ?? value
            }
            var body = Data()
            if let length = headers["content-length"].flatMap(Int.init) {
                while rest.count < length {
                    let more = try receive()
                    if more.isEmpty { break }
                    rest += more
                }
                body = rest.prefix(length)
                buffered = rest.count > length ? Data(rest[(rest.startIndex + length)...]) : Data()
            } else if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
                body = try readChunked(&rest)
            } else {
                body = rest + (try readToEnd())
            }
            return Response(status: status, headers: headers, body: body)
        }

        private func readChunked(_ data: inout Data) throws -> Data {
            var body = Data()
            while true {
                while data.range(of: Data("\r\n".utf8)) == nil {
                    let more = try receive()
                    if more.isEmpty { return body }
                    data += more
                }
                let lineEnd = data.range(of: Data("\r\n".utf8))!
                let sizeText = String(decoding: data[..<lineEnd.lowerBound], as: UTF8.self)
                    .split(separator: ";").first.map(String.init) ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                    throw Failure.connection("bad chunk size \(sizeText)")
                }
                data = Data(data[lineEnd.upperBound...])
                while data.count < size + 2 {
                    let more = try receive()
                    if more.isEmpty { return body + data }
                    data += more
                }
                if size == 0 { return body }
                body += data.prefix(size)
                data = Data(data[(data.startIndex + size + 2)...])
            }
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case exited(status: Int32, stdout: String, stderr: String)
        case timeout(String, stdout: String, stderr: String)
        case connection(String)

        public var description: String {
            switch self {
            case .exited(let status, let stdout, let stderr):
                return "the server exited with status \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)"
            case .timeout(let what, let stdout, let stderr):
                return "timeout: \(what)\nstdout:\n\(stdout)\nstderr:\n\(stderr)"
            case .connection(let what):
                return what
            }
        }
    }
}

/// Reads a file handle (a pipe) on a thread of its own until end of file, keeping everything read.
final class OutputCollector: @unchecked Sendable {
    private let condition = NSCondition()
    private var data = Data()
    private(set) var ended = false

    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            while true {
                let chunk = handle.availableData
                condition.lock()
                if chunk.isEmpty { ended = true } else { data += chunk }
                condition.broadcast()
                condition.unlock()
                if chunk.isEmpty { return }
            }
        }
        thread.start()
    }

    var text: String {
        condition.lock()
        defer { condition.unlock() }
        return String(decoding: data, as: UTF8.self)
    }

    /// Waits until more is read, the end is reached, or `deadline`.
    func waitForMore(until deadline: Date) {
        condition.lock()
        defer { condition.unlock() }
        let count = data.count
        while data.count == count && !ended && Date() < deadline {
            _ = condition.wait(until: deadline)
        }
    }

    /// Waits (at most 10 s) for the end of file.
    func waitForEnd() {
        let deadline = Date().addingTimeInterval(10)
        condition.lock()
        defer { condition.unlock() }
        while !ended && Date() < deadline { _ = condition.wait(until: deadline) }
    }
}
