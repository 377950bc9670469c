import Foundation
import Logging

/// A swift-log `LogHandler` that writes one JSON object per line to standard output:
/// `{"time": ISO 8601 UTC with milliseconds, "level", "msg", ...metadata}`.
///
/// Metadata keys become members after `time`, `level` and `msg` (sorted by key); a value given as
/// `.stringConvertible` of an integer, a floating-point number or a Bool is written as a JSON number or boolean,
/// every other value as a JSON string (arrays and dictionaries as JSON arrays and objects).
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let write: @Sendable (String) -> Void

    /// `write` receives each line with its newline (default: standard output, flushed at once).
    public init(level: Logger.Level = .info, write: @escaping @Sendable (String) -> Void = JSONLogHandler.standardOutput) {
        self.logLevel = level
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        log(level: event.level, message: event.message, metadata: event.metadata, source: event.source,
            file: event.file, function: event.function, line: event.line)
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
                    source: String, file: String, function: String, line: UInt) {
        var merged = metadata
        if let explicit { merged.merge(explicit) { _, new in new } }
        var text = "{\"time\":\(Self.string(Self.timestamp(Date()))),\"level\":\(Self.string(level.rawValue)),\"msg\":\(Self.string(message.description))"
        for key in merged.keys.sorted() where !["time", "level", "msg"].contains(key) {
            text += ",\(Self.string(key)):\(Self.json(merged[key]!))"
        }
        text += "}\n"
        write(text)
    }

    /// The JSON text of a metadata value.
    static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string):
            return Self.string(string)
        case .stringConvertible(let convertible):
            switch convertible {
            case let value as Bool: return value ? "true" : "false"
            case let value as any BinaryInteger: return "\(value)"
            case let value as Double where value.isFinite: return "\(value)"
            case let value as Float where value.isFinite: return "\(value)"
            default: return Self.string(convertible.description)
            }
        case .array(let values):
            return "[" + values.map(json).joined(separator: ",") + "]"
        case .dictionary(let values):
            return "{" + values.keys.sorted().map { "\(Self.string($0)):\(json(values[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!))
    }

    /// A JSON string literal of `text` (slashes not escaped: paths and routes read as they are).
    static func string(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let data = (try? encoder.encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    private static let lock = NSLock()

    /// Writes a line to standard output, unbuffered (one line at a time across threads; a closed output is ignored).
    public static let standardOutput: @Sendable (String) -> Void = { line in
        lock.withLock {
            try? FileHandle.standardOutput.write(contentsOf: Data(line.utf8))
        }
    }
}

extension ZeroShotServer {
    /// The server's logger: JSON lines on standard output (`JSONLogHandler`) at `level`.
    public static func makeLogger(level: Logger.Level = .info) -> Logger {
        var logger = Logger(label: "zeroshot") { _ in JSONLogHandler(level: level) }
        logger.logLevel = level
        return logger
    }
}
