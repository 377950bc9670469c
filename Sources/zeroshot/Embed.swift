import ArgumentParser
import Foundation
import ZeroShot

struct Embed: CheckedCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print L2-normalised image or text embeddings.",
        discussion: """
            Image embeddings come from the vision tower and visual projection, text embeddings from the text \
            tower and text projection; both are L2-normalised, so a dot product is the cosine similarity. Text is \
            embedded as given (no hypothesis template). The output lists every --image first, then every --text, \
            each in the order given.

            EXAMPLES:
              zeroshot embed --image photo.jpg
              zeroshot embed --text "a photo of a cat" --text "a photo of a dog" --format jsonl

            OUTPUT:
              json   [{"input": path-or-text, "embedding": [Float]}] (default)
              jsonl  one {"input", "embedding"} object per line
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, parsing: .unconditionalSingleValue, help: ArgumentHelp("An image file to embed (repeatable).", valueName: "path"))
    var image: [String] = []

    @Option(name: .long, parsing: .unconditionalSingleValue, help: ArgumentHelp("A text to embed, as given (repeatable).", valueName: "string"))
    var text: [String] = []

    @Option(name: .long, help: "Output format: json or jsonl.")
    var format: Format = .json

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, jsonl }

    func check() throws {
        try modelOptions.check()
        guard !image.isEmpty || !text.isEmpty else { throw ValidationError("give --image PATH or --text STRING (repeatable)") }
    }

    func run() throws {
        let classifier = try modelOptions.loadClassifier()
        var rows: [String] = []
        var failed = false
        let imageResults = classifier.imageEmbeddings(image.map { .file(URL(fileURLWithPath: $0)) })
        for (path, result) in zip(image, imageResults) {
            switch result {
            case .success(let embedding): rows.append(Self.row(path, embedding))
            case .failure(let error): reportError(path, error); failed = true
            }
        }
        if !text.isEmpty {
            for (t, embedding) in zip(text, try classifier.textEmbeddings(text)) { rows.append(Self.row(t, embedding)) }
        }
        switch format {
        case .json: try writeOut(JSON.array(rows) + "\n")
        case .jsonl: try writeOut(rows.map { $0 + "\n" }.joined())
        }
        if failed { throw ExitCode(1) }
    }

    static func row(_ input: String, _ embedding: [Float]) -> String {
        JSON.object([("input", JSON.string(input)), ("embedding", "[" + embedding.map(JSON.number).joined(separator: ",") + "]")])
    }
}
