import ArgumentParser
import Foundation
import ImageIndex
import Video
import ZeroShot

extension Classify {
    /// `classify --db PATH`: every indexed image and video frame, in path order (a video's frames by time), scored
    /// from its stored embedding with the index's model (no image tower), written as `classify` writes results
    /// (image = the stored path), streamed chunk by chunk. An index without video frames gives exactly the output
    /// of images; with frames, see `IndexedFramesOutput`.
    func runIndexed(db: String) throws {
        let labels = try candidateLabels()
        let index = try ImageIndex(path: db, create: false)
        let classifier = try loadIndexModel(index, modelOptions, textCache: textCacheOptions.directory)
        let rule = try scoringRule(for: classifier)
        let hypothesisTemplates = try hypothesisTemplates()
        for message in try templateWarnings(labels, hypothesisTemplates, scoring: rule.effectiveScoring(classifier.model.scoring)) {
            warn(message)
        }
        let textEmbeddings = try classifier.classEmbeddings(classNames: labels, templates: hypothesisTemplates)
        var first = true, total = 0, nonFinite = 0
        var framesOutput = try index.contents().frames > 0 ? IndexedFramesOutput(format: format, threshold: rule.threshold) : nil
        if let framesOutput {
            try writeOut(framesOutput.header())
        } else if format == .json {
            try writeOut("[")
        }
        // A row with a corrupt embedding is an error naming its image; the others are still scored (exit 1).
        var corruptRows = 0
        try index.forEachTimedEmbedding(corrupt: { error in
            corruptRows += 1
            reportInputError(db, error)
        }) { paths, times, embeddings in
            let predictions = try classifier.predictions(imageEmbeddings: embeddings, textEmbeddings: textEmbeddings,
                                                         candidateLabels: labels, rule: rule.droppingThreshold)
            var results: [(String, [Prediction])] = []
            for (path, p) in zip(paths, predictions) {
                if p.contains(where: { !$0.score.isFinite }) { nonFinite += 1 }
                results.append((path, Self.shown(p, rule: rule, topK: topK)))
            }
            total += results.count
            if framesOutput != nil {
                var text = ""
                for ((path, shown), time) in zip(results, times) { text += framesOutput!.item(path, time, shown) }
                try writeOut(text)
            } else {
                try writeOut(Self.renderChunk(results, format: format, first: first, threshold: rule.threshold))
            }
            first = false
        }
        if let framesOutput {
            try writeOut(framesOutput.footer())
        } else {
            switch format {
            case .json: try writeOut("]\n")
            case .csv where first: try writeOut(Self.render([], format: .csv))
            default: break
            }
        }
        if nonFinite > 0 {
            warn(Self.nonFiniteScoresWarning(images: nonFinite, of: total, logitScale: classifier.model.logitScale,
                                             imageProcessor: classifier.imageProcessor.config))
        }
        if corruptRows > 0 { throw ExitCode(1) }
    }

    /// A chunk of the output `render` gives for all results at once: concatenated, the chunks are that text.
    static func renderChunk(_ results: [(String, [Prediction])], format: OutputFormat, first: Bool,
                            threshold: Float? = nil) -> String {
        switch format {
        case .table:
            return (first ? "" : "\n") + render(results, format: .table, threshold: threshold)
        case .json:
            return (first ? "" : ", ") + results.map(object).joined(separator: ", ")
        case .jsonl:
            return render(results, format: .jsonl)
        case .csv:
            let text = render(results, format: .csv)
            return first ? text : String(text.drop { $0 != "\n" }.dropFirst())
        }
    }
}

/// `classify --db` of an index that holds video frames, as classify writes frames: a frame is
/// `{"image": path, "time": seconds (3 decimals), "predictions": [...]}`, a still image `{"image", "predictions"}`
/// (json array, jsonl); csv `image,time,rank,label,score,logit` with an empty time for a still image; table: a
/// video's path once, then per frame an indented time line (`  12.000 s`) and its labels indented one more level; a
/// blank line between files.
struct IndexedFramesOutput {
    let format: Classify.OutputFormat
    let threshold: Float?
    private var count = 0
    private var lastPath: String?

    init(format: Classify.OutputFormat, threshold: Float?) {
        self.format = format
        self.threshold = threshold
    }

    func header() -> String {
        switch format {
        case .json: return "["
        case .csv: return "image,time,rank,label,score,logit\n"
        case .table, .jsonl: return ""
        }
    }

    func footer() -> String { format == .json ? "]\n" : "" }

    /// One image's or frame's predictions (already cut to --top-k).
    mutating func item(_ path: String, _ time: Double?, _ predictions: [Prediction]) -> String {
        defer {
            count += 1
            lastPath = path
        }
        switch format {
        case .table:
            // A still image as classify shows it; a frame under its video's path line.
            var image = ClassifyOutput(format: .table, threshold: threshold)
            guard let time else { return (count > 0 ? "\n" : "") + image.item(path, predictions) }
            let head = lastPath == path ? "" : (count > 0 ? "\n" : "") + path + "\n"
            let lines = image.item("\(VideoTime.text(time)) s", predictions).split(separator: "\n", omittingEmptySubsequences: false)
            return head + lines.map { $0.isEmpty ? "" : "  " + $0 }.joined(separator: "\n")
        case .json:
            return (count > 0 ? ", " : "") + Self.object(path, time, predictions)
        case .jsonl:
            return Self.object(path, time, predictions) + "\n"
        case .csv:
            let timeField = time.map(VideoTime.text) ?? ""
            return predictions.enumerated().map { rank, p in
                [CSV.field(path), timeField, "\(rank + 1)", CSV.field(p.label), JSON.number(p.score), JSON.number(p.logit)]
                    .joined(separator: ",") + "\n"
            }.joined()
        }
    }

    static func object(_ path: String, _ time: Double?, _ predictions: [Prediction]) -> String {
        let predictions = predictions.map { p in
            JSON.object([("label", JSON.string(p.label)), ("score", JSON.number(p.score)), ("logit", JSON.number(p.logit))])
        }
        var fields = [("image", JSON.string(path))]
        if let time { fields.append(("time", VideoTime.text(time))) }
        fields.append(("predictions", JSON.array(predictions)))
        return JSON.object(fields)
    }
}
