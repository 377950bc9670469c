import Foundation
import Hummingbird
import NIOCore

/// Reading request bodies: the bytes (bounded by `--max-body-bytes`) and JSON through `Decodable` types, with every
/// decoding error turned into a `ServerError` that names the field by its path (`parameters.candidate_labels[2]`).
enum RequestPayload {
    /// The whole body, at most `limit` bytes.
    ///
    /// - Throws: `ServerError` 413 when the body is longer than `limit` (`--max-body-bytes`).
    static func collect(_ request: Request, limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw ServerError.tooLarge("the request body is larger than the limit of \(limit) bytes (--max-body-bytes)")
        }
    }

    /// The media type of the request (`Content-Type` without parameters, lowercased), nil without the header.
    static func mediaType(_ request: Request) -> String? {
        guard let value = request.headers[.contentType] else { return nil }
        return value.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    }

    /// Decodes `T` from JSON bytes.
    ///
    /// - Throws: `ServerError` 400 when the body is empty or not JSON (with the parser's reason), 422 when it is JSON
    ///   of the wrong shape: a missing field, a wrong type, a null, or a value a type refuses, each naming the field.
    static func decodeJSON<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        let data = Data(buffer: buffer)
        guard data.contains(where: { !Self.jsonWhitespace.contains($0) }) else {
            throw ServerError.badRequest("the request body is empty; send a JSON object (Content-Type: application/json)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw serverError(error)
        }
    }

    private static let jsonWhitespace: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]

    /// The `ServerError` of a decoding error: 400 for JSON syntax (no field concerned), else 422 naming the field.
    static func serverError(_ error: DecodingError) -> ServerError {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            // Foundation's decoder gives the syntax error's position only in an underlying error, when at all.
            let reason = context.underlyingError.map { ": " + describe($0) } ?? ""
            return .badRequest("the request body is not valid JSON\(reason); send a JSON object "
                               + "(Content-Type: application/json)")
        case .dataCorrupted(let context):
            return .invalidField(fieldPath(context.codingPath), context.debugDescription)
        case .keyNotFound(let key, let context):
            return .invalidField(fieldPath(context.codingPath + [key]), "missing")
        case .valueNotFound(let type, let context):
            return .invalidField(fieldPath(context.codingPath), "null where \(typeName(type)) is expected")
        case .typeMismatch(let type, let context):
            return .invalidField(fieldPath(context.codingPath), "expected \(typeName(type))")
        @unknown default:
            return .badRequest("the request body cannot be read: \(error.localizedDescription)")
        }
    }

    /// A decoding error's underlying reason, without Foundation's wrapping ("Unexpected character 'x' around line 1,
    /// column 2").
    private static func describe(_ error: Error) -> String {
        let nsError = error as NSError
        if let detail = nsError.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
        return "\(error)"
    }

    /// `parameters.candidate_labels[2]`: keys joined with dots, array positions in brackets; "the request body" for
    /// the top level.
    static func fieldPath(_ path: [CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue, key.stringValue == "Index \(index)" || key.stringValue == "\(index)" {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return text.isEmpty ? "the request body" : text
    }

    /// "a string", "an integer", ... for the types the requests use.
    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type: return "an integer"
        case is Bool.Type: return "true or false"
        case is Double.Type, is Float.Type: return "a number"
        case is [String].Type: return "a list of strings"
        case is [Any].Type: return "a list"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array<") { return "a list" }
            if name.hasPrefix("Dictionary<") { return "a JSON object" }
            return "a JSON object"
        }
    }
}

/// A JSON value that is a string or a list of strings (`candidate_labels`, `input`).
enum StringOrList: Decodable, Sendable, Equatable {
    case string(String)
    case list([String])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .string(text)
            return
        }
        if container.decodeNil() {
            throw DecodingError.valueNotFound(String.self, .init(codingPath: decoder.codingPath,
                                                                 debugDescription: "null"))
        }
        do {
            self = .list(try container.decode([String].self))
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.count == decoder.codingPath.count {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "expected a string or a list of strings"))
        }
    }
}

/// A JSON number that must be an integer (`top_k`, `dimensions`). Read through `Double`: Foundation's
/// `JSONDecoder` reports a fraction or an out-of-range number for an `Int` field as a syntax error of the whole body,
/// without naming the field.
struct JSONInteger: Decodable, Sendable, Equatable {
    let value: Int

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let number = try? container.decode(Double.self) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected an integer"))
        }
        guard let value = Int(exactly: number) else {
            let whole = number == number.rounded()
            let shown = whole && abs(number) < 1e300 ? String(format: "%.0f", number) : "\(number)"
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "\(shown) is not an integer" + (whole ? " in range" : "")))
        }
        self.value = value
    }
}
