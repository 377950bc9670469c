import ArgumentParser
import Foundation
import ZeroShot

struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rank candidate labels for each image.",
        discussion: """
            Each label is put through the hypothesis template ("{}" is replaced by the label, as Python's \
            str.format) and scored against every image; scores are a softmax over the labels and sum to 1 per \
            image. Images are JPEG, PNG, WebP, GIF (first frame) or BMP; EXIF orientation is applied. An image \
            that cannot be read is reported on standard error, the others are still classified, and the exit \
            code is 1.

            EXAMPLES:
              zeroshot classify --labels "fox,bear,owl" animal.jpg
              zeroshot classify --label "a photo taken at night" --label "a photo taken by day" --top-k 1 *.jpg
              zeroshot classify --labels "cat,dog" --template "a blurry photo of a {}." --format json cat.png
              zeroshot classify --model ~/models/clip-vit-base-patch32 --labels "red,green,blue" --format csv img/*.png

            FORMATS:
              table  each image's labels, best first, with percent scores (default)
              json   [{"image": path, "predictions": [{"label", "score", "logit"}]}] sorted by score
              jsonl  one {"image", "predictions"} object per line
              csv    image,rank,label,score,logit
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: ArgumentHelp("Comma-separated candidate labels.", valueName: "a,b,c"))
    var labels: String?

    @Option(name: .long, help: ArgumentHelp("One candidate label (repeatable; may contain commas).", valueName: "label"))
    var label: [String] = []

    @Option(name: .long, help: ArgumentHelp("Hypothesis template; {} stands for the label.", valueName: "template"))
    var template: String = ZeroShotClassifier.defaultHypothesisTemplate

    @Option(name: .long, help: ArgumentHelp("Show only the N best labels per image (scores stay a softmax over all labels).", valueName: "N"))
    var topK: Int?

    @Option(name: .long, help: "Output format: table, json, jsonl or csv.")
    var format: OutputFormat = .table

    @Argument(help: ArgumentHelp("Image files.", valueName: "image"))
    var images: [String]

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case table, json, jsonl, csv
    }

    func candidateLabels() throws -> [String] {
        var result: [String] = []
        if let labels { result += try parseLabelList(labels) }
        for l in label {
            guard !l.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--label: empty label") }
            result.append(l)
        }
        guard !result.isEmpty else {
            throw ValidationError("give candidate labels with --labels \"a,b,c\" or --label X (repeatable)")
        }
        return result
    }

    func validate() throws {
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1") }
        guard !images.isEmpty else { throw ValidationError("give at least one image file") }
        try validateTemplate(template, for: candidateLabels())
    }

    func run() throws {
        let labels = try candidateLabels()
        let classifier = try modelOptions.loadClassifier()
        let inputs = images.map { ImageInput.file(URL(fileURLWithPath: $0)) }
        let results = try classifier.classify(inputs, candidateLabels: labels, hypothesisTemplate: template)
        var succeeded: [(String, [Prediction])] = []
        var failed = false
        for (path, result) in zip(images, results) {
            switch result {
            case .success(let predictions):
                succeeded.append((path, Array(predictions.prefix(topK ?? predictions.count))))
            case .failure(let error):
                reportError(path, error)
                failed = true
            }
        }
        writeOut(Self.render(succeeded, format: format))
        if failed { throw ExitCode(1) }
    }

    static func render(_ results: [(String, [Prediction])], format: OutputFormat) -> String {
        switch format {
        case .table:
            let width = results.flatMap { $0.1.map(\.label.count) }.max() ?? 0
            return results.map { path, predictions in
                path + "\n" + predictions.map { p in
                    let percent = String(format: "%7.2f%%", Double(p.score) * 100)
                    return "  \(percent)  \(p.label)\(String(repeating: " ", count: max(0, width - p.label.count)))"
                        .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
                }.joined(separator: "\n") + "\n"
            }.joined(separator: "\n")
        case .json:
            return JSON.array(results.map(object)) + "\n"
        case .jsonl:
            return results.map { object($0) + "\n" }.joined()
        case .csv:
            var lines = ["image,rank,label,score,logit"]
            for (path, predictions) in results {
                for (rank, p) in predictions.enumerated() {
                    lines.append([CSV.field(path), "\(rank + 1)", CSV.field(p.label), JSON.number(p.score), JSON.number(p.logit)]
                        .joined(separator: ","))
                }
            }
            return lines.joined(separator: "\n") + "\n"
        }
    }

    static func object(_ result: (String, [Prediction])) -> String {
        let predictions = result.1.map { p in
            JSON.object([("label", JSON.string(p.label)), ("score", JSON.number(p.score)), ("logit", JSON.number(p.logit))])
        }
        return JSON.object([("image", JSON.string(result.0)), ("predictions", JSON.array(predictions))])
    }
}
