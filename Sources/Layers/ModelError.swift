import Foundation

/// Errors from loading or running a checkpoint of any model family.
public enum ModelError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// A required file of the model directory is missing.
    case missingFile(path: String)
    /// `config.json` is unreadable or has a value of the wrong type.
    case invalidConfig(path: String, reason: String)
    /// `config.json` declares a `model_type` no family supports; `supported` lists those that are.
    case unsupportedModelType(path: String, modelType: String, supported: [String])
    /// A tensor the architecture needs is absent from the checkpoint.
    case missingTensor(name: String, expectedShape: [Int], checkpoint: String)
    /// A tensor has another shape than the config implies.
    case wrongShape(name: String, expected: [Int], found: [Int], checkpoint: String)
    /// A call's input is malformed (sizes, token ids, sequence length).
    case invalidInput(String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "missing file \(path)"
        case .invalidConfig(let path, let reason):
            return "invalid config \(path): \(reason)"
        case .unsupportedModelType(let path, let modelType, let supported):
            return "unsupported model_type \"\(modelType)\" in \(path); supported: "
                + supported.map { "\"\($0)\"" }.joined(separator: ", ")
        case .missingTensor(let name, let expected, let checkpoint):
            return "tensor \(name) (expected shape \(expected)) is missing from the checkpoint in \(checkpoint)"
        case .wrongShape(let name, let expected, let found, let checkpoint):
            return "tensor \(name) in \(checkpoint) has shape \(found), expected \(expected)"
        case .invalidInput(let reason):
            return "invalid input: \(reason)"
        }
    }
}

extension ModelError {
    /// The same text as `description`, for `localizedDescription`.
    public var errorDescription: String? { description }
}
