import Foundation
import ImageIndex
import ZeroShot

/// The classifier of an index's model: `--model` when given (it must be the index's model: same fingerprint), else
/// the model the index records (`id@revision` for a Hub model, else its directory); `textCache` as
/// `ModelOptions.loadClassifier`.
///
/// - Throws: `ImageIndexError.noModel`, `.modelMismatch` naming both models; the model's loading errors.
func loadIndexModel(_ index: ImageIndex, _ modelOptions: ModelOptions, batchSize: Int = 16,
                    textCache: URL? = nil) throws -> ZeroShotClassifier {
    guard let recorded = try index.model() else { throw ImageIndexError.noModel(path: index.path) }
    let given = modelOptions.choice.model
    let classifier = try modelOptions.loadClassifier(model: given == nil ? recorded.identity.reference : nil,
                                                     batchSize: batchSize, textCache: textCache)
    let identity = try classifier.identity
    guard identity.fingerprint == recorded.identity.fingerprint else {
        throw ImageIndexError.modelMismatch(path: index.path, index: recorded.identity, given: identity)
    }
    return classifier
}

/// Prints an error for one input (see `reportError`), without repeating a name the message already starts with.
func reportInputError(_ input: String, _ error: Error) {
    if "\(error)".hasPrefix(input + ":") {
        StandardStreams.err("\(ZeroShotCommand._errorPrefix)\(error)\n")
    } else {
        reportError(input, error)
    }
}
