import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import ImageIndex
import ZeroShot
@testable import ZeroShotServer

/// The committed fixtures (Tests/Fixtures), located from this source file.
let serverFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

func fixtureModel(_ name: String) -> URL { serverFixtures.appendingPathComponent("models/\(name)") }
func pipelineImage(_ name: String) -> URL { serverFixtures.appendingPathComponent("pipeline/images/\(name)") }

/// The inference routes served on 127.0.0.1 (an ephemeral port) by a Hummingbird application in the test process,
/// with a fixture model: `APIRoutes.register` with a `ServerState` made as the server makes it. Requests go over
/// loopback HTTP (URLSession); each has a 60 s timeout, so nothing can hang a test.
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
    let state: ServerState
    private let task: Task<Void, Error>

    private static let lock = NSLock()
    nonisolated(unsafe) private static var running: [String: PayloadServer] = [:]

    /// One server per `key` for the whole test run (started on first use).
    static func shared(_ key: String, model: String, index: String? = nil,
                       configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> PayloadServer {
        try lock.withLock {
            if let server = running[key] { return server }
            let server = try PayloadServer(model: model, index: index, configure: configure)
            running[key] = server
            return server
        }
    }

    init(model: String, index: String?, configure: (inout ServerConfiguration) -> Void) throws {
        var configuration = ServerConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.model = fixtureModel(model).path
        configuration.indexPath = index
        configure(&configuration)
        let classifier = try ZeroShotClassifier(
            directory: fixtureModel(model),
            options: .init(maxPixels: configuration.maxPixels, batchSize: configuration.maxBatch, warn: { _ in }))
        let engine = InferenceEngine(classifier: classifier, maxBatch: configuration.maxBatch,
                                     maxBatchWait: configuration.maxBatchWait, maxQueue: configuration.maxQueue)
        let imageIndex = try index.map { try ImageIndex(path: $0, create: false, readOnly: true) }
        let state = ServerState(configuration: configuration, engine: engine, index: imageIndex, modelName: model)
        self.state = state
        let router = Router()
        APIRoutes.register(on: router, state: { state })
        let bound = BoundPort()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in bound.set(channel.localAddress?.port ?? -1) })
        task = Task { try await app.runService() }
        guard let port = bound.wait(seconds: 30), port > 0 else {
            task.cancel()
            throw NSError(domain: "PayloadServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "the server did not start"])
        }
        self.port = port
    }

    /// Sends a request and waits for the whole response.
    func request(_ method: String, _ path: String, headers: [String: String] = [:], body: Data? = nil) throws -> Response {
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
