import ArgumentParser
import Foundation
import Inputs
import ZeroShot

/// Where the images of a run come from (classify, embed, index): files, folders, URLs, `--files-from`.
struct InputOptions: ParsableArguments {
    @Option(name: .long, parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "Leave out files and folders matching this glob while walking folders (repeatable).",
        discussion: "fnmatch patterns: a glob without / is matched against each name (\"*.tmp\", \"@eaDir\"), one "
            + "with / against the path below the folder argument (\"raw/*.jpg\"). A matching folder is not entered. "
            + "Files named as arguments are always taken.",
        valueName: "glob"))
    var exclude: [String] = []

    @Option(name: .customLong("files-from"), parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "Read more inputs from FILE (- for standard input), one path, folder or URL per line (once).",
        valueName: "file"))
    var filesFrom: [String] = []

    @Option(name: .customLong("max-download-bytes"), parsing: .unconditional, help: ArgumentHelp(
        "Refuse a URL whose body is larger than this many bytes.",
        valueName: "bytes"))
    var maxDownloadBytes: Int = RemoteFile.defaultMaxBytes

    @Flag(name: .long, help: "No progress line on standard error.")
    var quiet = false

    func check() throws {
        try checkGivenOnce("--files-from", filesFrom.count)
        try checkRange("--max-download-bytes", maxDownloadBytes, 1...Int.max)
    }

    /// Whether any input was named (arguments or `--files-from`).
    /// - Throws: `ValidationError` for an empty argument (an unset shell variable, "$DIR"): it names no file, and an
    ///   index run would take it for the working directory when removing missing rows.
    func hasInputs(_ arguments: [String]) throws -> Bool {
        if arguments.contains("") {
            throw ValidationError("an input argument is an empty string (an unset variable?); give a file, folder or URL")
        }
        return !arguments.isEmpty || !filesFrom.isEmpty
    }

    /// `arguments` followed by the lines of `--files-from`.
    /// - Throws: `FilesFromError` when the list cannot be read.
    func allArguments(_ arguments: [String]) throws -> [String] {
        try allArgumentsAndProblems(arguments).arguments
    }

    /// `arguments` followed by the lines of `--files-from`, and the list's lines that are not UTF-8 (left out).
    /// - Throws: `FilesFromError` when the list cannot be read.
    func allArgumentsAndProblems(_ arguments: [String]) throws -> (arguments: [String], problems: [InputProblem]) {
        guard let list = filesFrom.first else { return (arguments, []) }
        let (lines, problems) = try FilesFrom.readList(list)
        return (arguments + lines, problems)
    }

    /// The inputs of `arguments` followed by those of `--files-from`, walked; walk problems are printed at once.
    /// - Throws: `FilesFromError` when the list cannot be read.
    func walk(_ arguments: [String], shard: Shard? = nil) throws -> InputWalk {
        let (all, listProblems) = try allArgumentsAndProblems(arguments)
        var walk = InputWalker(exclude: exclude, shard: shard).entries(all)
        walk.problems = listProblems + walk.problems
        for problem in walk.problems { StandardStreams.err("\(ZeroShotCommand._errorPrefix)\(printable(problem.description))\n") }
        return walk
    }

    var loader: InputLoader { InputLoader(maxDownloadBytes: maxDownloadBytes) }

    /// A progress line for `total` inputs: shown when standard error is a terminal and `--quiet` is not given.
    func progress(total: Int, skippedNonImages: Int) -> RunProgress {
        RunProgress(total: total, skippedNonImages: skippedNonImages,
                     enabled: !quiet && isatty(STDERR_FILENO) == 1)
    }
}

/// "\r done/total images, N images/s, ETA m:ss" on standard error, redrawn at most about four times a second and
/// cleared at the end; messages printed meanwhile clear it first.
final class RunProgress {
    let total: Int
    let skippedNonImages: Int
    let enabled: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var shown = false
    private(set) var done = 0

    init(total: Int, skippedNonImages: Int, enabled: Bool) {
        self.total = total
        self.skippedNonImages = skippedNonImages
        self.enabled = enabled
    }

    /// Counts one input done and redraws when a quarter second has passed (or at the last one).
    func advance() {
        done += 1
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.25 || done == total else { return }
        lastDraw = now
        StandardStreams.err("\r" + Self.text(done: done, total: total, elapsed: now.timeIntervalSince(start)) + "\u{1B}[K")
        shown = true
    }

    /// Prints a message on its own line (the progress line is redrawn at the next update).
    func message(_ text: String) {
        clear()
        StandardStreams.err(text)
    }

    /// Removes the progress line; at the end, says how many non-image files the walk skipped.
    func finish() {
        clear()
        if enabled && skippedNonImages > 0 {
            StandardStreams.err("\(skippedNonImages) non-image file\(skippedNonImages == 1 ? "" : "s") skipped\n")
        }
    }

    private func clear() {
        guard shown else { return }
        StandardStreams.err("\r\u{1B}[K")
        shown = false
        lastDraw = .distantPast
    }

    /// "12/340 images, 8.1 images/s, ETA 0:40".
    static func text(done: Int, total: Int, elapsed: TimeInterval) -> String {
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        var line = "\(done)/\(total) images, \(String(format: "%.1f", rate)) images/s"
        if rate > 0 && done < total {
            let remaining = Int((Double(total - done) / rate).rounded())
            let (h, m, s) = (remaining / 3600, remaining / 60 % 60, remaining % 60)
            line += ", ETA " + (h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s))
        }
        return line
    }
}
