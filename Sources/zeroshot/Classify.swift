import ArgumentParser
import Foundation
import Inputs
import ZeroShot

struct Classify: CheckedCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rank candidate labels for each image.",
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
            explicitly that is no image is an error). A symbolic link loop or a folder that cannot be read is \
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

            FORMATS:
              table  each image's labels, best first, with percent scores (default)
              json   [{"image": path, "predictions": [{"label", "score", "logit"}]}] sorted by score (streamed)
              jsonl  one {"image", "predictions"} object per line
              csv    image,rank,label,score,logit (an image that keeps no label under --threshold has no row)
            """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var inputOptions: InputOptions
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

    @Option(name: .long, help: ArgumentHelp(
        "Relabel every image of this index from its stored embeddings (no image arguments; the index's model).",
        valueName: "path"))
    var db: String?

    @Argument(help: ArgumentHelp("Image files, folders (walked recursively) and http(s) URLs.", valueName: "image"))
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
        let walk = try inputOptions.walk(images)
        let classifier = try modelOptions.loadClassifier(textCache: textCacheOptions.directory)
        let rule = try scoringRule(for: classifier)
        for message in try templateWarnings(labels, hypothesisTemplates, scoring: rule.effectiveScoring(classifier.model.scoring)) {
            warn(message)
        }
        let loader = inputOptions.loader, maxPixels = modelOptions.maxPixels
        let progress = inputOptions.progress(total: walk.entries.count, skippedNonImages: walk.skippedNonImages)
        var output = ClassifyOutput(format: format, threshold: rule.threshold)
        var failed = !walk.problems.isEmpty
        var succeeded = 0, nonFinite = 0
        try writeOut(output.header())
        // Scores over all labels (for the non-finite check), then --threshold, then --top-k.
        try classifier.classify(walk.entries, candidateLabels: labels, hypothesisTemplates: hypothesisTemplates,
                                rule: rule.droppingThreshold, load: { entry in try loader.image(entry, maxPixels: maxPixels) }) { entry, result in
            switch result {
            case .success(let predictions):
                succeeded += 1
                if predictions.contains(where: { !$0.score.isFinite }) { nonFinite += 1 }
                try writeOut(output.item(entry.name, Self.shown(predictions, rule: rule, topK: topK)))
            case .failure(let error):
                progress.message(errorLine(entry.name, error))
                failed = true
            }
            progress.advance()
        }
        try writeOut(output.footer())
        progress.finish()
        if nonFinite > 0 {
            warn(Self.nonFiniteScoresWarning(images: nonFinite, of: succeeded, logitScale: classifier.model.logitScale,
                                             imageProcessor: classifier.imageProcessor.config))
        }
        if failed { throw ExitCode(1) }
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
/// per image in order, then `footer`); the concatenation is the same text for any number of images.
///
/// - table: each image's path, then its labels best first with percent scores; a blank line between images. An
///   image left without predictions by --threshold has the line `  (no label scored >= S)`.
/// - json: `[{"image": path, "predictions": [{"label", "score", "logit"}]}]`, streamed as one array.
/// - jsonl: one `{"image", "predictions"}` object per line.
/// - csv: `image,rank,label,score,logit` (no row for an image without predictions).
struct ClassifyOutput {
    let format: Classify.OutputFormat
    /// --threshold, named in the table line of an image without predictions.
    let threshold: Float?
    private(set) var count = 0

    init(format: Classify.OutputFormat, threshold: Float? = nil) {
        self.format = format
        self.threshold = threshold
    }

    func header() -> String {
        switch format {
        case .json: return "["
        case .csv: return "image,rank,label,score,logit\n"
        case .table, .jsonl: return ""
        }
    }

    /// The text of one image's predictions (already cut to --top-k).
    mutating func item(_ path: String, _ predictions: [Prediction]) -> String {
        defer { count += 1 }
        switch format {
        case .table:
            let width = predictions.map(\.label.count).max() ?? 0
            if predictions.isEmpty {
                let why = threshold.map { "no label scored >= \($0)" } ?? "no labels"
                return (count > 0 ? "\n" : "") + path + "\n  (\(why))\n"
            }
            return (count > 0 ? "\n" : "") + path + "\n" + predictions.map { p in
                // NaN has no sign worth showing (printf writes "-nan" for the NaN of inf - inf).
                let percent = p.score.isNaN ? "     NaN" : String(format: "%7.2f%%", Double(p.score) * 100)
                return "  \(percent)  \(p.label)\(String(repeating: " ", count: max(0, width - p.label.count)))"
                    .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
            }.joined(separator: "\n") + "\n"
        case .json:
            return (count > 0 ? ", " : "") + Self.object(path, predictions)
        case .jsonl:
            return Self.object(path, predictions) + "\n"
        case .csv:
            return predictions.enumerated().map { rank, p in
                [CSV.field(path), "\(rank + 1)", CSV.field(p.label), JSON.number(p.score), JSON.number(p.logit)]
                    .joined(separator: ",") + "\n"
            }.joined()
        }
    }

    func footer() -> String {
        format == .json ? "]\n" : ""
    }

    static func object(_ path: String, _ predictions: [Prediction]) -> String {
        let predictions = predictions.map { p in
            JSON.object([("label", JSON.string(p.label)), ("score", JSON.number(p.score)), ("logit", JSON.number(p.logit))])
        }
        return JSON.object([("image", JSON.string(path)), ("predictions", JSON.array(predictions))])
    }
}
