import ArgumentParser
import Foundation
import ImageIndex
import Video
import ZeroShot

extension Classify {
    /// `classify --db PATH`: every indexed image and video frame, in path order (a video's frames by time), scored
    /// from its stored embedding with the index's model (no image tower), written as `classify` writes results
    /// (image = the stored path), streamed chunk by chunk. An index without video frames gives exactly the output
    /// of images; with frames, a frame is written as classify writes the frames of a video (`ClassifyOutput.frame`:
    /// "time" in json, a time column in csv, empty for a still image; the table groups a video's frames under its
    /// path).
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
        var framesOutput = try index.contents().frames > 0
            ? ClassifyOutput(format: format, threshold: rule.threshold, timeColumn: true) : nil
        // The table groups the frames of one video: a number per video path.
        var video = 0, lastPath: String?
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
                for ((path, shown), time) in zip(results, times) {
                    if let time {
                        if path != lastPath { video += 1 }
                        text += framesOutput!.frame(video: video, path: path, time: time, shown)
                    } else {
                        text += framesOutput!.item(path, shown)
                    }
                    lastPath = path
                }
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

