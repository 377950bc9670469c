import Foundation
import Hub

/// Errors of the zero-shot facade itself; lower layers throw their own typed errors (`ImageIOError`,
/// `TokenizerError`, `ModelError`, `SafeTensorsError`, `HubError`), which pass through unchanged.
public enum ZeroShotError: Error, LocalizedError, CustomStringConvertible, Equatable {
    case noCandidateLabels
    case invalidTemplate(String, reason: String)
    /// A prompt ensemble was asked for with no hypothesis template.
    case noTemplates
    /// More candidate labels than `ZeroShotClassifier.maxCandidateLabels` (the count given, the limit).
    case tooManyLabels(Int, limit: Int)
    /// A prompt ensemble of more prompts (class names x templates) than `ZeroShotClassifier.maxEnsemblePrompts`.
    case tooManyPrompts(classNames: Int, templates: Int, limit: Int)
    /// The model name is not a directory (relative to `workingDirectory`), and as a Hugging Face repo id it failed
    /// with `hubError`; `origin` says where the name came from.
    case modelNotFound(String, origin: ModelNameOrigin, workingDirectory: String, hubError: HubError)

    /// Where a model name came from.
    public enum ModelNameOrigin: Sendable, Equatable {
        /// Given by the caller (`--model`).
        case given
        /// `$ZEROSHOT_MODEL`.
        case environment
        /// The default model, `ModelLocator.defaultModelID`.
        case defaultModel
    }

    public var description: String {
        switch self {
        case .noCandidateLabels:
            return "no candidate labels: give at least one label"
        case .noTemplates:
            return "no hypothesis templates: give at least one template"
        case .tooManyLabels(let count, let limit):
            return "\(count) candidate labels, more than the limit of \(limit) (each label's text embedding is held "
                + "in memory, and every image gets a score per label)"
        case .tooManyPrompts(let classNames, let templates, let limit):
            return "\(classNames) class names x \(templates) templates make more prompts than the limit of \(limit) "
                + "(each prompt is built and tokenized before its class embedding is made)"
        case .invalidTemplate(let template, let reason):
            return "invalid hypothesis template \"\(template)\": \(reason)"
        case .modelNotFound(let name, .given, let workingDirectory, let hubError):
            return "no model directory '\(name)' (in \(workingDirectory)); tried as a Hugging Face repo id instead: \(hubError)"
        case .modelNotFound(let name, .environment, let workingDirectory, let hubError):
            return "ZEROSHOT_MODEL='\(name)' is no model directory (in \(workingDirectory)); tried as a Hugging Face repo "
                + "id instead: \(hubError)"
        case .modelNotFound(let name, .defaultModel, _, let hubError):
            return "the default model \(name) (no --model given, ZEROSHOT_MODEL unset) could not be loaded: \(hubError)"
        }
    }
}

extension ZeroShotError {
    /// The same text as `description`, for `localizedDescription`.
    public var errorDescription: String? { description }
}
