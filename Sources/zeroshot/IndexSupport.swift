import Foundation
import ImageIndex
import ZeroShot
#if canImport(Glibc)
import Glibc
#endif

/// The classifier of an index's model: `--model` when given (it must be the index's model: same fingerprint), else
/// the model the index records (`id@revision` for a Hub model, else its directory).
///
/// - Throws: `ImageIndexError.noModel`, `.modelMismatch` naming both models; the model's loading errors.
func loadIndexModel(_ index: ImageIndex, _ modelOptions: ModelOptions, batchSize: Int = 16) throws -> ZeroShotClassifier {
    guard let recorded = try index.model() else { throw ImageIndexError.noModel(path: index.path) }
    let given = modelOptions.choice.model
    let classifier = try modelOptions.loadClassifier(model: given == nil ? recorded.identity.reference : nil,
                                                     batchSize: batchSize)
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

/// The progress line of a long run on standard error, when it is a terminal: "\r done/total, N images/s, ETA",
/// at most about 4 updates a second, cleared at the end.
final class ProgressLine {
    private let enabled: Bool
    private let start = Date()
    private var last = Date.distantPast
    private var shown = false

    init(quiet: Bool) {
        enabled = !quiet && isatty(STDERR_FILENO) == 1
    }

    func update(done: Int, total: Int) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(last) >= 0.25 || done == total else { return }
        last = now
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        var line = "\r\(done)/\(total)"
        if rate > 0 {
            line += String(format: ", %.1f images/s", rate)
            let remaining = Double(total - done) / rate
            line += ", ETA " + Self.duration(remaining)
        }
        StandardStreams.err(line + "\u{1B}[K")
        shown = true
    }

    func clear() {
        guard shown else { return }
        StandardStreams.err("\r\u{1B}[K")
        shown = false
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
