import ArgumentParser
import Foundation
import Inputs
import Video
import ZeroShot

@main
struct ZeroShotCommand: ParsableCommand {
    /// One spelling for every error the command prints: `error: ` (usage errors, fatal errors and per-image errors).
    static var _errorPrefix: String { "error: " }

    /// Parses, checks and runs a subcommand. Unlike `ParsableCommand.main`, the subcommands' own checks
    /// (`CheckedCommand.check`) run after parsing has finished, so that an unknown option (`-l`) is reported as
    /// such rather than as what its absence leaves missing; usage errors exit 64, other errors 1.
    static func main() {
        MallocArenas.limitArenas()
        StandardStreams.reserveClosedDescriptors()
        StandardStreams.ignoreBrokenPipeSignal()
        var command: ParsableCommand
        do {
            // `--scenes` takes an optional value (see VideoOptions.rewritingBareScenes).
            command = try parseAsRoot(VideoOptions.rewritingBareScenes(Array(CommandLine.arguments.dropFirst()),
                                                                       root: ZeroShotCommand.self))
        } catch {
            finish(error)
        }
        if let checked = command as? CheckedCommand {
            do {
                try checked.check()
            } catch {
                reportUsageError(error, of: Swift.type(of: command))
                Foundation.exit(ExitCode.validationFailure.rawValue)
            }
        }
        do {
            try command.run()
        } catch {
            finish(error)
        }
    }

    /// Prints a usage error with the usage of the subcommand `type` (not the root's, as ArgumentParser does for a
    /// `ValidationError` thrown by `run`).
    static func reportUsageError(_ error: Error, of type: ParsableCommand.Type) {
        let name = type.configuration.commandName ?? type._commandName
        StandardStreams.err("\(_errorPrefix)\(error)\nUsage: \(usageString(for: type))\n"
                            + "  See 'zeroshot \(name) --help' for more information.\n")
    }

    /// Ends the process for an error of parsing or running: help and version text (a clean exit) on standard
    /// output through the checked writer, any other message on standard error, with ArgumentParser's exit code.
    static func finish(_ error: Error) -> Never {
        let message = fullMessage(for: error)
        let code = exitCode(for: error)
        let text = message.isEmpty || message.hasSuffix("\n") ? message : message + "\n"
        if code == .success {
            do {
                try StandardStreams.out(text)
            } catch {
                StandardStreams.err("\(_errorPrefix)\(error)\n")
                Foundation.exit(ExitCode.failure.rawValue)
            }
        } else {
            StandardStreams.err(text)
        }
        Foundation.exit(code.rawValue)
    }

    static let configuration = CommandConfiguration(
        commandName: "zeroshot",
        abstract: "Zero-shot image classification with CLIP, Chinese-CLIP and SigLIP: rank any labels for an image, no training.",
        discussion: """
            The model embeds the image and each candidate label (put through a hypothesis template such as \
            "This is a photo of {}.") into one space; the labels are ranked by the scaled cosine similarity: a \
            softmax over the labels for CLIP and Chinese-CLIP, a sigmoid per label (with logit_bias) for SigLIP. \
            config.json's model_type (clip, chinese_clip, siglip) picks the family. The numbers match \
            transformers' zero-shot-image-classification pipeline.

            Models are Hugging Face checkpoints: a Hub id (looked up in the Hugging Face cache, downloaded when \
            missing) or a local directory. Default: $ZEROSHOT_MODEL, else openai/clip-vit-base-patch32.

            EXAMPLES:
              zeroshot classify --labels "cat,dog,rocket" photo.jpg
              zeroshot classify --labels "beach,snow,city" --format jsonl ~/Pictures > labels.jsonl
              zeroshot classify --model ./clip-vit-base-patch32 --label "a red car" --label "a blue car" --format json *.png
              zeroshot classify --model google/siglip-base-patch16-224 --labels "fox,bear,owl" animal.jpg
              zeroshot classify --labels "dog,cat,empty room" --every 2 --segments clip.mp4
              zeroshot classify --model OFA-Sys/chinese-clip-vit-base-patch16 --labels "猫,狗,火箭" --template "一张{}的照片。" photo.jpg
              zeroshot eval --classnames cifar10 --templates openai-cifar cifar10-test/
              zeroshot embed --text "a diagram" --text "a dog"
              zeroshot tokenize "This is a photo of a cat."
              zeroshot index --db photos.db ~/Pictures
              zeroshot search --db photos.db "a dog on a beach"
              zeroshot classify --db photos.db --labels "receipt,screenshot,photo" --top-k 1 --format csv

            EXIT CODES:
              0   success
              1   an input could not be read (the others are still printed), a folder
                  could not be walked, the model could not be loaded, or standard
                  output could not be written
              64  usage error (unknown option, missing or out-of-range value)
            """,
        version: "0.1.0",
        subcommands: [Classify.self, Eval.self, Embed.self, Tokenize.self, Bench.self, Index.self, Search.self, Merge.self, Serve.self]
    )
}

/// A subcommand whose options are checked after parsing (see `ZeroShotCommand.main`); a thrown
/// `ValidationError` is a usage error.
protocol CheckedCommand: ParsableCommand {
    func check() throws
}

/// Which model to use (every subcommand).
struct ModelChoice: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp(
        "A Hugging Face model id (org/name, optionally @revision) or a model directory.",
        discussion: "Default: $ZEROSHOT_MODEL, else openai/clip-vit-base-patch32. Ids are looked up in the Hugging Face "
            + "cache ($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub) and downloaded when missing, "
            + "unless HF_HUB_OFFLINE=1.",
        valueName: "id-or-dir"))
    var model: String?

    /// Status lines of a download, on standard error.
    static let progress: @Sendable (String) -> Void = { message in StandardStreams.err("\(message)\n") }

    func loadClassifier(_ options: ZeroShotClassifier.Options = .init()) throws -> ZeroShotClassifier {
        let progress = Self.progress
        let classifier = try ZeroShotClassifier(model: model, options: options, progress: progress)
        let unused = classifier.model.unusedTensors
        if !unused.isEmpty {
            let shown = unused.prefix(3).map(printable).joined(separator: ", ") + (unused.count > 3 ? ", ..." : "")
            warn("\(classifier.modelDirectory.path): \(unused.count) tensor\(unused.count == 1 ? "" : "s") of the "
                     + "checkpoint \(unused.count == 1 ? "is" : "are") not used with its config.json (\(shown)); the config "
                     + "may not describe these weights, and the results may not be the checkpoint's")
        }
        return classifier
    }
}

/// Options of the subcommands that run the model.
struct ModelOptions: ParsableArguments {
    @OptionGroup var choice: ModelChoice

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp(
        "Reject images with more pixels than this (decompression-bomb guard; Pillow's error threshold by default).",
        valueName: "pixels"))
    var maxPixels: Int = ImageDecoder.defaultMaxPixels

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp(
        "Threads for inference (default: all cores; at most 4 per core or 64, whichever is more).",
        discussion: "Fewer are used while other processes keep cores busy (ZEROSHOT_ADAPTIVE_THREADS=0 turns that off).",
        valueName: "N"))
    var threads: Int?

    @Option(name: .long, help: ArgumentHelp(
        "fp32 (default: transformers' numbers) or int8 (encoder linear layers quantized at load: faster, approximate).",
        valueName: "precision"))
    var precision: Precision = .fp32

    func check() throws {
        try checkRange("--max-pixels", maxPixels, 1...Int.max)
        if let threads { try checkRange("--threads", threads, 1...ComputeThreads.maximum) }
    }

    /// Loads `--model`, or `model` in its place when given (an index's recorded model); `batchSize` images per
    /// image-tower call; `textCache` the directory of the disk cache of text embeddings (`TextCacheOptions`).
    func loadClassifier(model: String? = nil, batchSize: Int = 16, textCache: URL? = nil) throws -> ZeroShotClassifier {
        if let threads { ComputeThreads.set(threads) }
        if let message = KernelPath.environmentWarning { warn(message) }
        var choice = choice
        if let model { choice.model = model }
        return try choice.loadClassifier(.init(maxPixels: maxPixels, batchSize: batchSize, precision: precision,
                                               textEmbeddingCache: textCache, warn: { warn($0) }))
    }
}

/// The usage error of a numeric option whose value is outside `range` (negative numbers included: numeric
/// options take the next argument unconditionally, so `--threads -1` is a value, not an option).
func checkRange(_ option: String, _ value: Int, _ range: ClosedRange<Int>) throws {
    guard !range.contains(value) else { return }
    let allowed = range.upperBound == Int.max ? "of at least \(range.lowerBound)" : "from \(range.lowerBound) to \(range.upperBound)"
    throw ValidationError("\(option) \(value) is out of range: give a number \(allowed)")
}

/// An option that takes one value, given `count` times: more than once is a usage error, since a later value would
/// silently replace an earlier one.
func checkGivenOnce(_ option: String, _ count: Int) throws {
    if count > 1 { throw ValidationError("\(option) is given \(count) times; give it once") }
}

/// Splits `--labels "a, b,c"` (or "猫，狗", "猫、狗") as `LabelList.split` does. A separator that leaves an empty
/// label (trailing, leading or doubled) is a usage error that says which; an empty or whitespace-only label can be
/// given with `--label`.
func parseLabelList(_ labels: String) throws -> [String] {
    do {
        return try LabelList.split(labels)
    } catch {
        throw ValidationError("--labels \"\(labels)\": \(error.reason) (an empty or whitespace-only label can be given with --label \"\")")
    }
}

/// Fills the template with every label before anything is loaded, so that a bad `--template` is a usage error.
func validateTemplate(_ template: String, for labels: [String]) throws {
    for label in labels {
        do { _ = try applyHypothesisTemplate(template, to: label) } catch { throw ValidationError("--template: \(error)") }
    }
}

/// Checks that every template of a `--templates` set (`source`: its name or file) fills with every label.
func validateTemplates(_ templates: [String], from source: String, for labels: [String]) throws {
    for (i, template) in templates.enumerated() {
        for label in labels {
            do { _ = try applyHypothesisTemplate(template, to: label) } catch {
                throw ValidationError("--templates \(source): template #\(i + 1): \(error)")
            }
        }
    }
}

/// The candidate-label warnings of `ZeroShotClassifier.candidateLabelWarnings` for each template of a set, each
/// distinct message once.
func templateWarnings(_ labels: [String], _ templates: [String], scoring: Scoring) throws -> [String] {
    var seen = Set<String>()
    var result: [String] = []
    for template in templates {
        for message in try ZeroShotClassifier.candidateLabelWarnings(labels, hypothesisTemplate: template, scoring: scoring,
                                                                     inEnsemble: templates.count > 1)
        where seen.insert(message).inserted {
            result.append(message)
        }
    }
    return result
}

/// Prints an error for one input to standard error, naming the input once, by the path as given (decoding errors
/// already name their file; others, such as a failed batch, get the input put in front). An image over the pixel
/// limit is told about `--max-pixels`.
func reportError(_ input: String, _ error: Error) {
    StandardStreams.err(errorLine(input, error))
}

/// The line `reportError` prints (with its newline). Errors that already name their input (decoding errors with a
/// source, input and download errors, which name the path or URL) are not prefixed again.
func errorLine(_ input: String, _ error: Error) -> String {
    let named = (error as? ImageIOError)?.source != nil || error is InputError || error is RemoteFileError
        || error is VideoError || error is MediaItemsError
    var message = named ? "\(error)" : "\(input): \(error)"
    if (error as? ImageIOError)?.kind == .tooLarge { message += "; --max-pixels raises the limit" }
    return "\(ZeroShotCommand._errorPrefix)\(printable(message))\n"
}

/// Prints `warning: <message>` to standard error.
func warn(_ message: String) {
    StandardStreams.err("warning: \(message)\n")
}

/// `text` with control characters (newlines, escape sequences) shown as `\u{hex}`, for names read from files
/// that go into a one-line message.
func printable(_ text: String) -> String {
    text.unicodeScalars.map { scalar in
        scalar.properties.generalCategory == .control ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
    }.joined()
}

/// Writes command output to standard output (see `StandardStreams.out`).
func writeOut(_ text: String) throws {
    try StandardStreams.out(text)
}

extension Precision: ExpressibleByArgument {}
