// Reading a family's config.json with `Decodable`, errors naming the file and the key.
import FileReading
import Compute
import Foundation
import SafeTensors

/// A value of config.json that decodes but cannot be used (a size out of range, a non-square image_size); thrown
/// inside a config's `init(from:)` or validation and reported as `ModelError.invalidConfig` with the file's path.
package struct ConfigValueError: Error {
    package let reason: String

    package init(_ reason: String) {
        self.reason = reason
    }
}

/// Decodes config.json files of the model families.
package enum ConfigFile {
    /// Decodes `url` as `T`.
    /// - Throws: `ModelError.missingFile` when absent; `.invalidConfig(path, reason)` when unreadable (the system's
    ///   reason: a symbolic link loop, no permission), over `FileContents.maxConfigBytes`, not JSON, or a
    ///   key has the wrong type or an unusable value (the reason names the key path, e.g. `text_config.hidden_size`).
    package static func decode<T: Decodable>(_ type: T.Type, contentsOf url: URL) throws -> T {
        let data: Data
        do { data = try FileContents.read(url, maxBytes: FileContents.maxConfigBytes) } catch {
            // A symbolic link loop or a folder without permission says so, instead of "missing".
            if error == .missing { throw ModelError.missingFile(path: url.path) }
            throw ModelError.invalidConfig(path: url.path, reason: error.localizedDescription)
        }
        return try decode(type, from: data, path: url.path)
    }

    /// The bytes of config.json at `url`, at most `FileContents.maxConfigBytes` (16 MiB).
    /// - Throws: `FileReadError`.
    package static func contents(of url: URL) throws -> Data {
        try FileContents.read(url, maxBytes: FileContents.maxConfigBytes)
    }

    /// Decodes `data` as `T`; `path` names the file in errors.
    package static func decode<T: Decodable>(_ type: T.Type, from data: Data, path: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as ConfigValueError {
            throw ModelError.invalidConfig(path: path, reason: error.reason)
        } catch let ModelError.unsupportedModelType(_, modelType, supported) {
            throw ModelError.unsupportedModelType(path: path, modelType: modelType, supported: supported)
        } catch let error as DecodingError {
            throw ModelError.invalidConfig(path: path, reason: describe(error))
        }
    }

    /// A one-line reason for a decoding error: the key path, what was expected.
    static func describe(_ error: DecodingError) -> String {
        func key(_ path: [CodingKey]) -> String {
            path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case let .typeMismatch(type, context):
            if context.codingPath.isEmpty { return "top level is not a JSON object" }
            return "\(key(context.codingPath)) should be \(expected(type))"
        case let .valueNotFound(type, context):
            return "\(key(context.codingPath)) is null, expected \(expected(type))"
        case let .keyNotFound(missing, context):
            return "\(key(context.codingPath + [missing])) is missing"
        case let .dataCorrupted(context):
            if context.codingPath.isEmpty {
                let detail = (context.underlyingError as NSError?)?.localizedDescription ?? context.debugDescription
                return "not valid JSON (\(detail))"
            }
            return "\(key(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func expected(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int32.Type, is Int64.Type: return "an integer"
        case is Float.Type, is Double.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is [Any].Type: return "a list"
        default:
            let name = "\(type)"
            return name.hasPrefix("Dictionary") || name.hasSuffix("Config") || name.contains("KeyedDecodingContainer")
                ? "an object" : name
        }
    }

    /// Checks sizes read from a config: each at least its minimum (layer counts may be 0) and at most 2^20, which
    /// keeps buffer arithmetic far from overflow.
    /// - Throws: `ConfigValueError` naming the first size out of range.
    package static func checkSizes(_ sizes: [(name: String, value: Int, minimum: Int)]) throws {
        let limit = 1 << 20
        for size in sizes where size.value < size.minimum {
            let rule = size.minimum == 0 ? "must not be negative" : "must be positive"
            throw ConfigValueError("\(size.name) \(rule), found \(size.value)")
        }
        for size in sizes where size.value > limit {
            throw ConfigValueError("\(size.name) \(size.value) is larger than supported (\(limit))")
        }
    }
}

extension KeyedDecodingContainer {
    /// An integer as transformers reads one: `3` and `3.0` are 3; a fraction, a boolean or a string is an error
    /// naming the key (JSONDecoder alone reports a fraction as invalid JSON).
    package func int(_ key: Key) throws -> Int? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        if let number = try? decode(Double.self, forKey: key) {
            guard number.rounded() == number, abs(number) < 1e15 else {
                throw ConfigValueError("\(codingPathString(key)) should be an integer, found \(number)")
            }
            return Int(number)
        }
        return try decode(Int.self, forKey: key)  // throws the type mismatch, naming the key
    }

    /// `hidden_act` by its Hugging Face name (`quick_gelu`, `gelu`, `gelu_new`, `gelu_pytorch_tanh`, `relu`).
    package func activation(_ key: Key) throws -> Activation? {
        guard let name = try decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let act = Activation(huggingFaceName: name) else {
            throw ConfigValueError("\(codingPathString(key)) \"\(name)\" is not supported (quick_gelu, gelu, gelu_new, "
                                   + "gelu_pytorch_tanh, relu)")
        }
        return act
    }

    /// A token id that transformers also accepts as a list (`eos_token_id: [2, 3]`): the first entry.
    package func tokenId(_ key: Key) throws -> Int? {
        if let list = try? decodeIfPresent([Double].self, forKey: key), !list.isEmpty {
            return try integer(list[0], key)
        }
        return try int(key)
    }

    /// `image_size` / `patch_size`: an integer or a square `[h, w]` pair.
    package func side(_ key: Key) throws -> Int? {
        if let list = try? decodeIfPresent([Double].self, forKey: key) {
            let pair = try list.map { try integer($0, key) }
            guard pair.count == 2, pair[0] == pair[1] else {
                throw ConfigValueError("\(codingPathString(key)) \(pair) is not square; only square inputs are supported")
            }
            return pair[0]
        }
        return try int(key)
    }

    /// A value of the list read for `key`, which must be an integer.
    private func integer(_ number: Double, _ key: Key) throws -> Int {
        guard number.rounded() == number, abs(number) < 1e15 else {
            throw ConfigValueError("\(codingPathString(key)) should hold integers, found \(number)")
        }
        return Int(number)
    }

    /// The dotted path of `key` in this container (`vision_config.image_size`).
    package func codingPathString(_ key: Key) -> String {
        (codingPath + [key]).map(\.stringValue).joined(separator: ".")
    }
}
