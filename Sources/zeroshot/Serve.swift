import ArgumentParser
import Dispatch
import Foundation
import Logging
import ZeroShot
import ZeroShotServer

struct Serve: CheckedCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve zero-shot classification, embeddings and index search over HTTP.",
        discussion: """
            Routes: POST /v1/zero-shot-image-classification (the Hugging Face Inference API shape, or \
            multipart/form-data), POST /v1/embeddings (the OpenAI shape, text or images), POST /v1/search (with \
            --db), GET /v1/info, GET / (a page to try it), GET /openapi.yaml, GET /healthz (the process is up), \
            GET /readyz (the model is loaded), GET /metrics (Prometheus text). Errors are JSON: \
            {"error": {"message", "type"}}.

            The server listens first and loads the model in the background: /readyz answers 503 until it is loaded. \
            A model that cannot be loaded ends the server with its error (exit status 1). SIGTERM or SIGINT stops \
            accepting connections, lets in-flight requests finish (at most --shutdown-grace seconds) and exits 0. \
            Each request is logged as one JSON line on standard output (method, route, status, duration_ms, \
            batch_size); ZEROSHOT_LOG_LEVEL (trace, debug, info, notice, warning, error, critical; default info) \
            sets the level.

            Every option can also be given by its environment variable (the option wins): ZEROSHOT_HOST, \
            ZEROSHOT_PORT, ZEROSHOT_MODEL, ZEROSHOT_DB, ZEROSHOT_PRECISION, ZEROSHOT_THREADS, ZEROSHOT_MAX_BATCH, \
            ZEROSHOT_MAX_BATCH_WAIT_MS, ZEROSHOT_MAX_QUEUE, ZEROSHOT_MAX_BODY_BYTES, ZEROSHOT_MAX_PIXELS, \
            ZEROSHOT_MAX_LABELS, ZEROSHOT_API_KEY, ZEROSHOT_ALLOW_URLS (1/true/yes or 0/false/no), \
            ZEROSHOT_REQUEST_TIMEOUT, ZEROSHOT_IDLE_TIMEOUT, ZEROSHOT_SHUTDOWN_GRACE; ZEROSHOT_CACHE as for \
            --text-cache. A bad value is a usage error that names the variable.

            EXAMPLES:
              zeroshot serve
              zeroshot serve --model google/siglip-base-patch16-224 --port 9000
              zeroshot serve --host 0.0.0.0 --db photos.db --api-key "$KEY"
              ZEROSHOT_HOST=0.0.0.0 ZEROSHOT_PORT=8080 ZEROSHOT_MAX_BATCH=32 zeroshot serve
              curl -s -F image=@cat.jpg -F candidate_labels=cat,dog \\
                localhost:8080/v1/zero-shot-image-classification
            """
    )

    @OptionGroup var model: ModelChoice
    @OptionGroup var textCacheOptions: TextCacheOptions

    @Option(name: .long, help: ArgumentHelp("Address to bind (default 127.0.0.1; 0.0.0.0 for every interface).", valueName: "host"))
    var host: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("TCP port (default 8080; 0: any free port, logged).", valueName: "port"))
    var port: Int?

    @Option(name: .long, help: ArgumentHelp("A photo index (zeroshot index) for POST /v1/search; its model is served unless --model is given (then it must be the same).", valueName: "path"))
    var db: String?

    @Option(name: .long, help: ArgumentHelp(
        "fp32 (default: transformers' numbers) or int8 (encoder linear layers quantized at load: faster, approximate).",
        valueName: "precision"))
    var precision: Precision?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp(
        "Threads for inference (default: all cores; at most 4 per core or 64, whichever is more).", valueName: "N"))
    var threads: Int?

    @Option(name: .customLong("max-batch"), parsing: .unconditional, help: ArgumentHelp(
        "Most images per image-tower call when concurrent requests are batched (default 16).", valueName: "N"))
    var maxBatch: Int?

    @Option(name: .customLong("max-batch-wait-ms"), parsing: .unconditional, help: ArgumentHelp(
        "Longest wait in milliseconds for more images once one is queued (default 5).", valueName: "ms"))
    var maxBatchWaitMilliseconds: Int?

    @Option(name: .customLong("max-queue"), parsing: .unconditional, help: ArgumentHelp(
        "Most requests waiting for inference; one more gets 503 with Retry-After (default 128).", valueName: "N"))
    var maxQueue: Int?

    @Option(name: .customLong("max-body-bytes"), parsing: .unconditional, help: ArgumentHelp(
        "Largest request body; a larger one gets 413 (default 20000000).", valueName: "bytes"))
    var maxBodyBytes: Int?

    @Option(name: .customLong("max-pixels"), parsing: .unconditional, help: ArgumentHelp(
        "Reject images with more pixels than this with 413 (default 50000000, below the command line's Pillow threshold).",
        valueName: "pixels"))
    var maxPixels: Int?

    @Option(name: .customLong("max-labels"), parsing: .unconditional, help: ArgumentHelp(
        "Most candidate labels or embedding inputs in one request; more gets 422 (default 1000).", valueName: "N"))
    var maxLabels: Int?

    @Option(name: .customLong("api-key"), help: ArgumentHelp(
        "Require Authorization: Bearer KEY on every route but /, /healthz and /readyz (else 401).", valueName: "key"))
    var apiKey: String?

    @Flag(name: .customLong("allow-urls"), inversion: .prefixedNo, help: ArgumentHelp(
        "Accept http(s) image URLs, fetched by the server (default off: 400, no server-side request forgery)."))
    var allowURLs: Bool?

    @Option(name: .customLong("request-timeout"), parsing: .unconditional, help: ArgumentHelp(
        "Seconds to receive a whole request (headers and body) from its first byte; a slower client is cut off (default 30).",
        valueName: "seconds"))
    var requestTimeout: Double?

    @Option(name: .customLong("idle-timeout"), parsing: .unconditional, help: ArgumentHelp(
        "Seconds after which an idle keep-alive connection is closed (default 60).", valueName: "seconds"))
    var idleTimeout: Double?

    @Option(name: .customLong("shutdown-grace"), parsing: .unconditional, help: ArgumentHelp(
        "On SIGTERM/SIGINT, seconds to let in-flight requests finish (default 30).", valueName: "seconds"))
    var shutdownGrace: Double?

    func check() throws {
        _ = try serverConfiguration(ProcessInfo.processInfo.environment)
        _ = try logLevel(ProcessInfo.processInfo.environment)
    }

    /// The configuration of the options, else their ZEROSHOT_* variables in `environment`, else the defaults.
    ///
    /// - Throws: `ValidationError` naming the option or the variable, for a value that cannot be read or is out of
    ///   range.
    func serverConfiguration(_ environment: [String: String]) throws -> ServerConfiguration {
        try textCacheOptions.check()
        let env = EnvironmentOptions(environment)
        var configuration = ServerConfiguration()
        configuration.host = try env.value(host, "--host", "ZEROSHOT_HOST", default: configuration.host) { $0.isEmpty ? nil : $0 }
        configuration.port = try env.integer(port, "--port", "ZEROSHOT_PORT", 0...65535, default: configuration.port)
        configuration.model = model.model
        configuration.indexPath = db ?? env.text("ZEROSHOT_DB")
        configuration.precision = try env.value(precision, "--precision", "ZEROSHOT_PRECISION",
                                                default: configuration.precision) { Precision(argument: $0) }
        if let threads = try env.optionalInteger(threads, "--threads", "ZEROSHOT_THREADS", 1...ComputeThreads.maximum) {
            configuration.threads = threads
        }
        configuration.maxBatch = try env.integer(maxBatch, "--max-batch", "ZEROSHOT_MAX_BATCH", 1...4096, default: configuration.maxBatch)
        configuration.maxBatchWait = .milliseconds(try env.integer(
            maxBatchWaitMilliseconds, "--max-batch-wait-ms", "ZEROSHOT_MAX_BATCH_WAIT_MS", 0...60_000, default: 5))
        configuration.maxQueue = try env.integer(maxQueue, "--max-queue", "ZEROSHOT_MAX_QUEUE", 1...Int.max, default: configuration.maxQueue)
        configuration.maxBodyBytes = try env.integer(maxBodyBytes, "--max-body-bytes", "ZEROSHOT_MAX_BODY_BYTES", 1...Int.max,
                                                     default: configuration.maxBodyBytes)
        configuration.maxPixels = try env.integer(maxPixels, "--max-pixels", "ZEROSHOT_MAX_PIXELS", 1...Int.max,
                                                  default: configuration.maxPixels)
        configuration.maxLabels = try env.integer(maxLabels, "--max-labels", "ZEROSHOT_MAX_LABELS", 1...Int.max,
                                                  default: configuration.maxLabels)
        configuration.apiKey = apiKey ?? environment["ZEROSHOT_API_KEY"]
        if configuration.apiKey?.isEmpty == true {
            throw ValidationError(apiKey != nil ? "--api-key needs a key" : "ZEROSHOT_API_KEY is empty: unset it or give a key")
        }
        configuration.allowURLs = try env.value(allowURLs, "--allow-urls", "ZEROSHOT_ALLOW_URLS", default: false) {
            switch $0.lowercased() {
            case "1", "true", "yes": return true
            case "0", "false", "no": return false
            default: return nil
            }
        }
        configuration.requestTimeout = try env.seconds(requestTimeout, "--request-timeout", "ZEROSHOT_REQUEST_TIMEOUT",
                                                       default: configuration.requestTimeout)
        configuration.idleTimeout = try env.seconds(idleTimeout, "--idle-timeout", "ZEROSHOT_IDLE_TIMEOUT",
                                                    default: configuration.idleTimeout)
        configuration.shutdownGracePeriod = try env.seconds(shutdownGrace, "--shutdown-grace", "ZEROSHOT_SHUTDOWN_GRACE",
                                                            default: configuration.shutdownGracePeriod, allowZero: true)
        configuration.textEmbeddingCache = textCacheOptions.directory
        return configuration
    }

    /// ZEROSHOT_LOG_LEVEL, default info.
    func logLevel(_ environment: [String: String]) throws -> Logger.Level {
        guard let text = environment["ZEROSHOT_LOG_LEVEL"], !text.isEmpty else { return .info }
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw ValidationError("ZEROSHOT_LOG_LEVEL=\(text): give one of "
                                  + Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return level
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration = try serverConfiguration(environment)
        let logger = ZeroShotServer.makeLogger(level: try logLevel(environment))
        let done = DispatchSemaphore(value: 0)
        let result = LockedResult()
        Task {
            do { try await ZeroShotServer.run(configuration, logger: logger) } catch { result.error = error }
            done.signal()
        }
        done.wait()
        if let error = result.error { throw error }
    }
}

/// Reads an option's value, else its environment variable's, else a default; a bad variable is a
/// `ValidationError` naming it.
struct EnvironmentOptions {
    let environment: [String: String]

    init(_ environment: [String: String]) { self.environment = environment }

    /// `given`, else the variable `name` read by `parse` (nil: a bad value), else `fallback`. An empty variable
    /// counts as unset.
    func value<T>(_ given: T?, _ option: String, _ name: String, default fallback: T,
                  parse: (String) -> T?) throws -> T {
        if let given { return given }
        guard let text = environment[name], !text.isEmpty else { return fallback }
        guard let value = parse(text) else { throw ValidationError("\(name)=\(text): not a valid value for \(option)") }
        return value
    }

    /// The variable `name`, nil when unset or empty.
    func text(_ name: String) -> String? {
        guard let text = environment[name], !text.isEmpty else { return nil }
        return text
    }

    func integer(_ given: Int?, _ option: String, _ name: String, _ range: ClosedRange<Int>, default fallback: Int) throws -> Int {
        try optionalInteger(given, option, name, range) ?? fallback
    }

    func optionalInteger(_ given: Int?, _ option: String, _ name: String, _ range: ClosedRange<Int>) throws -> Int? {
        if let given {
            try checkRange(option, given, range)
            return given
        }
        guard let text = environment[name], !text.isEmpty else { return nil }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw ValidationError("\(name)=\(text): not a whole number (\(option))")
        }
        do { try checkRange(name, value, range) } catch { throw ValidationError("\(name)=\(text): \(Self.rangeText(range)) (\(option))") }
        return value
    }

    func seconds(_ given: Double?, _ option: String, _ name: String, default fallback: Duration,
                 allowZero: Bool = false) throws -> Duration {
        let valid: (Double) -> Bool = { $0.isFinite && ($0 > 0 || allowZero && $0 == 0) && $0 <= 86_400 * 365 }
        let need = allowZero ? "give a number of seconds of at least 0" : "give a number of seconds greater than 0"
        if let given {
            guard valid(given) else { throw ValidationError("\(option) \(given) is out of range: \(need)") }
            return .milliseconds(Int64((given * 1000).rounded()))
        }
        guard let text = environment[name], !text.isEmpty else { return fallback }
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), valid(value) else {
            throw ValidationError("\(name)=\(text): \(need) (\(option))")
        }
        return .milliseconds(Int64((value * 1000).rounded()))
    }

    static func rangeText(_ range: ClosedRange<Int>) -> String {
        range.upperBound == Int.max ? "give a number of at least \(range.lowerBound)"
            : "give a number from \(range.lowerBound) to \(range.upperBound)"
    }
}

/// The outcome of the server task, read by the blocked main thread once the task has signalled.
private final class LockedResult: @unchecked Sendable {
    var error: Error?
}
