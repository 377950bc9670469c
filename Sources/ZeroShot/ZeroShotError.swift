/// Errors of the zero-shot facade itself; lower layers throw their own typed errors (`ImageIOError`,
/// `TokenizerError`, `CLIPError`, `SafeTensorsError`, `HubError`), which pass through unchanged.
public enum ZeroShotError: Error, CustomStringConvertible, Equatable {
    case noCandidateLabels
    case emptyLabel(index: Int)
    case invalidTemplate(String, reason: String)
    case incompatibleFiles(String, String)

    public var description: String {
        switch self {
        case .noCandidateLabels:
            return "no candidate labels: give at least one label"
        case .emptyLabel(let index):
            return "candidate label #\(index + 1) is empty"
        case .invalidTemplate(let template, let reason):
            return "invalid hypothesis template \"\(template)\": \(reason)"
        case .incompatibleFiles(let directory, let reason):
            return "\(directory): \(reason)"
        }
    }
}
