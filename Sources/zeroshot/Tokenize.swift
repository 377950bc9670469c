import ArgumentParser
import Foundation
import ZeroShot

struct Tokenize: CheckedCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the input_ids the model's tokenizer gives each text.",
        discussion: """
            The ids include <|startoftext|> and <|endoftext|>; a text longer than the model's 77 tokens is \
            truncated keeping the end token, with a warning on standard error. Only the tokenizer files are \
            read (tokenizer.json, or vocab.json and merges.txt, with tokenizer_config.json when present); \
            config.json, when there, gives the text model's context length.

            EXAMPLES:
              zeroshot tokenize "This is a photo of a cat."
              zeroshot tokenize --model ./my-clip "a" "b c" --format jsonl
            """
    )

    @OptionGroup var modelChoice: ModelChoice

    @Option(name: .long, help: "Output format: json or jsonl.")
    var format: Embed.Format = .json

    @Argument(help: ArgumentHelp("Texts to tokenize (after --, texts may start with a dash).", valueName: "text"))
    var texts: [String]

    func check() throws {
        guard !texts.isEmpty else { throw ValidationError("give at least one text") }
    }

    func run() throws {
        let directory = try ZeroShotClassifier.modelDirectory(modelChoice.model, files: ZeroShotClassifier.tokenizerFiles,
                                                              progress: ModelChoice.progress)
        let (tokenizer, maxLength) = try ZeroShotClassifier.tokenizer(directory: directory)
        let rows = texts.map { text in
            let encoding = maxLength.map { tokenizer.encode(text, maxLength: $0) }
                ?? Encoding(ids: tokenizer.encode(text), wasTruncated: false)
            if encoding.wasTruncated, let maxLength {
                warn(ZeroShotClassifier.truncationWarning(text, maxLength: maxLength))
            }
            return JSON.object([("text", JSON.string(text)),
                                ("ids", "[" + encoding.ids.map(String.init).joined(separator: ",") + "]")])
        }
        switch format {
        case .json: try writeOut(JSON.array(rows) + "\n")
        case .jsonl: try writeOut(rows.map { $0 + "\n" }.joined())
        }
    }
}
