import ArgumentParser
import EvalReport
import Evaluation
import Foundation
import Inputs
import ZeroShot

struct Eval: CheckedCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure zero-shot accuracy on a labelled dataset: top-1, top-5, per-class recall, confusion.",
        discussion: """
            Every class of the dataset is a candidate label: its display name is put through the hypothesis \
            template (--template, default "\(ZeroShotClassifier.defaultHypothesisTemplate)") or through every \
            template of a prompt ensemble (--templates: the class embedding is the mean of the L2-normalised \
            prompt embeddings, renormalised, as CLIP's and open_clip's zero-shot evaluation). Each image is scored \
            against all classes as the zero-shot-image-classification pipeline scores candidate labels (softmax \
            over the classes for CLIP and Chinese-CLIP, sigmoid per class for SigLIP) and ranked by score, ties in \
            class order. top-1 is the fraction of images whose best class is the true one, top-5 the fraction \
            whose true class is among the 5 best; mean_per_class_recall is the mean of the recall of the classes \
            that have images (scikit-learn's balanced_accuracy_score, clip_benchmark's mean_per_class_recall); \
            per-class precision and recall are scikit-learn's (0 where nothing is predicted or present).

            DATASET:
              A folder in ImageFolder layout (torchvision's ImageFolder): one sub-folder per class, the classes \
            in the order of Python's sorted() on the folder names (by code point: "10" before "9", "Z" before \
            "a"). Hidden folders (".name") are not classes. Each class folder is walked recursively (names sorted \
            by their bytes, hidden names skipped); images are recognised by their content and other files are \
            counted and reported, as are files directly in the root. An empty class folder is still a class (a \
            warning says so).
              Or a manifest: a .csv file of path,label records (RFC 4180 quoting; an optional header row \
            path,label, or label,path for the columns in that order) or a .jsonl file with one {"path": ..., "label": ...} object per line. Paths are relative \
            to the manifest's folder; absolute paths, file:// and http(s) URLs work too (another scheme is an error). String labels: the classes are \
            the sorted distinct labels. Integer labels (JSON numbers with an integral value, or CSV labels that are all \
            plain non-negative integers, spaces around them allowed) are class indices: the classes are 0 to the largest label (at most \
            \(EvalDataset.maxClasses) classes), or one per --classnames entry (a larger label is an error). Errors name the manifest and the line. A record that lists an image again is evaluated again, with a \
            warning naming both lines.

            CLASS NAMES:
              --classnames imagenet|cifar10|cifar100|FILE gives the display names in class-index order (a FILE has \
            one per line, blank lines ignored), so that folders can be n01440764 or 00 and labels can be \
            integers. Its count must equal the number of classes, and the names of a FILE must be distinct (they \
            key per_class). OpenAI's ImageNet names repeat "missile" (classes 657 and 744) and "sunglasses" (836, \
            837): the prompts use them as shipped, and the later one is shown as "missile (#744)". Without \
            --classnames the folder names or labels are the names. At most \(EvalDataset.maxClasses) classes in all \
            (the confusion matrix has classes² cells).

            OUTPUT:
              table  summary, per-class n/precision/recall, and the most confused pairs (default)
              json   {"n", "top1", "top5", "mean_per_class_recall", "classes": [names], "per_class": {name: \
            {"n", "precision", "recall"}}, "confusion": [[int]]} (rows: true class, columns: predicted class), \
            plus "failed": [{"image", "error"}] when an image could not be evaluated.
              --predictions FILE writes one JSON line per evaluated image, in dataset order, as its batch is \
            done: {"image", "true_label", "top5": [{"label", "score"}], "true_score", "correct"} ("correct": \
            top-1). FILE must be a file ("-" is refused: standard output carries the metrics).
              An image that cannot be read or decoded is reported on standard error, listed under "failed" and \
            left out of n (never counted as wrong); the others are still evaluated, and the exit code is 1 after \
            everything is written.

            REPORT:
              --report DIR writes index.html, a self-contained page (no scripts, no network) with the summary, the \
            charts, the 10 most confused class pairs with up to 4 example thumbnails each (thumbs/NNN.png) and a \
            per-class table; confusion.png and confusion.svg, the confusion matrix as a heatmap (rows: true class, \
            columns: predicted, coloured by the share of the true class's images, counts in the cells when they \
            fit; with many classes only every k-th class is named on the axes, as the picture says); recall.png \
            and recall.svg, per-class recall bars, worst first, with each class's image count. DIR is created when \
            missing (before the run, so a bad path fails at once); files of other names in it are left alone. \
            Outputs never overwrite the dataset or each other: --predictions naming the manifest, an image or a \
            report file, report files that \
            are images of the dataset, and a DIR (or --text-cache DIR) inside an ImageFolder dataset (the next run \
            would read it as a class, or its files as images) are refused; a hidden DIR there (.report) is allowed. When the \
            predictions or the report cannot be written (disk full), the metrics are still written, and the exit \
            code is 1.

            EXAMPLES:
              zeroshot eval --classnames cifar10 --templates openai-cifar cifar10-test/
              zeroshot eval --model google/siglip-base-patch16-224 --format json val.csv > metrics.json
              zeroshot eval --classnames imagenet --templates openai-imagenet --predictions preds.jsonl imagenet-val.jsonl
              zeroshot eval --classnames cifar100 --templates openai-imagenet --report report/ cifar100-test.jsonl
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var textCacheOptions: TextCacheOptions

    @Option(name: .customLong("classnames"), parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "Display names of the classes in class-index order: a built-in set (\(PromptSets.classNameSetNames.joined(separator: ", "))) "
        + "or a file with one name per line (once).", valueName: "name|file"))
    var classNameSets: [String] = []

    @OptionGroup var templateOptions: TemplateOptions

    @Option(name: .long, help: "Output format: table or json.")
    var format: OutputFormat = .table

    @Option(name: .long, parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "Write each evaluated image's true label, top-5 and scores to FILE, one JSON line per image (once).",
        valueName: "file"))
    var predictions: [String] = []

    @Option(name: .long, parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "Write an HTML report with a confusion heatmap, per-class recall and example thumbnails to DIR (once).",
        valueName: "dir"))
    var report: [String] = []

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Images per image-tower call.", valueName: "N"))
    var batch: Int = 16

    @Flag(name: .long, help: "No progress line on standard error.")
    var quiet = false

    @Argument(help: ArgumentHelp("An ImageFolder folder, or a .csv or .jsonl manifest of path,label.", valueName: "dataset"))
    var dataset: String

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    /// `--classnames` read (nil without it).
    func classNames() throws -> [String]? {
        guard let set = classNameSets.last else { return nil }
        do { return try PromptSets.classNames(set) } catch { throw ValidationError("--classnames: \(error)") }
    }


    func check() throws {
        try modelOptions.check()
        try textCacheOptions.check()
        try templateOptions.check()
        try checkGivenOnce("--classnames", classNameSets.count)
        try checkGivenOnce("--predictions", predictions.count)
        try checkRange("--batch", batch, 1...4096)
        if predictions.last == "-" {
            throw ValidationError("--predictions -: standard output carries the metrics; give a file")
        }
        if predictions.last == "" { throw ValidationError("--predictions: give a file name") }
        try checkGivenOnce("--report", report.count)
        if report.last == "" { throw ValidationError("--report: give a directory") }
        guard !dataset.isEmpty else {
            throw ValidationError("the dataset argument is an empty string (an unset variable?); give a folder or manifest")
        }
        _ = try classNames()
        if templateOptions.templateSet == nil { try validateTemplate(templateOptions.template, for: ["x"]) }
        _ = try templateOptions.hypothesisTemplates()
    }

    func run() throws {
        let names = try classNames()
        let hypothesisTemplates = try templateOptions.hypothesisTemplates()
        let data = try EvalDataset.load(dataset, classCount: names?.count)
        let classes: [String]
        do {
            classes = try displayNames(names, for: data, source: classNameSets.last.map { "--classnames \($0)" },
                                       builtIn: classNameSets.last.map { PromptSets.builtInClassNames($0) != nil } ?? false)
        } catch {
            ZeroShotCommand.reportUsageError(error, of: Eval.self)
            throw ExitCode.validationFailure
        }
        // The confusion matrix has classes² cells: 70,000 names of --classnames (or class folders) ran for minutes
        // towards 39 GB before this check.
        guard classes.count <= EvalDataset.maxClasses else {
            throw EvalCommandError.tooManyClasses(dataset, classes: classes.count,
                                                  source: classNameSets.last.map { "--classnames \($0)" })
        }
        for problem in data.problems {
            StandardStreams.err("\(ZeroShotCommand._errorPrefix)\(printable(problem.description))\n")
        }
        for message in data.warnings(classNames: classes) { warn(printable((dataset.hasSuffix("/") ? dataset : dataset + "/") + message)) }
        for message in data.manifestWarnings(file: dataset) { warn(printable(message)) }
        if data.filesOutsideClasses > 0 {
            warn("\(dataset): \(data.filesOutsideClasses) entr\(data.filesOutsideClasses == 1 ? "y" : "ies") directly in "
                 + "the dataset folder belong\(data.filesOutsideClasses == 1 ? "s" : "") to no class folder; left out")
        }
        if data.skippedNonImages > 0 {
            warn("\(dataset): \(data.skippedNonImages) non-image file\(data.skippedNonImages == 1 ? "" : "s") in the "
                 + "class folders skipped")
        }
        // Classes of a manifest that no record names (integer labels, or --classnames): still candidate labels.
        if data.layout != .imageFolder {
            var present = Set<Int>()
            for item in data.items { present.insert(item.trueClass) }
            let absent = classes.count - present.count
            if absent > 0 {
                warn("\(dataset): \(absent) of \(classes.count) classes have no image in the manifest; they are still "
                     + "candidate labels (an image may be predicted as one) and are left out of mean_per_class_recall")
            }
        }
        guard !data.items.isEmpty else {
            throw EvalCommandError.noImages(dataset)
        }
        for (i, template) in hypothesisTemplates.enumerated() {
            do { _ = try applyHypothesisTemplate(template, to: (names ?? classes)[0]) } catch {
                throw ValidationError("template #\(i + 1): \(error)")
            }
        }
        do { try checkOutputsSpareDataset(data) } catch {
            ZeroShotCommand.reportUsageError(error, of: Eval.self)
            throw ExitCode.validationFailure
        }
        if let dir = report.last { try EvalReport.ensureDirectory(URL(fileURLWithPath: dir)) }
        let classifier = try modelOptions.loadClassifier(batchSize: batch, textCache: textCacheOptions.directory)
        if classes.count == 1 {
            warn("\(dataset): one class: every image is predicted as it, so top-1 and top-5 are 100% whatever the model")
        }
        // The single-label hint is classify's (compare the logit); eval says its own above.
        for message in try templateWarnings(names ?? classes, hypothesisTemplates, scoring: classifier.model.scoring)
        where !(classes.count == 1 && message.hasPrefix("only one candidate label")) {
            warn(message)
        }
        var predictionsFile: FileHandle?
        if let path = predictions.last {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw EvalCommandError.cannotWrite(path, reason: String(cString: strerror(errno))) }
            predictionsFile = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        }
        defer { try? predictionsFile?.close() }
        let progress = RunProgress(total: data.items.count, skippedNonImages: 0,
                                   enabled: !quiet && isatty(STDERR_FILENO) == 1)
        let evaluator = Evaluator(classifier: classifier, templates: hypothesisTemplates, batchSize: batch)
        // A predictions file that cannot be written (disk full) is reported once and given up; the evaluation
        // goes on, so that the metrics are still written (the exit code is then 1).
        var predictionsFailed = false
        let outcome = try evaluator.run(data, classNames: classes, promptNames: names, record: { record, _ in
            if let file = predictionsFile, let path = predictions.last {
                do { try file.write(contentsOf: Data(record.predictionLine(classes: classes).utf8)) } catch {
                    let message = EvalCommandError.cannotWrite(path, reason: error.localizedDescription).description
                    progress.message("\(ZeroShotCommand._errorPrefix)\(printable(message)); no more predictions are "
                                     + "written, the evaluation goes on\n")
                    try? file.close()
                    predictionsFile = nil
                    predictionsFailed = true
                }
            }
            progress.advance()
        }, failure: { failure in
            // An ImageFolder names its images below the root; the message names the file as the user finds it.
            let folder = data.layout == .imageFolder ? (dataset.hasSuffix("/") ? dataset : dataset + "/") : ""
            progress.message("\(ZeroShotCommand._errorPrefix)\(printable(folder + failure.error))\n")
            progress.advance()
        })
        progress.finish()
        // Classes whose every image failed: they drop out of the metrics, which would otherwise say nothing.
        var failedByClass = [Int](repeating: 0, count: classes.count)
        for item in data.items { failedByClass[item.trueClass] += 1 }
        for (k, count) in failedByClass.enumerated() where count > 0 && outcome.result.perClass[k].n == 0 {
            warn("class \"\(printable(classes[k]))\": none of its \(count) image\(count == 1 ? "" : "s") could be evaluated; "
                 + "it is left out of n, top-1, top-5 and mean_per_class_recall")
        }
        var details = [("dataset", "\(dataset) (\(data.layout.rawValue), \(classes.count) class\(classes.count == 1 ? "" : "es"))"),
                       ("model", classifier.modelDirectory.path),
                       ("precision", modelOptions.precision.rawValue),
                       ("templates", templateOptions.summary(count: hypothesisTemplates.count))]
        if let set = classNameSets.last { details.append(("class names", set)) }
        var reportError: Error?
        if let dir = report.last {
            // The page's summary rows are capitalised ("Top-1 accuracy"); so are these.
            var reportDetails = details.map { ($0.0.prefix(1).uppercased() + $0.0.dropFirst(), $0.1) }
            if !outcome.failed.isEmpty {
                reportDetails.append(("Not evaluated", "\(outcome.failed.count) unreadable image\(outcome.failed.count == 1 ? "" : "s")"))
            }
            let title = URL(fileURLWithPath: dataset).standardizedFileURL.lastPathComponent
            // The metrics are written even when the report cannot be; its error comes after them.
            do {
                _ = try EvalReport.write(outcome.result, to: URL(fileURLWithPath: dir), title: title, details: reportDetails)
            } catch {
                reportError = error
            }
        }
        switch format {
        case .json:
            try writeOut(outcome.result.json(failed: outcome.failed))
        case .table:
            try writeOut(Self.table(outcome.result, failed: outcome.failed.count, details: details))
        }
        if let reportError { throw reportError }
        if outcome.result.n == 0 {
            StandardStreams.err("\(ZeroShotCommand._errorPrefix)\(printable(dataset)): none of the \(data.items.count) "
                                + "image\(data.items.count == 1 ? "" : "s") could be evaluated; the metrics are empty\n")
        }
        if !outcome.failed.isEmpty || !data.problems.isEmpty || predictionsFailed { throw ExitCode(1) }
    }

    /// Refuses outputs that would overwrite or grow the dataset: `--predictions` naming the manifest or one of its
    /// images, `--report` files (index.html, the charts, thumbs/NNN.png) that are files of the dataset, and, for an
    /// ImageFolder, a `--report` directory inside the root or a class folder (the next run would read it as a class
    /// folder, or its thumbnails as images of the class). A hidden directory there (".report") is walked by
    /// nobody and allowed. Files are compared by identity (device and inode), so links and other spellings of a
    /// path are caught.
    func checkOutputsSpareDataset(_ data: EvalDataset) throws {
        struct FileID: Hashable { let device: UInt64, inode: UInt64 }
        func fileID(_ path: String) -> FileID? {
            var st = stat()
            guard stat(path, &st) == 0 else { return nil }
            return FileID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        }
        try checkOutsideImageFolder(data)
        guard predictions.last != nil || report.last != nil else { return }
        var inputs: [FileID: String] = [:]
        if data.layout != .imageFolder, let id = fileID(dataset) { inputs[id] = "the dataset's manifest" }
        for item in data.items {
            if case .file(let url) = item.entry.location, let id = fileID(url.path) {
                inputs[id] = inputs[id] ?? "image \(item.image) of the dataset"
            }
        }
        if let path = predictions.last, let id = fileID(path), let what = inputs[id] {
            throw ValidationError("--predictions \(printable(path)): that file is \(printable(what)); it would be "
                                  + "overwritten: give another file")
        }
        guard let dir = report.last else { return }
        let url = URL(fileURLWithPath: dir)
        var outputs = EvalReport.fileNames.map { url.appendingPathComponent($0).path }
        let thumbs = url.appendingPathComponent("thumbs")
        if let names = try? FileManager.default.contentsOfDirectory(atPath: thumbs.path) {
            outputs += names.map { thumbs.appendingPathComponent($0).path }
        }
        for path in outputs {
            if let id = fileID(path), let what = inputs[id] {
                throw ValidationError("--report \(printable(dir)): \(printable(path)) is \(printable(what)); the "
                                      + "report would overwrite it: give another directory")
            }
        }
        if let path = predictions.last {
            let target = Self.resolved(path)
            let reportFiles = EvalReport.fileNames.map { Self.resolved(url.appendingPathComponent($0).path) }
            if reportFiles.contains(target) || (target as NSString).deletingLastPathComponent == Self.resolved(thumbs.path) {
                throw ValidationError("--predictions \(printable(path)) is a file of the report in \(printable(dir)); "
                                      + "the report would overwrite it: give another file")
            }
        }
    }

    /// The directories eval writes (--report, the text cache) must not be inside an ImageFolder dataset's root or
    /// class folders, unless hidden: the next run would read them as class folders and their files as images.
    func checkOutsideImageFolder(_ data: EvalDataset) throws {
        guard data.layout == .imageFolder else { return }
        let root = Self.resolved(URL(fileURLWithPath: dataset).path)
        let folders = [root] + data.classIDs.map { Self.resolved(root + "/" + $0) }
        let outputs = [("--report", report.last), ("--text-cache", textCacheOptions.directory?.path)]
        for case let (flag, dir?) in outputs {
            let path = Self.resolved(dir)
            for folder in folders {
                guard path == folder || path.hasPrefix(folder == "/" ? "/" : folder + "/") else { continue }
                let below = path.dropFirst(folder.count).split(separator: "/")
                if below.contains(where: { $0.hasPrefix(".") }) { continue }
                let what = folder == root ? "the ImageFolder dataset \(dataset)" : "the class folder \(folder)"
                throw ValidationError("\(flag) \(printable(dir)) is inside \(printable(what)): the next run would read "
                                      + "it as a class folder or its files as images; give a directory outside the "
                                      + "dataset, or a hidden one (.name)")
            }
        }
    }

    /// `path` absolute with symbolic links resolved, as far as it exists (the missing rest appended as written).
    static func resolved(_ path: String) -> String {
        var existing = URL(fileURLWithPath: path).standardizedFileURL.path
        var rest: [String] = []
        var found = realpath(existing, nil)
        while found == nil, existing != "/" {
            rest.insert((existing as NSString).lastPathComponent, at: 0)
            existing = (existing as NSString).deletingLastPathComponent
            found = realpath(existing, nil)
        }
        guard let real = found else { return path }
        defer { free(real) }
        let base = String(cString: real)
        return rest.isEmpty ? base : (base == "/" ? "" : base) + "/" + rest.joined(separator: "/")
    }

    /// The table output: summary, per-class metrics (classes without images or predictions are counted, not listed)
    /// and the most confused pairs.
    static func table(_ r: EvaluationResult, failed: Int, details: [(String, String)], confusedPairs: Int = 10) -> String {
        func percent(_ x: Double) -> String { String(format: "%.2f%%", x * 100) }
        var rows = details
        rows.append(("images", "\(r.n) evaluated" + (failed > 0 ? ", \(failed) failed (left out)" : "")))
        if r.n == 0 {
            // Nothing evaluated: no accuracy to show (the JSON has n 0 and zeros, as scikit-learn's zero_division=0).
            rows += [("top-1", "n/a (no image evaluated)"), ("top-5", "n/a"), ("mean per-class recall", "n/a")]
        } else {
            rows += [("top-1", percent(r.top1)),
                     ("top-5", percent(r.top5) + (r.classes.count <= 5 ? " (\(r.classes.count) class\(r.classes.count == 1 ? "" : "es"): always 100%)" : "")),
                     ("mean per-class recall", percent(r.meanPerClassRecall))]
        }
        let keyWidth = rows.map(\.0.count).max() ?? 0
        var out = rows.map { $0.0.padding(toLength: keyWidth, withPad: " ", startingAt: 0) + "  " + $0.1 }
            .joined(separator: "\n") + "\n\n"
        // Names with control characters (a CSV label with a line break, a tab) shown escaped, one row per class.
        let names = r.classes.map(printable)
        let predicted = (0..<r.classes.count).map { k in r.confusion.reduce(0) { $0 + $1[k] } }
        let shown = r.classes.indices.filter { r.perClass[$0].n > 0 || predicted[$0] > 0 }
        let nameWidth = max(5, shown.map { names[$0].count }.max() ?? 0)
        let nWidth = max(1, String(r.n).count)
        func pad(_ s: String, _ w: Int, right: Bool = true) -> String {
            let fill = String(repeating: " ", count: max(0, w - s.count))
            return right ? fill + s : s + fill
        }
        out += pad("class", nameWidth, right: false) + "  " + pad("n", nWidth) + "  precision    recall\n"
        for k in shown {
            let m = r.perClass[k]
            out += pad(names[k], nameWidth, right: false) + "  " + pad(String(m.n), nWidth) + "  "
                + pad(percent(m.precision), 9) + "  " + pad(percent(m.recall), 8) + "\n"
        }
        let hidden = r.classes.count - shown.count
        if hidden > 0 {
            out += "(\(hidden) class\(hidden == 1 ? "" : "es") without images or predictions not listed)\n"
        }
        let pairs = r.mostConfusedPairs(limit: confusedPairs)
        out += "\nmost confused (true -> predicted, images):\n"
        if pairs.isEmpty { out += "  (none)\n" }
        for p in pairs {
            out += "  \(names[p.trueClass]) -> \(names[p.predictedClass])  \(p.count)\n"
        }
        return out
    }
}

/// Errors of the `eval` command that are not the dataset's or an image's.
enum EvalCommandError: Error, LocalizedError, CustomStringConvertible {
    case noImages(String)
    case cannotWrite(String, reason: String)
    case tooManyClasses(String, classes: Int, source: String?)

    var description: String {
        switch self {
        case .noImages(let path): return "\(path): the dataset has no images"
        case .cannotWrite(let path, let reason): return "\(path): cannot write the predictions (\(reason))"
        case .tooManyClasses(let path, let classes, let source):
            return "\(source ?? path): \(classes) classes; eval handles at most \(EvalDataset.maxClasses) (the "
                + "confusion matrix has classes² cells)"
        }
    }

    var errorDescription: String? { description }
}
