import Foundation

/// A string compared and hashed by its UTF-8 bytes, as Rust and Python compare strings. Swift's `String` equality
/// is canonical equivalence (`"é" == "e\u{301}"`, `"Å" == "\u{212B}"`), which would merge distinct vocabulary
/// entries and find tokens the reference implementations do not.
public struct ExactString: Hashable, Sendable, CustomStringConvertible {
    public let string: String

    public init(_ string: String) { self.string = string }

    public static func == (a: ExactString, b: ExactString) -> Bool {
        a.string.utf8.elementsEqual(b.string.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        var s = string
        s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    public var description: String { string }
}

/// Reads the `{token: id}` vocabulary of a `tokenizer.json` with its keys exactly as written. (Foundation's JSON
/// parser on Linux builds `[String: Any]` dictionaries, which keep one of two canonically equivalent keys and so
/// lose a token and mis-assign an id.)
enum ExactVocabularyReader {
    /// The entries of `model.vocab` in file order, or nil when it is not an object (a list, or absent).
    /// - Throws: `TokenizerError.invalidContent` naming `path` when the JSON around it is malformed or an id is not
    ///   a non-negative integer.
    static func entries(of data: Data, path: String) throws -> [(String, Int32)]? {
        try data.withUnsafeBytes { raw -> [(String, Int32)]? in
            var s = Scanner(bytes: raw.bindMemory(to: UInt8.self), path: path)
            guard try s.enterObject(key: "model"), try s.enterObject(key: "vocab") else { return nil }
            var entries: [(String, Int32)] = []
            try s.expect(UInt8(ascii: "{"))
            if try s.consume(UInt8(ascii: "}")) { return entries }
            repeat {
                let key = try s.string()
                try s.expect(UInt8(ascii: ":"))
                let id = try s.integer()
                guard id >= 0, id < Int(Int32.max) else {
                    throw s.error("vocabulary id of \"\(key)\" is not a non-negative integer")
                }
                entries.append((key, Int32(id)))
            } while try s.consume(UInt8(ascii: ","))
            try s.expect(UInt8(ascii: "}"))
            return entries
        }
    }

    struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0
        let path: String

        init(bytes: UnsafeBufferPointer<UInt8>, path: String) {
            self.bytes = bytes
            self.path = path
        }

        func error(_ reason: String) -> TokenizerError {
            TokenizerError.invalidContent(path: path, reason: "\(reason) (byte \(i))")
        }

        mutating func skipSpace() {
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        }

        mutating func consume(_ c: UInt8) throws -> Bool {
            skipSpace()
            if i < bytes.count, bytes[i] == c {
                i += 1
                return true
            }
            return false
        }

        mutating func expect(_ c: UInt8) throws {
            guard try consume(c) else { throw error("expected '\(Character(Unicode.Scalar(c)))'") }
        }

        /// Moves into the value of `key` of the object at the current position when that value is an object;
        /// false when the key is absent or its value is not an object.
        mutating func enterObject(key: String) throws -> Bool {
            try expect(UInt8(ascii: "{"))
            if try consume(UInt8(ascii: "}")) { return false }
            repeat {
                let k = try string()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                if k.utf8.elementsEqual(key.utf8) {
                    return i < bytes.count && bytes[i] == UInt8(ascii: "{")
                }
                try skipValue()
            } while try consume(UInt8(ascii: ","))
            return false
        }

        mutating func integer() throws -> Int {
            skipSpace()
            let start = i
            while i < bytes.count, (bytes[i] >= 0x30 && bytes[i] <= 0x39) || bytes[i] == UInt8(ascii: "-")
                || bytes[i] == UInt8(ascii: ".") || bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")
                || bytes[i] == UInt8(ascii: "+") { i += 1 }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            guard let v = Double(text), v == v.rounded(), abs(v) < 1e15 else { throw error("\"\(text)\" is not an integer") }
            return Int(v)
        }

        mutating func string() throws -> String {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a string") }
            i += 1
            var out: [UInt8] = []
            while i < bytes.count {
                let c = bytes[i]
                i += 1
                if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
                if c != UInt8(ascii: "\\") {
                    out.append(c)
                    continue
                }
                guard i < bytes.count else { break }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    var v = try hex4()
                    if (0xD800..<0xDC00).contains(v), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"),
                       bytes[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(v) else { throw error("invalid \\u escape") }
                    out += Array(String(scalar).utf8)
                default: out.append(e)  // \" \\ \/
                }
            }
            throw error("unterminated string")
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16) else {
                throw error("invalid \\u escape")
            }
            i += 4
            return v
        }

        /// Skips one JSON value.
        mutating func skipValue() throws {
            skipSpace()
            guard i < bytes.count else { throw error("truncated JSON") }
            switch bytes[i] {
            case UInt8(ascii: "\""):
                _ = try string()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while i < bytes.count {
                    let c = bytes[i]
                    if c == UInt8(ascii: "\"") {
                        _ = try string()
                        continue
                    }
                    i += 1
                    if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") { depth += 1 }
                    if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                        depth -= 1
                        if depth == 0 { return }
                    }
                }
                throw error("truncated JSON")
            default:
                while i < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09]
                    .contains(bytes[i]) { i += 1 }
            }
        }
    }
}
