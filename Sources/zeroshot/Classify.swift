import ArgumentParser
import Foundation
import Inputs
import Video
import ZeroShot

struct Classify: CheckedCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rank candidate labels for each image (and sampled video frame).",
        discussion: """
            Each label is put through the hypothesis template ("{}" is replaced by the label, as Python's \
            str.format) and scored against every image. CLIP and Chinese-CLIP models give a softmax over the \
            labels: the scores sum to 1 per image and say which label fits best. SigLIP models score each label \
            on its own, sigmoid(logit) with the model's logit_bias, as the pipeline does: scores do not sum to 1, \
            every label can be low (none fits) or several high, and adding a label changes no other score. \
            Images are JPEG, PNG, WebP, GIF (first frame) or BMP; EXIF orientation is applied. An image \
            that cannot be read is reported on standard error, the others are still classified, and the exit \
            code is 1. Errors and messages name an image by the path as given, as "image" in the output does.

            INPUTS:
              Files, folders and http(s) URLs, in the order given, plus those of --files-from. A folder is \
            walked recursively in a stable order (names sorted by their bytes, as Python's sorted), skipping \
            hidden files and folders (".name", AppleDouble "._name") and anything matching --exclude; files are \
            recognised by their content, and the other files found in a folder are skipped (a file named \
            explicitly that is no image or video is an error). A symbolic link loop or a folder that cannot be read is \
            reported and the rest still runs. A URL is downloaded as transformers' load_image does (30 s \
            timeout, at most 5 redirects, at most --max-download-bytes). Results are written as each batch is \
            done, in input order; while standard error is a terminal a progress line shows images done, images \
            per second and the time left (--quiet hides it). The exit code is 1 when any input failed, after all \
            the others are done.

            LABELS:
              --labels splits on commas, full-width commas (，) and ideographic commas (、) and trims spaces \
            around each label; a separator that leaves an empty label is an error. --label takes one label \
            exactly as given, commas, a leading dash ("-negative") or nothing at all included. Any label is \
            scored, as the pipeline does; warnings on standard error point at results that would otherwise look \
            wrong: an empty or whitespace-only label (scored as the template alone), a template without {} (every \
            label the same text and score), labels the template makes equal, a single label with softmax scores \
            (its score is always 1.0), and scores that are not finite (logit_scale overflows exp).

            PROMPT ENSEMBLES:
              --templates NAME|FILE puts each label through every template of a set and scores the label by the \
            mean of the L2-normalised embeddings of its prompts, L2-normalised again (CLIP's and open_clip's \
            recipe), instead of one --template. Built-in sets: openai-imagenet (the 80 templates of CLIP's \
            ImageNet evaluation), openai-cifar (CLIP's 18 CIFAR templates), simple (open_clip's 7). \
            --classnames NAME|FILE gives the candidate labels: imagenet (OpenAI's cleaned ImageNet-1k names), \
            cifar10, cifar100. A FILE has one entry per line (UTF-8; blank lines ignored); errors name the file \
            and line.

            EXAMPLES:
              zeroshot classify --labels "fox,bear,owl" animal.jpg
              zeroshot classify --label "a photo taken at night" --label "a photo taken by day" --top-k 1 *.jpg
              zeroshot classify --labels "cat,dog" --template "a blurry photo of a {}." --format json cat.png
              zeroshot classify --classnames imagenet --templates openai-imagenet --top-k 5 photos/
              zeroshot classify --model ~/models/clip-vit-base-patch32 --labels "red,green,blue" --format csv img/*.png
              zeroshot classify --labels "beach,mountains,city" --format jsonl --exclude "*.tmp" ~/Pictures
              zeroshot classify --labels "cat,dog" https://huggingface.co/datasets/Narsil/image_dummy/raw/main/parrots.png
              find /data -name "*.jpg" | zeroshot classify --labels "cat,dog" --format csv --files-from -
              zeroshot classify --db photos.db --labels "receipt,screenshot,photo" --top-k 1 --format csv
              zeroshot classify --labels "dog,cat,grass,sky" --multi-label --threshold 0.5 garden.jpg
              zeroshot classify --labels "dog,cat,empty room" --every 2 --format jsonl clip.mp4
              zeroshot classify --labels "goal,crowd,pitch" --scenes --segments match.mkv

            THRESHOLDS AND MULTI-LABEL:
              --threshold S keeps the predictions with score >= S (S from 0 to 1), after scoring over all labels \
            and before --top-k. An image may keep none: the table says so on its line ("(no label scored >= S)"), \
            json and jsonl give it an empty "predictions" list, and csv has no row for it. A NaN score is never \
            kept.
              --multi-label decides each label on its own instead of a softmax over the labels (our rule; the \
            pipeline has none). SigLIP models keep their sigmoid scores, which are already independent (the \
            checkpoint's logit_bias decides; --min-similarity is a usage error). CLIP and Chinese-CLIP models \
            score each label sigmoid((cos - τ) · exp(logit_scale)), cos the cosine similarity of image and text, \
            τ from --min-similarity (default \(ScoringRule.defaultMinSimilarity): the CLIP ViT-B/32 image-text \
            cosine above which LAION-5B kept a caption as fitting its image). τ is the cosine at which a label \
            scores 0.5; exp(logit_scale) is 100 for OpenAI's checkpoints, so the score is sharp around it (0.02 \
            above scores 0.88, 0.05 above 0.993). Check τ on a few of your images for other checkpoints and \
            templates ("logit" is exp(logit_scale) · cos). The output shape is unchanged and "logit" stays \
            logits_per_image; --multi-label --threshold 0.5 keeps the labels whose cosine reaches τ. \
            --min-similarity without --multi-label is a usage error.

            VIDEO:
              A video (MP4/MOV, Matroska/WebM, AVI or MPEG-TS, recognised by content, as images are; H.264, \
            HEVC, VP8/VP9, AV1, MPEG-4) is sampled, and each sampled frame goes through exactly the image path \
            (resize, crop, normalise) after conversion to RGB, the stream's rotation and sample aspect ratio \
            applied. Folders are walked for videos too.
              --every S (default 1): for each time 0, S, 2S, ... the first frame at or after it, each frame at \
            most once. --scenes [T]: the first frame, every frame whose scene score is above T (0 to 1, default \
            0.4), and the first frame after --max-gap seconds (default 10) without one. The scene score is \
            FFmpeg 5.1's select filter's "scene": mafd, the mean absolute difference between the frame's luma \
            plane (all bytes for packed RGB) and the previous frame's, on the 8-bit scale (0 to 255); the score \
            is min(mafd, |mafd - the previous frame's mafd|) / 100, clipped to 0..1, so a cut scores high and a \
            steady pan low (ffmpeg -vf "select='gt(scene,T)'" picks the same frames). --max-frames N takes the \
            first N samples of each video; a warning names the video and the time where it stopped. --scenes \
            alone uses 0.4; a number after it is its threshold; --scenes=T always works (write it so when the \
            next argument is an input named like a number).
              "time" is the frame's presentation time in seconds from the start of the file (the origin of \
            ffmpeg -ss), with 3 decimals, truncated: ffmpeg -ss TIME -i VIDEO -frames:v 1 gives that very frame. \
            A video that cannot be read, or where decoding stops, is reported naming it and the time where \
            decoding stopped; the frames before are kept, the other inputs are unaffected, and the exit code is 1.
              --segments merges consecutive frames of a video with the same top label (after --threshold; a \
            frame that keeps no label ends the segment and starts none) into {"image", "start", "end", "label", \
            "score"}: start is the time of the segment's first frame, end the time of the next sampled frame, or \
            for a video's last segment its duration when that is later than its last frame (else the last \
            frame's time), score the label's mean score over the segment's frames. A still image gives one entry \
            with its top label and "start" and "end" null (none when --threshold leaves it no label; the table \
            says so). csv: image,start,end,label,score (start and end empty \
            for a still image); table: the path, then one line per segment, "  0.000-12.000 s  91.20%  dog".

            FORMATS:
              table  each image's labels, best first, with percent scores (default)
              json   [{"image": path, "predictions": [{"label", "score", "logit"}]}],
                     labels sorted by score (streamed)
              jsonl  one {"image", "predictions"} object per line
              csv    image,rank,label,score,logit (an image that keeps no label
                     under --threshold has no row)
              A video's frames: table gives the path, then per frame a line
              "  12.000 s" and its labels indented one more level; json and jsonl
              {"image": path, "time": 12.000, "predictions": [...]}; csv
              image,time,rank,label,score,logit when a local input is a video or a
              sampling option (--every, --scenes, --max-gap, --max-frames) is
              given (the time empty for a still image; a video URL in a run
              without the time column is an error: add --every 1).
            """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var inputOptions: InputOptions
    @OptionGroup var videoOptions: VideoOptions
    @OptionGroup var textCacheOptions: TextCacheOptions

    @Option(name: .long, parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "Comma-separated candidate labels (also split on ， and 、; repeatable).", valueName: "a,b,c"))
    var labels: [String] = []

    @Option(name: .long, parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "One candidate label, as given (repeatable; may contain commas or start with a dash).", valueName: "label"))
    var label: [String] = []

    @OptionGroup var templateOptions: TemplateOptions

    @Option(name: .customLong("classnames"), parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "Candidate labels from a built-in class-name set (\(PromptSets.classNameSetNames.joined(separator: ", "))) "
        + "or a file with one label per line (once; not with --labels or --label).", valueName: "name|file"))
    var classNameSets: [String] = []

    @Option(name: .customLong("top-k"), parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "Show only the N best labels per image (once; scores are still computed over all labels).", valueName: "N"))
    var topKs: [Int] = []

    @Option(name: .long, parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "Keep only predictions with score >= S, 0 to 1 (once; an image may keep none).", valueName: "S"))
    var threshold: [Float] = []

    @Flag(name: .customLong("multi-label"), help: ArgumentHelp(
        "Score each label on its own: SigLIP's sigmoid; for CLIP-like models sigmoid((cos - τ) · exp(logit_scale))."))
    var multiLabel = false

    @Option(name: .customLong("min-similarity"), parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "With --multi-label on CLIP-like models: τ, the cosine at which a label scores 0.5 (once; default \(ScoringRule.defaultMinSimilarity)).",
        valueName: "cos"))
    var minSimilarities: [Float] = []

    var template: String { templateOptions.template }
    var topK: Int? { topKs.last }

    @Option(name: .long, help: "Output format: table, json, jsonl or csv.")
    var format: OutputFormat = .table

    @Flag(name: .long, help: ArgumentHelp(
        "Merge consecutive sampled frames of a video with the same top label into {image, start, end, label, score} "
        + "segments (score: the label's mean score)."))
    var segments = false

    @Option(name: .long, help: ArgumentHelp(
        "Relabel every image of this index from its stored embeddings (no image arguments; the index's model).",
        valueName: "path"))
    var db: String?

    @Argument(help: ArgumentHelp("Image and video files, folders (walked recursively) and http(s) URLs.", valueName: "image"))
    var images: [String] = []

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case table, json, jsonl, csv
    }

    /// The labels of every `--labels` in order, then those of `--label`, each as given (`--label` values are not
    /// trimmed).
    func candidateLabels() throws -> [String] {
        if let set = classNameSets.last {
            guard labels.isEmpty && label.isEmpty else {
                throw ValidationError("give candidate labels either with --classnames or with --labels/--label, not both")
            }
            do { return try PromptSets.classNames(set) } catch { throw ValidationError("--classnames: \(error)") }
        }
        var result: [String] = []
        for list in labels { result += try parseLabelList(list) }
        result += label
        guard !result.isEmpty else {
            throw ValidationError("give candidate labels with --labels \"a,b,c\" or --label X (repeatable)")
        }
        return result
    }

    func hypothesisTemplates() throws -> [String] { try templateOptions.hypothesisTemplates() }

    /// The `ScoringRule` of --threshold, --multi-label and --min-similarity.
    /// - Throws: `ValidationError` naming the option.
    func scoringRule() throws -> ScoringRule {
        try checkGivenOnce("--threshold", threshold.count)
        try checkGivenOnce("--min-similarity", minSimilarities.count)
        if let t = threshold.last, !(0...1).contains(t) {
            throw ValidationError("--threshold \(t) is out of range: give a score from 0 to 1")
        }
        if let m = minSimilarities.last {
            guard multiLabel else {
                throw ValidationError("--min-similarity applies to --multi-label scoring only (a softmax over the labels "
                                      + "has no such point); add --multi-label")
            }
            guard (-1...1).contains(m) else {
                throw ValidationError("--min-similarity \(m) is out of range: give a cosine similarity from -1 to 1")
            }
        }
        do {
            return try ScoringRule(threshold: threshold.last, multiLabel: multiLabel, minSimilarity: minSimilarities.last)
        } catch {
            throw ValidationError(error.localizedDescription)
        }
    }

    /// `scoringRule()` checked against the loaded model: --min-similarity with a sigmoid (SigLIP) model is a usage
    /// error, reported as such (exit code 64) before any image is read.
    func scoringRule(for classifier: ZeroShotClassifier) throws -> ScoringRule {
        let rule = try scoringRule()
        do {
            _ = try rule.logitOffset(scoring: classifier.model.scoring, logitScale: classifier.model.logitScale)
        } catch {
            ZeroShotCommand.reportUsageError(ValidationError("--min-similarity: \(error.localizedDescription)"),
                                             of: Classify.self)
            throw ExitCode.validationFailure
        }
        return rule
    }

    func check() throws {
        try modelOptions.check()
        try textCacheOptions.check()
        try templateOptions.check()
        try checkGivenOnce("--classnames", classNameSets.count)
        try checkGivenOnce("--top-k", topKs.count)
        if let topK { try checkRange("--top-k", topK, 1...Int.max) }
        _ = try scoringRule()
        try inputOptions.check()
        try videoOptions.check()
        if segments, !topKs.isEmpty {
            throw ValidationError("--top-k has no effect with --segments (a segment is a run of frames with the same "
                                  + "top label); leave one of them out")
        }
        if db != nil {
            guard images.isEmpty && inputOptions.filesFrom.isEmpty else {
                throw ValidationError("--db relabels the indexed images; give no image arguments with it")
            }
            // Options about reading images have nothing to act on with --db: say so rather than ignore them.
            if !inputOptions.exclude.isEmpty {
                throw ValidationError("--exclude applies to walked folders; with --db, exclude at zeroshot index time")
            }
            if inputOptions.maxDownloadBytes != RemoteFile.defaultMaxBytes {
                throw ValidationError("--max-download-bytes applies to URLs read; --db reads no image")
            }
            if let option = videoOptions.givenNames.first {
                throw ValidationError("\(option) applies to videos read; --db reads none (their frames were sampled at "
                                      + "zeroshot index time)")
            }
            if segments {
                throw ValidationError("--segments merges the frames of videos read; it is not available with --db")
            }
        } else {
            guard try inputOptions.hasInputs(images) else {
                throw ValidationError("give at least one image file, folder or URL (or --files-from FILE)")
            }
        }
        let labels = try candidateLabels()
        if let set = templateOptions.templateSet {
            try validateTemplates(try hypothesisTemplates(), from: set, for: labels)
        } else {
            try validateTemplate(template, for: labels)
        }
    }

    func run() throws {
        if let db { return try runIndexed(db: db) }
        let labels = try candidateLabels()
        let hypothesisTemplates = try hypothesisTemplates()
        let sampling = try videoOptions.sampling()
        let walk = try inputOptions.walk(images)
        let classifier = try modelOptions.loadClassifier(textCache: textCacheOptions.directory)
        let rule = try scoringRule(for: classifier)
        for message in try templateWarnings(labels, hypothesisTemplates, scoring: rule.effectiveScoring(classifier.model.scoring)) {
            warn(message)
        }
        let media = MediaItems(walk.entries, loader: inputOptions.loader, sampling: sampling,
                               maxPixels: modelOptions.maxPixels)
        var videos = MediaRun(progress: inputOptions.progress(total: walk.entries.count,
                                                              skippedNonImages: walk.skippedNonImages),
                              sampling: sampling)
        // csv has a time column when the run may give frames: a sampling option, or a local video among the inputs
        // (a video URL is only known once downloaded: without the column it is an error naming the fix).
        let timeColumn = format == .csv && !segments
            && (videoOptions.anyGiven || walk.entries.contains(where: MediaRun.isLocalVideo))
        var output = ClassifyOutput(format: format, threshold: rule.threshold, timeColumn: timeColumn)
        var segmentOutput = SegmentOutput(format: format, threshold: rule.threshold)
        var merger = SegmentMerger(), videoFrames = 0, refused: Int? = nil
        let walkFailed = !walk.problems.isEmpty
        var succeeded = 0, nonFinite = 0
        try writeOut(segments ? segmentOutput.header() : output.header())
        // Scores over all labels (for the non-finite check), then --threshold, then --top-k.
        try classifier.classify(media, candidateLabels: labels, hypothesisTemplates: hypothesisTemplates,
                                rule: rule.droppingThreshold, load: { item in try media.image(item) }) { item, result in
            let entry = item.entry
            videos.next(item)
            switch item {
            case .image:
                switch result {
                case .success(let predictions):
                    succeeded += 1
                    if predictions.contains(where: { !$0.score.isFinite }) { nonFinite += 1 }
                    let shown = Self.shown(predictions, rule: rule, topK: topK)
                    try writeOut(segments ? segmentOutput.image(input: item.index, path: entry.name, top: shown.first)
                                          : output.item(entry.name, shown))
                case .failure(let error):
                    videos.report(entry.name, error)
                }
                videos.done()
            case .frame(let index, _, let frame):
                if refused == index { break }
                if format == .csv && !segments && !timeColumn {
                    // Only a download can be a video the walk did not see: the header has no time column.
                    refused = index
                    videos.report(entry.name, MediaRun.NoTimeColumn(input: entry.name))
                    break
                }
                videoFrames += 1
                switch result {
                case .success(let predictions):
                    succeeded += 1
                    if predictions.contains(where: { !$0.score.isFinite }) { nonFinite += 1 }
                    let shown = Self.shown(predictions, rule: rule, topK: topK)
                    if segments {
                        if let s = merger.add(time: frame.time, top: shown.first.map { ($0.label, $0.score) }) {
                            try writeOut(segmentOutput.segment(input: index, path: entry.name, s))
                        }
                    } else {
                        try writeOut(output.frame(video: index, path: entry.name, time: frame.time, shown))
                    }
                case .failure(let error):
                    videos.reportFrame(entry.name, time: frame.time, error)
                    if segments, let s = merger.add(time: frame.time, top: nil) {
                        try writeOut(segmentOutput.segment(input: index, path: entry.name, s))
                    }
                }
                videos.lastDuration = frame.videoDuration
            case .failure(_, _, let error):
                videos.reportFailure(item, error)
            case .videoEnd(let index, _, let summary):
                if segments {
                    // The stated duration ends the last segment only when the frames reached it: not after a
                    // decoding error, a --max-frames stop, or a duration the frames do not back.
                    let known = !videos.videoFailed && summary.stoppedAtMaxFrames == nil && !summary.durationUnconfirmed
                    if let s = merger.finish(duration: known ? videos.lastDuration : nil) {
                        try writeOut(segmentOutput.segment(input: index, path: entry.name, s))
                    } else if videoFrames > 0 {
                        try writeOut(segmentOutput.empty(input: index, path: entry.name))
                    }
                }
                merger = SegmentMerger()
                videoFrames = 0
                videos.end(entry.name, summary)
            }
        }
        try writeOut(segments ? segmentOutput.footer() : output.footer())
        videos.finish()
        if nonFinite > 0 {
            warn(Self.nonFiniteScoresWarning(images: nonFinite, of: succeeded, logitScale: classifier.model.logitScale,
                                             imageProcessor: classifier.imageProcessor.config))
        }
        if walkFailed || videos.failed { throw ExitCode(1) }
    }

    /// Why scores came out NaN, naming logit_scale, or the preprocessor_config.json value that makes every
    /// pixel_values infinite (`image_std` 0): transformers gives the same NaN, so the numbers are kept.
    static func nonFiniteScoresWarning(images: Int, of total: Int, logitScale: Float,
                                       imageProcessor: ImageProcessorConfig? = nil) -> String {
        let scale = expf(logitScale)
        let which = images == total ? (total == 1 ? "the image" : "all \(total) images") : "\(images) of \(total) images"
        let zeroStd = imageProcessor.map { $0.doNormalize && $0.imageStd.contains(0) } ?? false
        let cause: String
        if !scale.isFinite {
            cause = "logit_scale is \(logitScale), and exp(logit_scale) overflows float32 (above about 88.72), so the "
                + "logits_per_image are infinite; the checkpoint's logit_scale is likely wrong"
        } else if zeroStd, let std = imageProcessor?.imageStd {
            cause = "preprocessor_config.json's image_std \(std) holds 0, so normalizing divides by zero and the "
                + "pixel_values are not finite (logit_scale is \(logitScale), exp(logit_scale) = \(scale))"
        } else {
            cause = "logit_scale is \(logitScale) (exp(logit_scale) = \(scale)), so the logits_per_image themselves are not "
                + "finite: the checkpoint's weights or the image may hold NaN or infinite values"
        }
        return "scores are not finite (NaN, shown as NaN in a table, null in JSON and CSV) for \(which): \(cause); "
            + "transformers gives NaN too"
    }

    /// The predictions written for an image: those `rule` keeps (--threshold), then the first `topK`.
    static func shown(_ predictions: [Prediction], rule: ScoringRule, topK: Int?) -> [Prediction] {
        let kept = predictions.filter { rule.keeps($0.score) }
        return Array(kept.prefix(topK ?? kept.count))
    }

    /// One image's JSON object, `{"image", "predictions"}`.
    static func object(_ result: (String, [Prediction])) -> String {
        ClassifyOutput.object(result.0, result.1)
    }

    /// The whole output for these results at once (as `ClassifyOutput` streams it).
    static func render(_ results: [(String, [Prediction])], format: OutputFormat, threshold: Float? = nil) -> String {
        var output = ClassifyOutput(format: format, threshold: threshold)
        return output.header() + results.map { output.item($0.0, $0.1) }.joined() + output.footer()
    }
}

/// The output of `classify`, one image at a time, so that results are written as they come (`header`, then `item`
/// per image or `frame` per sampled video frame, in order, then `footer`); the concatenation is the same text for
/// any number of images.
///
/// - table: each image's path, then its labels best first with percent scores; a blank line between images. An
///   image left without predictions by --threshold has the line `  (no label scored >= S)`. A video: its path once,
///   then per frame an indented time line (`  12.000 s`) and its predictions indented one more level.
/// - json: `[{"image": path, "predictions": [{"label", "score", "logit"}]}]`, streamed as one array; a frame has
///   `"time": 12.000` (seconds, 3 decimals) after "image".
/// - jsonl: one `{"image", "predictions"}` (frames: `{"image", "time", "predictions"}`) object per line.
/// - csv: `image,rank,label,score,logit` (no row for an image without predictions); with `timeColumn`,
///   `image,time,rank,label,score,logit`, the time empty for a still image.
struct ClassifyOutput {
    let format: Classify.OutputFormat
    /// --threshold, named in the table line of an image without predictions.
    let threshold: Float?
    /// csv: a time column after "image" (a run with videos or a sampling option).
    let timeColumn: Bool
    private(set) var count = 0
    /// The table's video whose path line was written last (`frame`'s `video`).
    private var shownVideo: Int?

    init(format: Classify.OutputFormat, threshold: Float? = nil, timeColumn: Bool = false) {
        self.format = format
        self.threshold = threshold
        self.timeColumn = timeColumn
    }

    func header() -> String {
        switch format {
        case .json: return "["
        case .csv: return timeColumn ? "image,time,rank,label,score,logit\n" : "image,rank,label,score,logit\n"
        case .table, .jsonl: return ""
        }
    }

    /// The text of one image's predictions (already cut to --top-k).
    mutating func item(_ path: String, _ predictions: [Prediction]) -> String {
        defer { count += 1; shownVideo = nil }
        switch format {
        case .table:
            return (count > 0 ? "\n" : "") + path + "\n" + tableLines(predictions, indent: "  ")
        case .json:
            return (count > 0 ? ", " : "") + Self.object(path, predictions)
        case .jsonl:
            return Self.object(path, predictions) + "\n"
        case .csv:
            return csvRows(path, time: timeColumn ? "" : nil, predictions)
        }
    }

    /// The text of one sampled frame's predictions (already cut to --top-k): the frame at `time` seconds of the
    /// video `path`. `video` tells the table which frames belong together: the same number for the frames of one
    /// video, another for the next input (its position in the run).
    mutating func frame(video: Int, path: String, time: Double, _ predictions: [Prediction]) -> String {
        defer { count += 1; shownVideo = video }
        let timeText = VideoTime.text(time)
        switch format {
        case .table:
            let head = shownVideo == video ? "" : (count > 0 ? "\n" : "") + path + "\n"
            return head + "  \(timeText) s\n" + tableLines(predictions, indent: "    ")
        case .json:
            return (count > 0 ? ", " : "") + Self.object(path, time: timeText, predictions)
        case .jsonl:
            return Self.object(path, time: timeText, predictions) + "\n"
        case .csv:
            return csvRows(path, time: timeText, predictions)
        }
    }

    func footer() -> String {
        format == .json ? "]\n" : ""
    }

    /// The table lines of predictions, each indented by `indent`.
    private func tableLines(_ predictions: [Prediction], indent: String) -> String {
        if predictions.isEmpty {
            let why = threshold.map { "no label scored >= \($0)" } ?? "no labels"
            return indent + "(\(why))\n"
        }
        let width = predictions.map(\.label.count).max() ?? 0
        return predictions.map { p in
            // NaN has no sign worth showing (printf writes "-nan" for the NaN of inf - inf).
            let percent = p.score.isNaN ? "     NaN" : String(format: "%7.2f%%", Double(p.score) * 100)
            return "\(indent)\(percent)  \(p.label)\(String(repeating: " ", count: max(0, width - p.label.count)))"
                .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n") + "\n"
    }

    /// csv rows, with a time field after the path when `time` is given.
    private func csvRows(_ path: String, time: String?, _ predictions: [Prediction]) -> String {
        let lead = CSV.field(path) + (time.map { "," + $0 } ?? "")
        return predictions.enumerated().map { rank, p in
            [lead, "\(rank + 1)", CSV.field(p.label), JSON.number(p.score), JSON.number(p.logit)]
                .joined(separator: ",") + "\n"
        }.joined()
    }

    static func object(_ path: String, time: String? = nil, _ predictions: [Prediction]) -> String {
        let predictions = predictions.map { p in
            JSON.object([("label", JSON.string(p.label)), ("score", JSON.number(p.score)), ("logit", JSON.number(p.logit))])
        }
        var members: [(String, String)] = [("image", JSON.string(path))]
        if let time { members.append(("time", time)) }
        members.append(("predictions", JSON.array(predictions)))
        return JSON.object(members)
    }
}
