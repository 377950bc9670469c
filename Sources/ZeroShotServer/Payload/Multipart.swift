import Foundation
import Hummingbird
import MultipartKit

/// `multipart/form-data` bodies (RFC 7578), split into parts by MultipartKit's `MultipartParser`. The parts are read
/// by name here rather than through `FormDataDecoder`, which keeps only the last of several parts with the same
/// name (`candidate_labels` may be repeated).
struct FormData: Sendable {
    struct Part: Sendable {
        /// The `name` of the part's `Content-Disposition` (nil without one).
        let name: String?
        /// The `filename`, for a file part.
        let filename: String?
        let body: ByteBuffer
    }

    let parts: [Part]

    /// Splits `body` by the boundary of `contentType` (`multipart/form-data; boundary=...`).
    ///
    /// - Throws: `ServerError` 400 without a boundary, for a body MultipartKit cannot parse, or with no part.
    init(_ body: ByteBuffer, contentType: String) throws {
        guard let boundary = Self.parameter("boundary", of: contentType), !boundary.isEmpty else {
            throw ServerError.badRequest("Content-Type multipart/form-data without a boundary parameter")
        }
        let parser = MultipartParser(boundary: boundary)
        var parts: [MultipartPart] = []
        var headers = HTTPHeaders()
        var partBody = ByteBuffer()
        parser.onHeader = { name, value in headers.add(name: name, value: value) }
        parser.onBody = { chunk in partBody.writeBuffer(&chunk) }
        parser.onPartComplete = {
            parts.append(MultipartPart(headers: headers, body: partBody))
            headers = HTTPHeaders()
            partBody = ByteBuffer()
        }
        do {
            try parser.execute(body)
        } catch {
            throw ServerError.badRequest("the multipart/form-data body is malformed (a part's headers cannot be read)")
        }
        guard !parts.isEmpty else {
            throw ServerError.badRequest("the multipart/form-data body has no complete part (boundary \"\(boundary)\")")
        }
        self.parts = parts.map { part in
            let disposition = part.headers.first(name: "Content-Disposition") ?? ""
            return Part(name: Self.parameter("name", of: disposition), filename: Self.parameter("filename", of: disposition),
                        body: part.body)
        }
    }

    /// The parts named `name`, in order.
    func parts(named name: String) -> [Part] { parts.filter { $0.name == name } }

    /// The text of the one part named `name`; nil when there is none.
    ///
    /// - Throws: `ServerError` 422 for several such parts or a part that is not UTF-8.
    func text(_ name: String) throws -> String? {
        let found = parts(named: name)
        guard let part = found.first else { return nil }
        guard found.count == 1 else { throw ServerError.invalidField(name, "given \(found.count) times; give it once") }
        return try Self.text(part, field: name)
    }

    /// A part's body as UTF-8 text.
    static func text(_ part: Part, field: String) throws -> String {
        guard let text = String(bytes: part.body.readableBytesView, encoding: .utf8) else {
            throw ServerError.invalidField(field, "not UTF-8 text")
        }
        return text
    }

    /// The value of `key` among the `;`-separated parameters of a header value (quotes removed, `\"` unescaped).
    static func parameter(_ key: String, of value: String) -> String? {
        var rest = Substring(value)
        // Skip the first item (the media type or disposition type).
        guard let semicolon = rest.firstIndex(of: ";") else { return nil }
        rest = rest[rest.index(after: semicolon)...]
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "\t" || $0 == ";" }
            guard let equals = rest.firstIndex(of: "=") else { return nil }
            let name = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: equals)...].drop { $0 == " " || $0 == "\t" }
            var parsed = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                var closed = false
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if escaped { parsed.append(c); escaped = false; continue }
                    if c == "\\" { escaped = true; continue }
                    if c == "\"" { closed = true; break }
                    parsed.append(c)
                }
                if !closed { return name == key ? parsed : nil }
                rest = rest.drop { $0 != ";" }
            } else {
                let end = rest.firstIndex(of: ";") ?? rest.endIndex
                parsed = rest[..<end].trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            if name == key { return parsed }
        }
        return nil
    }
}
