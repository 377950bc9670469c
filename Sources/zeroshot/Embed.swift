import ArgumentParser
import Foundation
import Inputs
import ZeroShot

struct Embed: CheckedCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print L2-normalised image or text embeddings.",
        discussion: """
            Image embeddings come from the vision tower and visual projection, text embeddings from the text \
            tower and text projection; both are L2-normalised, so a dot product is the cosine similarity. Text is \
            embedded as given (no hypothesis template). The output lists every image first (--image, then \
            --files-from), then every --text, each in the order given, written as they are computed.

            --image takes files, folders (walked recursively, as classify walks them: sorted, hidden names \
            and --exclude left out, files recognised by content) and http(s) URLs. An input that fails is \
            reported on standard error, the others are still embedded, and the exit code is 1.

            EXAMPLES:
              zeroshot embed --image photo.jpg
              zeroshot embed --text "a photo of a cat" --text "a photo of a dog" --format jsonl
              zeroshot embed --image ~/Pictures/2024 --format jsonl > embeddings.jsonl

            OUTPUT:
              json   [{"input": path-or-text, "embedding": [Float]}] (default)
              jsonl  one {"input", "embedding"} object per line
            """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var inputOptions: InputOptions
    @OptionGroup var textCacheOptions: TextCacheOptions

    @Option(name: .long, parsing: .unconditionalSingleValue, help: ArgumentHelp("An image file, folder or http(s) URL to embed (repeatable).", valueName: "path"))
    var image: [String] = []

    @Option(name: .long, parsing: .unconditionalSingleValue, help: ArgumentHelp("A text to embed, as given (repeatable).", valueName: "string"))
    var text: [String] = []

    @Option(name: .long, help: "Output format: json or jsonl.")
    var format: Format = .json

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, jsonl }

    func check() throws {
        try modelOptions.check()
        try inputOptions.check()
        try textCacheOptions.check()
        guard try inputOptions.hasInputs(image) || !text.isEmpty else {
            throw ValidationError("give --image PATH or --text STRING (repeatable)")
        }
    }

    func run() throws {
        let walk = try inputOptions.walk(image)
        let classifier = try modelOptions.loadClassifier(textCache: text.isEmpty ? nil : textCacheOptions.directory)
        let loader = inputOptions.loader, maxPixels = modelOptions.maxPixels
        // Texts first (few, and an error there must not cut the image rows' JSON short), written after the images.
        let textEmbeddings = text.isEmpty ? [] : try classifier.textEmbeddings(text)
        let progress = inputOptions.progress(total: walk.entries.count, skippedNonImages: walk.skippedNonImages)
        var failed = !walk.problems.isEmpty
        var rows = 0
        func write(_ row: String) throws {
            switch format {
            case .json: try writeOut((rows == 0 ? "[" : ", ") + row)
            case .jsonl: try writeOut(row + "\n")
            }
            rows += 1
        }
        try classifier.embedImages(walk.entries, load: { entry in try loader.image(entry, maxPixels: maxPixels) }) {
            entry, result in
            switch result {
            case .success(let embedding): try write(Self.row(entry.name, embedding))
            case .failure(let error):
                progress.message(errorLine(entry.name, error))
                failed = true
            }
            progress.advance()
        }
        progress.finish()
        for (t, embedding) in zip(text, textEmbeddings) { try write(Self.row(t, embedding)) }
        if format == .json { try writeOut(rows == 0 ? "[]\n" : "]\n") }
        if failed { throw ExitCode(1) }
    }

    static func row(_ input: String, _ embedding: [Float]) -> String {
        JSON.object([("input", JSON.string(input)), ("embedding", "[" + embedding.map(JSON.number).joined(separator: ",") + "]")])
    }
}
