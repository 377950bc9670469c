import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import TestSupport
import ImageIndex
import ZeroShot
@testable import ZeroShotServer

/// The committed fixtures (Tests/Fixtures), located from this source file.
let serverFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

func fixtureModel(_ name: String) -> URL { serverFixtures.appendingPathComponent("models/\(name)") }
func pipelineImage(_ name: String) -> URL { serverFixtures.appendingPathComponent("pipeline/images/\(name)") }

/// A server of the inference routes on 127.0.0.1 with a fixture model, for the tests of the routes.
///
/// By default a real `zeroshot serve --port 0 --model DIR` process (`ServerProcess`), the configuration given as
/// its flags; one per key, started on first use and stopped by `stopAll()` (each test class's `tearDown`).
/// `inProcess: true` serves `APIRoutes` from a Hummingbird application in the test process instead, with a
/// `ServerState` made here: for states the command refuses to start with (an index of another model). Requests go
/// over loopback HTTP with timeouts, so nothing can hang a test.
final class PayloadServer: @unchecked Sendable {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> Any { try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }
        /// `error.message` of a JSON error body.
        var errorMessage: String? {
            ((try? json()) as? [String: Any]).flatMap { $0["error"] as? [String: Any] }?["message"] as? String
        }
        var errorType: String? {
            ((try? json()) as? [String: Any]).flatMap { $0["error"] as? [String: Any] }?["type"] as? String
        }
    }

    let port: Int
    let model: String
    private let process: ServerProcess?
    private let task: Task<Void, Error>?

    private static let lock = NSLock()
    nonisolated(unsafe) private static var running: [String: PayloadServer] = [:]

    /// One server per `key` (started on first use, until `stopAll`).
    static func shared(_ key: String, model: String, index: String? = nil, inProcess: Bool = false,
                       configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> PayloadServer {
        try lock.withLock {
            if let server = running[key] { return server }
            let server = try PayloadServer(model: model, index: index, inProcess: inProcess, configure: configure)
            running[key] = server
            return server
        }
    }

    /// Stops every server process `shared` started (SIGTERM) and forgets every server.
    static func stopAll() {
        let servers = lock.withLock {
            defer { running = [:] }
            return Array(running.values)
        }
        for server in servers { server.stop() }
    }

    /// Stops a server process (SIGTERM). An in-process server is left to end with the test process: cancelling
    /// its task only makes Hummingbird log errors about the interrupted listener.
    func stop() {
        process?.stop()
    }

    /// A classifier of the served model in the test process (for comparisons), loaded once per model.
    var classifier: ZeroShotClassifier {
        get throws {
            try Self.lock.withLock {
                if let loaded = Self.classifiers[model] { return loaded }
                let loaded = try ZeroShotClassifier(directory: fixtureModel(model), options: .init(warn: { _ in }))
                Self.classifiers[model] = loaded
                return loaded
            }
        }
    }
    nonisolated(unsafe) private static var classifiers: [String: ZeroShotClassifier] = [:]

    init(model: String, index: String?, inProcess: Bool, configure: (inout ServerConfiguration) -> Void) throws {
        self.model = model
        var configuration = ServerConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.model = fixtureModel(model).path
        configuration.indexPath = index
        configure(&configuration)
        guard inProcess else {
            let defaults = ServerConfiguration()
            var arguments = ["--model", fixtureModel(model).path]
            if let index { arguments += ["--db", index] }
            if configuration.allowURLs { arguments.append("--allow-urls") }
            if configuration.maxPixels != defaults.maxPixels { arguments += ["--max-pixels", "\(configuration.maxPixels)"] }
            if configuration.maxBodyBytes != defaults.maxBodyBytes { arguments += ["--max-body-bytes", "\(configuration.maxBodyBytes)"] }
            if configuration.maxLabels != defaults.maxLabels { arguments += ["--max-labels", "\(configuration.maxLabels)"] }
            let process = try ServerProcess.start(arguments)
            self.process = process
            self.task = nil
            self.port = process.port
            return
        }
        let classifier = try ZeroShotClassifier(
            directory: fixtureModel(model),
            options: .init(maxPixels: configuration.maxPixels, batchSize: configuration.maxBatch, warn: { _ in }))
        let engine = InferenceEngine(classifier: classifier, maxBatch: configuration.maxBatch,
                                     maxBatchWait: configuration.maxBatchWait, maxQueue: configuration.maxQueue)
        let imageIndex = try index.map { try ImageIndex(path: $0, create: false, readOnly: true) }
        let state = ServerState(configuration: configuration, engine: engine, index: imageIndex, modelName: model)
        let router = Router()
        APIRoutes.register(on: router, state: { state })
        let bound = BoundPort()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in bound.set(channel.localAddress?.port ?? -1) })
        let task = Task { try await app.runService() }
        guard let port = bound.wait(seconds: 30), port > 0 else {
            task.cancel()
            throw NSError(domain: "PayloadServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "the server did not start"])
        }
        self.process = nil
        self.task = task
        self.port = port
    }

    /// Sends a request and waits for the whole response.
    func request(_ method: String, _ path: String, headers: [String: String] = [:], body: Data? = nil) throws -> Response {
        if let process {
            let response = try process.request(method, path, headers: headers, body: body, timeout: 60)
            return Response(status: response.status, headers: response.headers, body: response.body)
        }
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 60
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        let session = URLSession(configuration: .ephemeral, delegate: NoRedirects(), delegateQueue: nil)
        session.dataTask(with: request) { data, response, error in
            box.value = (data, response as? HTTPURLResponse, error)
            done.signal()
        }.resume()
        guard done.wait(timeout: .now() + 90) == .success, let (data, response, error) = box.value else {
            throw NSError(domain: "PayloadServer", code: 2, userInfo: [NSLocalizedDescriptionKey: "no response in 90 s"])
        }
        session.finishTasksAndInvalidate()
        if let error { throw error }
        guard let response else { throw NSError(domain: "PayloadServer", code: 3) }
        var fields: [String: String] = [:]
        for (name, value) in response.allHeaderFields {
            fields[String(describing: name).lowercased()] = String(describing: value)
        }
        return Response(status: response.statusCode, headers: fields, body: data ?? Data())
    }

    func postJSON(_ path: String, _ object: Any) throws -> Response {
        try request("POST", path, headers: ["Content-Type": "application/json"],
                    body: try JSONSerialization.data(withJSONObject: object, options: [.fragmentsAllowed]))
    }

    func postText(_ path: String, _ text: String, contentType: String = "application/json") throws -> Response {
        try request("POST", path, headers: ["Content-Type": contentType], body: Data(text.utf8))
    }

    /// A `multipart/form-data` POST of `fields` (name, value) and files (name, filename, bytes).
    func postForm(_ path: String, fields: [(String, String)], files: [(String, String, Data)]) throws -> Response {
        let boundary = "----zeroshot-test-boundary-7MA4YWxkTrZu0gW"
        var body = Data()
        for (name, value) in fields {
            body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        for (name, filename, bytes) in files {
            body += Data(("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\n"
                          + "Content-Type: application/octet-stream\r\n\r\n").utf8)
            body += bytes + Data("\r\n".utf8)
        }
        body += Data("--\(boundary)--\r\n".utf8)
        return try request("POST", path, headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"], body: body)
    }
}

private final class ResultBox: @unchecked Sendable {
    var value: (Data?, HTTPURLResponse?, Error?)?
}

private final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}

private final class BoundPort: @unchecked Sendable {
    private let condition = NSCondition()
    private var port: Int?

    func set(_ value: Int) {
        condition.lock()
        port = value
        condition.broadcast()
        condition.unlock()
    }

    func wait(seconds: TimeInterval) -> Int? {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while port == nil && Date() < deadline { _ = condition.wait(until: deadline) }
        return port
    }
}
