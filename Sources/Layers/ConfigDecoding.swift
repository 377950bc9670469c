// Reading a family's config.json through Decodable, with errors that name the file and the key.
import Compute
import Foundation

/// Decodes `config.json` files into a family's `Decodable` config struct.
public enum ConfigFile {
    /// Reads and decodes `url`.
    /// - Throws: `ModelError.missingFile` when the file is absent; `.invalidConfig` naming the key path and the
    ///   reason (not JSON, not an object, a value of the wrong type); errors the type's `init(from:)` throws as
    ///   `ModelError` pass through.
    public static func decode<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw ModelError.missingFile(path: path) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError.invalidConfig(path: path, reason: error.localizedDescription)
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as ModelError {
            throw error
        } catch let error as DecodingError {
            throw ModelError.invalidConfig(path: path, reason: reason(error))
        } catch {
            throw ModelError.invalidConfig(path: path, reason: error.localizedDescription)
        }
    }

    /// A key path as config.json spells it: `text_config.hidden_size`, `vision_config.image_size[1]`.
    static func keyPath(_ path: [CodingKey]) -> String {
        var out = ""
        for key in path {
            if let index = key.intValue {
                out += "[\(index)]"
            } else {
                out += (out.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return out
    }

    static func reason(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(let type, let context):
            if context.codingPath.isEmpty { return "top level is not a JSON object" }
            return "\(keyPath(context.codingPath)) should be \(describe(type))"
        case .valueNotFound(let type, let context):
            return "\(keyPath(context.codingPath)) is null, expected \(describe(type))"
        case .keyNotFound(let key, let context):
            return "\(keyPath(context.codingPath + [key])) is missing"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                let detail = (context.underlyingError as NSError?)?.localizedDescription ?? context.debugDescription
                return "not valid JSON (\(detail))"
            }
            return "\(keyPath(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return String(describing: error)
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: return "an integer"
        case is Float.Type, is Double.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Dictionary") { return "an object" }
            if name.hasPrefix("Array") { return "a list" }
            return name
        }
    }
}

extension KeyedDecodingContainer {
    /// `hidden_act` as transformers' `ACT2FN` names it; nil when absent or null.
    /// - Throws: `DecodingError.dataCorrupted` naming the supported activations.
    public func decodeActivation(forKey key: Key) throws -> Activation? {
        guard let name = try decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let activation = Activation(huggingFaceName: name) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self,
                debugDescription: "\"\(name)\" is not supported (quick_gelu, gelu, gelu_new, gelu_pytorch_tanh, relu)")
        }
        return activation
    }

    /// `image_size` / `patch_size`: an integer or a square `[h, w]` pair; nil when absent or null.
    /// - Throws: `DecodingError.dataCorrupted` for a pair that is not square.
    public func decodeSide(forKey key: Key) throws -> Int? {
        if let pair = try? decodeIfPresent([Int].self, forKey: key) {
            guard pair.count == 2, pair[0] == pair[1] else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: self, debugDescription: "\(pair) is not square; only square inputs are supported")
            }
            return pair[0]
        }
        return try decodeIfPresent(Int.self, forKey: key)
    }
}

/// Range checks of a config's sizes, with errors naming the key.
public struct ConfigSizeCheck {
    let path: String
    /// Sizes at most this (2^20) keep buffer arithmetic far from overflow.
    public static let limit = 1 << 20

    public init(path: String) {
        self.path = path
    }

    /// - Throws: `ModelError.invalidConfig` when `value` is below `minimum` or above `limit`.
    public func check(_ name: String, _ value: Int, minimum: Int = 1) throws {
        if value < minimum {
            let rule = minimum == 0 ? "must not be negative" : "must be positive"
            throw ModelError.invalidConfig(path: path, reason: "\(name) \(rule), found \(value)")
        }
        if value > Self.limit {
            throw ModelError.invalidConfig(path: path, reason: "\(name) \(value) is larger than supported (\(Self.limit))")
        }
    }

    /// - Throws: `ModelError.invalidConfig` unless `hiddenSize` is a multiple of `heads`.
    public func checkHeads(_ section: String, hiddenSize: Int, heads: Int) throws {
        if hiddenSize % heads != 0 {
            throw ModelError.invalidConfig(
                path: path,
                reason: "\(section).hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(heads)")
        }
    }
}
