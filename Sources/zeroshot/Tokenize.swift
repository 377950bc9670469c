import ArgumentParser
import Foundation
import ZeroShot

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the input_ids the CLIP tokenizer gives each text.",
        discussion: """
            The ids include <|startoftext|> and <|endoftext|>; a text longer than the model's 77 tokens is \
            truncated keeping the end token, with a warning on standard error.

            EXAMPLES:
              zeroshot tokenize "This is a photo of a cat."
              zeroshot tokenize --model ./my-clip "a" "b c" --format jsonl
            """
    )

    @OptionGroup var modelChoice: ModelChoice

    @Option(name: .long, help: "Output format: json or jsonl.")
    var format: Embed.Format = .json

    @Argument(help: ArgumentHelp("Texts to tokenize.", valueName: "text"))
    var texts: [String]

    func validate() throws {
        guard !texts.isEmpty else { throw ValidationError("give at least one text") }
    }

    func run() throws {
        let classifier = try modelChoice.loadClassifier()
        let rows = texts.map { text in
            JSON.object([("text", JSON.string(text)),
                         ("ids", "[" + classifier.tokenize(text).ids.map(String.init).joined(separator: ",") + "]")])
        }
        switch format {
        case .json: writeOut(JSON.array(rows) + "\n")
        case .jsonl: writeOut(rows.map { $0 + "\n" }.joined())
        }
    }
}
