// The model families by `model_type`: the one place that knows them all.
import ChineseCLIP
import CLIP
import FileReading
import Foundation
import Layers
import SigLIP

/// Picks the model family from `config.json`'s `model_type`, as transformers' `AutoModel` does.
public enum ModelTypeRegistry {
    /// The families, by the `model_type` they load.
    public static let families: [String: any ZeroShotModel.Type] = Dictionary(
        uniqueKeysWithValues: ([CLIPModel.self, ChineseCLIPModel.self, SiglipModel.self] as [any ZeroShotModel.Type])
            .map { ($0.modelType, $0) })

    /// The supported `model_type` values, sorted.
    public static var supportedModelTypes: [String] { families.keys.sorted() }

    /// The family of the checkpoint in `directory`, from its `config.json`.
    /// - Throws: `ModelError.missingFile` without config.json, `.invalidConfig` when it is no JSON object or its
    ///   `model_type` is missing or not a string, `.unsupportedModelType` naming the type and the supported ones.
    public static func family(directory: URL) throws -> any ZeroShotModel.Type {
        let url = directory.appendingPathComponent("config.json")
        let modelType = try ModelTypeField.read(url).modelType
        guard let family = families[modelType] else {
            throw ModelError.unsupportedModelType(path: url.path, modelType: modelType, supported: supportedModelTypes)
        }
        return family
    }

    /// Loads the checkpoint in `directory` with the family its `model_type` names.
    /// - Throws: the errors of `family(directory:)`, then the family's loading errors (`ModelError`,
    ///   `SafeTensorsError`).
    public static func load(directory: URL, precision: Precision = .fp32) throws -> any ZeroShotModel {
        try family(directory: directory).init(directory: directory, precision: precision)
    }
}

/// `config.json`'s `model_type`, read alone.
private struct ModelTypeField: Decodable {
    let modelType: String

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
    }

    static func read(_ url: URL) throws -> ModelTypeField {
        let data: Data
        do { data = try ConfigFile.contents(of: url) } catch {
            if case .missing? = error as? FileReadError { throw ModelError.missingFile(path: url.path) }
            throw ModelError.invalidConfig(path: url.path, reason: error.localizedDescription)
        }
        do {
            return try JSONDecoder().decode(ModelTypeField.self, from: data)
        } catch DecodingError.keyNotFound {
            throw ModelError.invalidConfig(path: url.path, reason: "model_type is missing (supported: "
                                           + ModelTypeRegistry.supportedModelTypes.joined(separator: ", ") + ")")
        } catch DecodingError.valueNotFound {
            throw ModelError.invalidConfig(path: url.path, reason: "model_type is null")
        } catch DecodingError.typeMismatch(_, let context) where !context.codingPath.isEmpty {
            throw ModelError.invalidConfig(path: url.path, reason: "model_type should be a string")
        } catch DecodingError.typeMismatch {
            throw ModelError.invalidConfig(path: url.path, reason: "top level is not a JSON object")
        } catch DecodingError.dataCorrupted(let context) {
            let detail = (context.underlyingError as NSError?)?.localizedDescription ?? context.debugDescription
            throw ModelError.invalidConfig(path: url.path, reason: "not valid JSON (\(detail))")
        } catch {
            throw ModelError.invalidConfig(path: url.path, reason: error.localizedDescription)
        }
    }
}
