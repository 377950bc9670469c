import ArgumentParser
import Foundation
import ZeroShot

@main
struct ZeroShotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zeroshot",
        abstract: "Zero-shot image classification with CLIP: rank any labels for an image, no training.",
        discussion: """
            A CLIP model embeds the image and each candidate label (put through a hypothesis template such as \
            "This is a photo of {}.") into one space; the labels are ranked by softmax over the scaled cosine \
            similarity. The numbers match transformers' zero-shot-image-classification pipeline.

            Models are Hugging Face checkpoints: a Hub id (looked up in the Hugging Face cache, downloaded when \
            missing) or a local directory. Default: $ZEROSHOT_MODEL, else openai/clip-vit-base-patch32.

            EXAMPLES:
              zeroshot classify --labels "cat,dog,rocket" photo.jpg
              zeroshot classify --model ./clip-vit-base-patch32 --label "a red car" --label "a blue car" --format json *.png
              zeroshot embed --text "a diagram" --text "a dog"
              zeroshot tokenize "This is a photo of a cat."
            """,
        version: "0.1.0",
        subcommands: [Classify.self, Embed.self, Tokenize.self, Bench.self]
    )
}

/// Which model to use (every subcommand).
struct ModelChoice: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A Hugging Face model id (org/name, optionally @revision) or a model directory.",
        discussion: "Default: $ZEROSHOT_MODEL, else openai/clip-vit-base-patch32. Ids are looked up in the Hugging Face "
            + "cache ($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub) and downloaded when missing, "
            + "unless HF_HUB_OFFLINE=1.",
        valueName: "id-or-dir"))
    var model: String?

    func loadClassifier(_ options: ZeroShotClassifier.Options = .init()) throws -> ZeroShotClassifier {
        let progress: @Sendable (String) -> Void = { message in
            FileHandle.standardError.write(Data("\(message)\n".utf8))
        }
        let classifier = try ZeroShotClassifier(model: model, options: options, progress: progress)
        let unused = classifier.model.unusedTensors
        if !unused.isEmpty {
            let shown = unused.prefix(3).map(printable).joined(separator: ", ") + (unused.count > 3 ? ", ..." : "")
            progress("warning: \(classifier.modelDirectory.path): \(unused.count) tensor\(unused.count == 1 ? "" : "s") of the "
                     + "checkpoint \(unused.count == 1 ? "is" : "are") not used with its config.json (\(shown)); the config "
                     + "may not describe these weights, and the results may not be the checkpoint's")
        }
        return classifier
    }
}

/// Options of the subcommands that run the model.
struct ModelOptions: ParsableArguments {
    @OptionGroup var choice: ModelChoice

    @Option(name: .long, help: ArgumentHelp(
        "Reject images with more pixels than this (decompression-bomb guard; Pillow's error threshold by default).",
        valueName: "pixels"))
    var maxPixels: Int = ImageDecoder.defaultMaxPixels

    @Option(name: .long, help: ArgumentHelp(
        "Threads for inference (default: all cores; at most 4 per core or 64, whichever is more).", valueName: "N"))
    var threads: Int?

    @Option(name: .long, help: ArgumentHelp(
        "fp32 (default: transformers' numbers) or int8 (encoder linear layers quantized at load: faster, approximate).",
        valueName: "precision"))
    var precision: Precision = .fp32

    func validate() throws {
        guard maxPixels > 0 else { throw ValidationError("--max-pixels must be positive") }
        if let threads, !(1...ComputeThreads.maximum).contains(threads) {
            throw ValidationError("--threads must be between 1 and \(ComputeThreads.maximum)")
        }
    }

    func loadClassifier() throws -> ZeroShotClassifier {
        if let threads { ComputeThreads.set(threads) }
        return try choice.loadClassifier(.init(maxPixels: maxPixels, precision: precision))
    }
}

/// Splits `--labels "a, b,c"` on commas, trimming spaces; an empty label is a usage error.
func parseLabelList(_ labels: String) throws -> [String] {
    let parts = labels.split(separator: ",", omittingEmptySubsequences: false)
        .map { $0.trimmingCharacters(in: .whitespaces) }
    if let empty = parts.firstIndex(where: \.isEmpty) {
        throw ValidationError("--labels \"\(labels)\": label #\(empty + 1) is empty")
    }
    return parts
}

/// Fills the template with every label before anything is loaded, so that a bad `--template` is a usage error.
func validateTemplate(_ template: String, for labels: [String]) throws {
    for label in labels {
        do { _ = try applyHypothesisTemplate(template, to: label) } catch { throw ValidationError("--template: \(error)") }
    }
}

/// Prints an error for one input to standard error, naming the input once (decoding errors already name their
/// file; others, such as a failed batch, get the input put in front).
func reportError(_ input: String, _ error: Error) {
    let named = (error as? ImageIOError)?.source != nil
    FileHandle.standardError.write(Data("error: \(named ? "\(error)" : "\(input): \(error)")\n".utf8))
}

/// `text` with control characters (newlines, escape sequences) shown as `\u{hex}`, for names read from files
/// that go into a one-line message.
func printable(_ text: String) -> String {
    text.unicodeScalars.map { scalar in
        scalar.properties.generalCategory == .control ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
    }.joined()
}

func writeOut(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

extension Precision: ExpressibleByArgument {}
