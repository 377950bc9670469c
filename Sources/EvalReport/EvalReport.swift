// The report of an evaluation: charts, thumbnails and an HTML page, written into one directory.
import Evaluation
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A report could not be written: the path and why (in the system's words where it gave them).
public struct EvalReportError: Error, LocalizedError, CustomStringConvertible, Sendable, Equatable {
    /// The file or directory concerned.
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "cannot write the report: \(path): \(reason)" }
    public var errorDescription: String? { description }
}

/// `zeroshot eval --report DIR`: pictures of an `EvaluationResult` and a page that shows them.
public enum EvalReport {
    /// Pairs of the "most confused pairs" section.
    public static let confusedPairLimit = 10
    /// Example images per pair.
    public static let examplesPerPair = 4
    /// The files `write` puts directly into its directory (besides `thumbs/NNN.png`).
    public static let fileNames = ["confusion.png", "confusion.svg", "recall.png", "recall.svg", "index.html"]
    /// Thumbnails fit in a square of this many pixels (aspect kept, never enlarged).
    public static let thumbnailSize = 160

    /// Writes the report of `result` into `directory` (created with its parents when missing):
    /// - `confusion.png`, `confusion.svg`: the confusion matrix as a heatmap (rows true class, columns predicted;
    ///   colour the row-normalised fraction, with a colour bar; counts in cells when they fit), one drawing on both
    ///   surfaces (cairo; text by pango with fontconfig's font fallback).
    /// - `recall.png`, `recall.svg`: per-class recall bars with n, worst first (classes without images last).
    /// - `thumbs/NNN.png`: up to `examplesPerPair` images of each of the `confusedPairLimit` most confused pairs
    ///   (`EvaluationResult.mostConfusedPairs`), in dataset order, read again from `EvalRecord.location` (decoded
    ///   by ImageIO, EXIF orientation applied), resized to fit `thumbnailSize` px; named by a running number.
    ///   An image that cannot be read gets a placeholder and the reason on the page instead.
    /// - `index.html`: self-contained (inline CSS, no scripts, no external assets): `title`, the summary (n, top-1,
    ///   top-5, mean per-class recall, then `details` rows such as model, templates, dataset), both charts, the
    ///   most confused pairs with their thumbnails, and a per-class table (n, precision, recall). Every name is
    ///   HTML-escaped.
    /// Files of these names are replaced; nothing else in `directory` is touched (thumbnails of an earlier,
    /// larger report stay but are not linked).
    /// - Returns: the files written, in the order above (`index.html` last).
    /// - Throws: `EvalReportError` naming the path when the directory cannot be created or written (a file in the
    ///   way, no permission), or when cairo fails (out of memory).
    public static func write(_ result: EvaluationResult, to directory: URL, title: String,
                             details: [(String, String)]) throws -> [URL] {
        try ensureDirectory(directory)
        var written: [URL] = []
        var chartSizes: [String: (width: Int, height: Int)] = [:]
        func titled(_ chart: String) -> String { title.isEmpty ? chart : "\(chart) — \(title)" }
        for (name, drawing) in [("confusion", ConfusionChart.drawing(result, title: titled("Confusion matrix"))),
                                ("recall", RecallChart.drawing(result, title: titled("Per-class recall")))] {
            let png = directory.appendingPathComponent("\(name).png")
            try writeFile(try render(png) { try drawing.png() }, to: png)
            let svg = directory.appendingPathComponent("\(name).svg")
            try writeFile(try render(svg) { try drawing.svg() }, to: svg)
            written += [png, svg]
            chartSizes[name] = (drawing.width, drawing.height)
        }

        var pairs: [ConfusedPair] = []
        var thumbnailCount = 0, madeThumbs = false
        for pair in result.mostConfusedPairs(limit: confusedPairLimit) {
            let examples = result.records.lazy
                .filter { $0.trueClass == pair.trueClass && $0.predictedClass == pair.predictedClass }
                .prefix(examplesPerPair)
            var thumbnails: [Thumbnail] = []
            for record in examples {
                let name = String(format: "thumbs/%03d.png", thumbnailCount)
                thumbnailCount += 1
                switch Thumbnails.png(of: record.location, fitting: thumbnailSize) {
                case .success(let data, let width, let height, let source):
                    if !madeThumbs { try ensureDirectory(directory.appendingPathComponent("thumbs")) }
                    madeThumbs = true
                    let url = directory.appendingPathComponent(name)
                    try writeFile(data, to: url)
                    written.append(url)
                    thumbnails.append(Thumbnail(record: record, file: name, width: width, height: height,
                                                source: source, problem: nil))
                case .failure(let problem):
                    thumbnails.append(Thumbnail(record: record, file: nil, width: 0, height: 0, source: nil,
                                                problem: problem))
                }
            }
            pairs.append(ConfusedPair(trueClass: pair.trueClass, predictedClass: pair.predictedClass,
                                      count: pair.count, thumbnails: thumbnails))
        }

        let html = directory.appendingPathComponent("index.html")
        try writeFile(Data(HTMLPage.render(result, title: title, details: details, pairs: pairs,
                                                   chartSizes: chartSizes).utf8), to: html)
        written.append(html)
        return written
    }

    private static func render(_ url: URL, _ body: () throws -> Data) throws -> Data {
        do {
            return try body()
        } catch let error as RenderError {
            throw EvalReportError(path: url.path, reason: error.reason)
        }
    }

    /// Creates `url` and its parents when missing (as `mkdir -p`); fails naming the path when something that is
    /// not a directory is in the way, a directory cannot be created, or the directory is not writable. `write`
    /// calls it; a caller may call it first to fail before a long evaluation rather than after it.
    ///
    /// - Throws: `EvalReportError`.
    public static func ensureDirectory(_ url: URL) throws {
        let path = url.standardizedFileURL.path
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + component
            var st = stat()
            if stat(prefix, &st) == 0 {
                guard (st.st_mode & S_IFMT) == S_IFDIR else {
                    throw EvalReportError(path: prefix, reason: "exists and is not a directory")
                }
                continue
            }
            if mkdir(prefix, 0o755) != 0 {
                let code = errno
                guard code != EEXIST else { continue }
                throw EvalReportError(path: prefix,
                                      reason: "cannot create the directory (\(String(cString: strerror(code))))")
            }
        }
        guard access(path, W_OK | X_OK) == 0 else {
            throw EvalReportError(path: path,
                                  reason: "the directory is not writable (\(String(cString: strerror(errno))))")
        }
    }

    /// Writes `data` to `url` (replacing a file there), reporting the system's reason on failure.
    static func writeFile(_ data: Data, to url: URL) throws {
        let path = url.path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw EvalReportError(path: path, reason: String(cString: strerror(errno))) }
        var failure: Int32 = 0
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = systemWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += n
            }
        }
        if close(fd) != 0, failure == 0 { failure = errno }
        if failure != 0 { throw EvalReportError(path: path, reason: String(cString: strerror(failure))) }
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#else
private let systemWrite = Darwin.write
#endif

/// A confused pair as the page shows it.
struct ConfusedPair {
    let trueClass: Int
    let predictedClass: Int
    let count: Int
    let thumbnails: [Thumbnail]
}

/// One example image of a pair: the thumbnail's relative path and size and the source image, or why there is none.
struct Thumbnail {
    let record: EvalRecord
    let file: String?
    let width: Int
    let height: Int
    let source: URL?
    let problem: String?
}
