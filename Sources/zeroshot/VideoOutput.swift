import Foundation
import Inputs
import Video
import ZeroShot

/// A run of consecutive sampled frames of one video with the same top label (`classify --segments`).
struct Segment: Equatable {
    /// Seconds from the start of the file: the time of the segment's first frame.
    var start: Double
    /// Seconds: the time of the next sampled frame after the segment; for a video's last segment, the container's
    /// duration when it is later than the last frame, else the last frame's time.
    var end: Double
    var label: String
    /// The mean of the label's score over the segment's frames.
    var score: Float
    /// How many sampled frames the segment holds.
    var frames: Int
}

/// Merges one video's sampled frames, in time order, into `Segment`s: consecutive frames with the same top label
/// (after --threshold) make one segment; a frame that keeps no label (or could not be classified) ends the segment
/// before it and starts none.
struct SegmentMerger {
    private struct Open {
        var start: Double
        var last: Double
        var label: String
        var sum: Double
        var count: Int
    }
    private var open: Open?
    /// The time of the last frame added.
    private(set) var lastTime: Double?

    /// Adds the next frame (times increasing) with its top label and score after --threshold (nil: no label kept).
    /// - Returns: the segment this frame ends (it ends at this frame's time), if any.
    mutating func add(time: Double, top: (label: String, score: Float)?) -> Segment? {
        lastTime = time
        if let top, var current = open, current.label == top.label {
            current.last = time
            current.sum += Double(top.score)
            current.count += 1
            open = current
            return nil
        }
        let ended = open.map { Self.segment($0, end: time) }
        open = top.map { Open(start: time, last: time, label: $0.label, sum: Double($0.score), count: 1) }
        return ended
    }

    /// Ends the video: the open segment, if any, ends at `duration` when that is later than its last frame (the
    /// video goes on showing it), else at its last frame. `duration` nil: the container states none, or nothing is
    /// known about what follows (decoding stopped early, --max-frames stopped sampling, or the frames ended far
    /// before the stated duration).
    mutating func finish(duration: Double?) -> Segment? {
        defer { open = nil }
        guard let current = open else { return nil }
        let end = duration.map { $0.isFinite && $0 > current.last ? $0 : current.last } ?? current.last
        return Self.segment(current, end: end)
    }

    private static func segment(_ open: Open, end: Double) -> Segment {
        Segment(start: open.start, end: end, label: open.label, score: Float(open.sum / Double(open.count)),
                frames: open.count)
    }
}

/// The output of `classify --segments`, one entry at a time (`header`, then `segment`/`image`, then `footer`).
///
/// - json: `[{"image": path, "start": 0.000, "end": 12.000, "label", "score"}]` (a still image: `"start"` and
///   `"end"` null), streamed as one array.
/// - jsonl: one such object per line.
/// - csv: `image,start,end,label,score` (a still image: empty start and end).
/// - table: the path, then one line per segment, `  0.000-12.000 s  91.20%  dog` (a still image: `  91.20%  dog`);
///   a blank line between inputs; an input that kept no label: `  (no label scored >= S)`.
struct SegmentOutput {
    let format: Classify.OutputFormat
    /// --threshold, named in the table line of an input without a label.
    let threshold: Float?
    /// Entries written (json separators).
    private var entries = 0
    /// Inputs whose path line the table has shown, and the last one's position.
    private var inputsShown = 0
    private var shownInput: Int?

    init(format: Classify.OutputFormat, threshold: Float? = nil) {
        self.format = format
        self.threshold = threshold
    }

    func header() -> String {
        switch format {
        case .json: return "["
        case .csv: return "image,start,end,label,score\n"
        case .table, .jsonl: return ""
        }
    }

    /// One segment of the video at position `input` of the run, named `path`.
    mutating func segment(input: Int, path: String, _ s: Segment) -> String {
        entry(input: input, path: path, start: s.start, end: s.end, label: s.label, score: s.score)
    }

    /// A still image with its top label after --threshold (nil: none kept; only the table shows it).
    mutating func image(input: Int, path: String, top: Prediction?) -> String {
        guard let top else { return empty(input: input, path: path) }
        return entry(input: input, path: path, start: nil, end: nil, label: top.label, score: top.score)
    }

    /// A video that gave frames but no segment (no frame kept a label): the table says so, other formats have no
    /// entry. Nothing when the table has shown segments of it already.
    mutating func empty(input: Int, path: String) -> String {
        guard format == .table, shownInput != input else { return "" }
        let why = threshold.map { "no label scored >= \($0)" } ?? "no labels"
        return pathLine(input: input, path: path) + "  (\(why))\n"
    }

    func footer() -> String {
        format == .json ? "]\n" : ""
    }

    private mutating func entry(input: Int, path: String, start: Double?, end: Double?, label: String,
                                score: Float) -> String {
        defer { entries += 1 }
        let time = { (t: Double?) in t.map(VideoTime.text) }
        switch format {
        case .table:
            let percent = score.isNaN ? "NaN" : String(format: "%.2f%%", Double(score) * 100)
            let span = start.map { "\(VideoTime.text($0))-\(time(end) ?? VideoTime.text($0)) s  " } ?? ""
            return pathLine(input: input, path: path) + "  \(span)\(percent)  \(label)\n"
        case .json, .jsonl:
            let object = JSON.object([
                ("image", JSON.string(path)), ("start", time(start) ?? "null"), ("end", time(end) ?? "null"),
                ("label", JSON.string(label)), ("score", JSON.number(score)),
            ])
            return format == .json ? (entries > 0 ? ", " : "") + object : object + "\n"
        case .csv:
            return [CSV.field(path), time(start) ?? "", time(end) ?? "", CSV.field(label), JSON.number(score)]
                .joined(separator: ",") + "\n"
        }
    }

    /// The table's path line when `input` starts (a blank line before all but the first input).
    private mutating func pathLine(input: Int, path: String) -> String {
        guard shownInput != input else { return "" }
        defer { inputsShown += 1; shownInput = input }
        return (inputsShown > 0 ? "\n" : "") + path + "\n"
    }
}

/// What classify and embed do with the items of `MediaItems` besides writing results: errors of inputs and
/// frames, a video's warnings when it ends (`VideoSummary.warnings`, the --max-frames stop), the progress line
/// (one step per input: an image, or a whole video).
struct MediaRun {
    let progress: RunProgress
    let sampling: VideoSampling
    /// Any input or frame failed (exit code 1 at the end).
    private(set) var failed = false
    /// The current video failed (decoding stopped): its last segment ends at its last frame.
    private(set) var videoFailed = false
    /// The current video's duration as its container states it.
    var lastDuration: Double?
    /// The input of the last `.failure`, until its `.videoEnd` (a failed download has none).
    private var failedInput: Int?

    init(progress: RunProgress, sampling: VideoSampling) {
        self.progress = progress
        self.sampling = sampling
    }

    /// Called first for every item: an input whose `.failure` had no `.videoEnd` (a download that failed) is done
    /// once the next input's items come.
    mutating func next(_ item: MediaItem) {
        if let input = failedInput, input != item.index { settle() }
    }

    /// Called after the last item.
    mutating func finish() {
        if failedInput != nil { settle() }
        progress.finish()
    }

    private mutating func settle() {
        failedInput = nil
        videoFailed = false
        lastDuration = nil
        progress.advance()
    }

    /// Reports an input's error (an image that could not be read).
    mutating func report(_ input: String, _ error: Error) {
        progress.message(errorLine(input, error))
        failed = true
    }

    /// Reports a `.failure` item: a video that could not be opened, or where decoding stopped (its frames before
    /// were given), or a download that failed.
    mutating func reportFailure(_ item: MediaItem, _ error: Error) {
        report(item.entry.name, error)
        failedInput = item.index
        videoFailed = true
    }

    /// Reports the error of one sampled frame (its picture could not be converted or preprocessed), naming the
    /// video and the frame's time.
    mutating func reportFrame(_ input: String, time: Double, _ error: Error) {
        let message = error is VideoError ? "\(error)" : "\(input): the frame at \(VideoTime.text(time)) s: \(error)"
        progress.message("\(ZeroShotCommand._errorPrefix)\(printable(message))\n")
        failed = true
    }

    /// An image is done.
    func done() { progress.advance() }

    /// A video is done: its warnings, and where --max-frames stopped it.
    mutating func end(_ input: String, _ summary: VideoSummary) {
        for message in summary.warnings { progress.message("warning: \(printable(message))\n") }
        if let time = summary.stoppedAtMaxFrames, let limit = sampling.maxFrames {
            progress.message("warning: \(printable(input)): sampling stopped at --max-frames \(limit), after the frame "
                             + "at \(VideoTime.text(time)) s; later frames were not taken\n")
        }
        settle()
    }

    /// A local file whose content is a video (its first bytes, as the walk recognises it); false when it cannot
    /// be read (its error comes when its turn comes).
    static func isLocalVideo(_ entry: InputEntry) -> Bool {
        // Read as the walk reads (non-blocking: a FIFO named as an input does not stop the run here).
        guard case .file(let url) = entry.location, case .success(.video) = ContentKind.ofFile(atPath: url.path) else {
            return false
        }
        return true
    }

    /// A video among the inputs of a csv run whose header has no time column: only a download can be one, since
    /// local videos are seen before the header is written.
    struct NoTimeColumn: LocalizedError, CustomStringConvertible {
        let input: String
        var description: String {
            "a video, and this run's csv has no time column for its frames (videos are recognised once "
                + "downloaded); add --every 1 (or another sampling option) to have the time column"
        }
        var errorDescription: String? { description }
    }
}
