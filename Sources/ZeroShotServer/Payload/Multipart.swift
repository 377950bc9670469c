import Foundation
import Hummingbird
import MultipartKit
import NIOCore

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

    /// The longest boundary (RFC 2046: 1 to 70 characters).
    static let maxBoundaryLength = 70

    /// Splits `body` by the boundary of `contentType` (`multipart/form-data; boundary=...`).
    ///
    /// - Throws: `ServerError` 400 without a boundary or with one over 70 bytes, for a body MultipartKit cannot parse
    ///   (or would trap on: a header name that is not ASCII), or with no part.
    init(_ body: ByteBuffer, contentType: String) throws {
        guard let boundary = Self.parameter("boundary", of: contentType), !boundary.isEmpty else {
            throw ServerError.badRequest("Content-Type multipart/form-data without a boundary parameter")
        }
        guard boundary.utf8.count <= Self.maxBoundaryLength else {
            throw ServerError.badRequest("the multipart/form-data boundary has \(boundary.utf8.count) bytes, more than the "
                                         + "\(Self.maxBoundaryLength) RFC 2046 allows")
        }
        // MultipartKit 4.7 traps (an array index out of range, stopping the whole server) on a byte of 0x80 or
        // more in a part's header name: such a body is refused before it gets there.
        guard Self.headerNamesAreASCII(body.readableBytesView, boundary: Array("--\(boundary)".utf8)) else {
            throw ServerError.badRequest("the multipart/form-data body is malformed (a part's headers cannot be read)")
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
        // Headers or bytes after the last complete part: the body ends inside a part, without its closing boundary
        // (a truncated upload); its field would otherwise be reported missing.
        guard headers.first == nil, partBody.readableBytes == 0 else {
            let name = headers.first(name: "Content-Disposition").flatMap { Self.parameter("name", of: $0) }
            throw ServerError.badRequest("the multipart/form-data body ends inside a part"
                                         + (name.map { " (\"\($0)\")" } ?? "")
                                         + " before its closing boundary \"--\(boundary)--\": it was cut off")
        }
        self.parts = parts.map { part in
            let disposition = part.headers.first(name: "Content-Disposition") ?? ""
            return Part(name: Self.parameter("name", of: disposition), filename: Self.parameter("filename", of: disposition),
                        body: part.body)
        }
    }

    /// Whether every header name that follows a `delimiter` (`--` and the boundary) line is ASCII: the header
    /// lines after each occurrence of the delimiter and CRLF are read up to their blank line, each name up to its
    /// colon. Every place MultipartKit's parser reads a header name is among them (it starts headers only after
    /// those bytes); a block that is not headers ends at its first byte that cannot be in a name. Linear in the
    /// body: a delimiter inside header lines already read (a line start of that reading) is not read again.
    static func headerNamesAreASCII(_ body: ByteBufferView, boundary delimiter: [UInt8]) -> Bool {
        let bytes = Array(body)
        let cr: UInt8 = 0x0D, lf: UInt8 = 0x0A, colon = UInt8(ascii: ":")
        guard let first = delimiter.first, bytes.count >= delimiter.count else { return true }
        // Where the last reading of header lines stopped; every CR before it ended a line of that reading.
        var readTo = -1
        var i = 0
        while i + delimiter.count <= bytes.count {
            defer { i += 1 }
            guard bytes[i] == first, bytes[i..<(i + delimiter.count)].elementsEqual(delimiter) else { continue }
            var j = i + delimiter.count
            guard j + 1 < bytes.count, bytes[j] == cr, bytes[j + 1] == lf, j >= readTo else { continue }
            j += 2
            lines: while true {
                // A name: up to its colon; a CR first ends the headers.
                var k = j
                while k < bytes.count {
                    let byte = bytes[k]
                    if byte >= 0x80 { return false }
                    if byte == colon && k > j { break }
                    if byte == cr || byte < 0x21 || byte == 0x7F || byte == colon { readTo = k; break lines }
                    k += 1
                }
                // The value: up to CR LF.
                while k < bytes.count && bytes[k] != cr { k += 1 }
                guard k + 1 < bytes.count, bytes[k + 1] == lf else { readTo = k; break }
                j = k + 2
            }
        }
        return true
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
