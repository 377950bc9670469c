import Hub

/// Errors of the zero-shot facade itself; lower layers throw their own typed errors (`ImageIOError`,
/// `TokenizerError`, `CLIPError`, `SafeTensorsError`, `HubError`), which pass through unchanged.
public enum ZeroShotError: Error, CustomStringConvertible, Equatable {
    case noCandidateLabels
    case invalidTemplate(String, reason: String)
    case incompatibleFiles(String, String)
    /// The model name is not a directory (relative to `workingDirectory`), and as a Hugging Face repo id it failed
    /// with `hubError`.
    case modelNotFound(String, workingDirectory: String, hubError: HubError)

    public var description: String {
        switch self {
        case .noCandidateLabels:
            return "no candidate labels: give at least one label"
        case .invalidTemplate(let template, let reason):
            return "invalid hypothesis template \"\(template)\": \(reason)"
        case .incompatibleFiles(let directory, let reason):
            return "\(directory): \(reason)"
        case .modelNotFound(let name, let workingDirectory, let hubError):
            return "no model directory '\(name)' (in \(workingDirectory)); tried as a Hugging Face repo id instead: \(hubError)"
        }
    }
}
