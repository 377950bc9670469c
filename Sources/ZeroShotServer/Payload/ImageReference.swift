import Foundation
import Hub

/// Where an image of a request comes from: the bytes themselves (base64, a `data:` URI, a file part), or an http(s)
/// URL the server fetches (only with `--allow-urls`).
enum ImageReference: Sendable, Equatable {
    case bytes(Data)
    case url(URL)

    /// Which spellings a field takes.
    enum Accepts {
        /// Raw base64, a `data:` URI, or an http(s) URL (`inputs` of the Inference API, `image` of search).
        case base64DataURIOrURL
        /// A `data:` URI or an http(s) URL only (the embeddings API's image inputs, where a bare string is text).
        case dataURIOrURL
    }

    /// Reads `text`, the value of the request field `field`.
    ///
    /// - Raw base64: the standard alphabet (`+/`) or the URL-safe one (`-_`), `=` padding optional, ASCII whitespace
    ///   (spaces, tabs, line breaks) anywhere ignored. Stricter than Python's `base64.b64decode`, which drops any
    ///   character outside the alphabet without a word: here such a character is an error naming it and its
    ///   position.
    /// - `data:[<media type>][;base64],<data>` (RFC 2397): base64 as above, or percent-encoded bytes without
    ///   `;base64`. The media type is not trusted: the image is recognised by its bytes.
    /// - `http://` or `https://` URLs only when `allowURLs` (`--allow-urls`); otherwise refused (no server-side
    ///   request forgery).
    ///
    /// - Throws: `ServerError` 400 naming `field` for bad base64, a malformed `data:` URI or URL, a URL without
    ///   `--allow-urls`; 422 for an empty value or, with `.dataURIOrURL`, a string of another kind.
    static func parse(_ text: String, field: String, accepts: Accepts, allowURLs: Bool) throws -> ImageReference {
        let trimmed = trimmingWhitespace(text)
        guard !trimmed.isEmpty else {
            throw ServerError.invalidField(field, "empty; give the image as "
                                           + (accepts == .dataURIOrURL ? "a data: URI" : "base64 or a data: URI"))
        }
        if trimmed.prefix(5).lowercased() == "data:" {
            return .bytes(try dataURI(trimmed, field: field))
        }
        if RemoteFile.isRemote(trimmed) {
            guard allowURLs else {
                throw ServerError.badRequest("\(field): image URLs are fetched only when the server runs with --allow-urls "
                                             + "(ZEROSHOT_ALLOW_URLS=1); send the image itself as base64 or a data: URI")
            }
            guard let url = URL(string: trimmed), url.host?.isEmpty == false else {
                throw ServerError.badRequest("\(field): not a valid URL")
            }
            return .url(url)
        }
        switch accepts {
        case .dataURIOrURL:
            throw ServerError.invalidField(field, "an image input must be a data: URI (data:image/png;base64,...)"
                                           + (allowURLs ? " or an http(s) URL" : ""))
        case .base64DataURIOrURL:
            do {
                return .bytes(try Base64.decode(trimmed))
            } catch {
                throw ServerError.badRequest("\(field): not valid base64 (\(error.reason)); send the image as base64, "
                                             + "a data: URI" + (allowURLs ? " or an http(s) URL" : ""))
            }
        }
    }

    /// `text` without leading and trailing Unicode White_Space, scalar by scalar (Foundation's
    /// `trimmingCharacters(in:)` goes through UTF-16 on Linux: a tenth of the server's time with 200 kB images).
    static func trimmingWhitespace(_ text: String) -> String {
        let scalars = text.unicodeScalars
        var start = scalars.startIndex, end = scalars.endIndex
        while start < end, scalars[start].properties.isWhitespace { start = scalars.index(after: start) }
        while end > start, scalars[scalars.index(before: end)].properties.isWhitespace { end = scalars.index(before: end) }
        if start == scalars.startIndex && end == scalars.endIndex { return text }
        return String(scalars[start..<end])
    }

    /// The bytes of a `data:` URI.
    static func dataURI(_ text: String, field: String) throws -> Data {
        guard let comma = text.firstIndex(of: ",") else {
            throw ServerError.badRequest("\(field): a data: URI needs a comma before its data (data:image/png;base64,...)")
        }
        let header = text[text.index(text.startIndex, offsetBy: 5)..<comma]
        let payload = text[text.index(after: comma)...]
        let isBase64 = header.split(separator: ";").last.map { $0.trimmingCharacters(in: .whitespaces).lowercased() == "base64" } ?? false
        if isBase64 {
            do {
                return try Base64.decode(String(payload))
            } catch {
                throw ServerError.badRequest("\(field): the data: URI's base64 is not valid (\(error.reason))")
            }
        }
        guard let bytes = percentDecoded(payload) else {
            throw ServerError.badRequest("\(field): the data: URI has a malformed percent escape (write %XX with two hex digits)")
        }
        return bytes
    }

    /// RFC 3986 percent-decoding to bytes (any byte values); nil for a `%` not followed by two hex digits.
    static func percentDecoded(_ text: Substring) -> Data? {
        var out = Data()
        var bytes = text.utf8.makeIterator()
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        while let c = bytes.next() {
            if c == UInt8(ascii: "%") {
                guard let h = bytes.next().flatMap(hex), let l = bytes.next().flatMap(hex) else { return nil }
                out.append(h << 4 | l)
            } else {
                out.append(c)
            }
        }
        return out
    }
}

/// Base64 as clients send it: standard or URL-safe alphabet, padding optional, whitespace ignored.
enum Base64 {
    struct Failure: Error, Equatable {
        let reason: String
    }

    /// Decodes `text` (see `ImageReference.parse` for what is accepted).
    ///
    /// - Throws: `Failure` naming the first character outside the alphabets and its position (1-based, counted in
    ///   Unicode scalars), padding in the wrong place, or a length that cannot be base64.
    static func decode(_ text: String) throws(Failure) -> Data {
        var normalized: [UInt8] = []
        normalized.reserveCapacity(text.utf8.count + 3)
        var padding = 0
        var position = 0
        for scalar in text.unicodeScalars {
            position += 1
            switch scalar {
            case " ", "\t", "\n", "\r", "\u{0B}", "\u{0C}":
                continue
            case "=":
                padding += 1
                continue
            case "A"..."Z", "a"..."z", "0"..."9", "+", "/":
                guard padding == 0 else {
                    throw Failure(reason: "'=' padding before the end, at character \(position - 1)")
                }
                normalized.append(UInt8(scalar.value))
            case "-":
                guard padding == 0 else { throw Failure(reason: "'=' padding before the end, at character \(position - 1)") }
                normalized.append(UInt8(ascii: "+"))
            case "_":
                guard padding == 0 else { throw Failure(reason: "'=' padding before the end, at character \(position - 1)") }
                normalized.append(UInt8(ascii: "/"))
            default:
                let shown = scalar.value < 0x20 || scalar.value == 0x7F
                    ? "U+" + String(scalar.value, radix: 16, uppercase: true) : "'\(scalar)'"
                throw Failure(reason: "character \(position) is \(shown), which is not base64")
            }
        }
        let count = normalized.count
        guard count > 0 else { throw Failure(reason: "no base64 characters") }
        if count % 4 == 1 {
            throw Failure(reason: "\(count) base64 characters: one too many or too few to make whole bytes")
        }
        let needed = (4 - count % 4) % 4
        if padding > 0 && padding != needed {
            throw Failure(reason: "\(padding) '=' where \(needed) belong after \(count) base64 characters")
        }
        normalized.append(contentsOf: repeatElement(UInt8(ascii: "="), count: needed))
        guard let data = Data(base64Encoded: Data(normalized)) else {
            throw Failure(reason: "the last character has bits set past the end of the data")
        }
        return data
    }
}
