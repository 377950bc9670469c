// The run of an evaluation: class embeddings once, images streamed through the image tower, top-5 per image.
import Foundation
import Inputs
import ZeroShot

/// An image of the dataset that could not be evaluated (left out of `n`).
public struct EvalFailure: Sendable, Equatable {
    /// The image as the dataset names it.
    public let image: String
    /// Why, in one line (the decoding or reading error).
    public let error: String

    public init(image: String, error: String) {
        self.image = image
        self.error = error
    }
}

/// An entry of a dataset that eval cannot score.
public enum EvalInputError: Error, LocalizedError, Equatable, Sendable {
    /// The entry (named as the dataset names it) holds a video (`container`: "MP4", "Matroska", ...): eval
    /// scores images; classify or index sample videos into frames.
    case video(String, container: String)

    public var errorDescription: String? {
        switch self {
        case .video(let name, let container):
            return "\(name): a video (\(container)); eval takes images (zeroshot classify samples videos into frames)"
        }
    }
}

/// Zero-shot evaluation of a classifier on a labelled dataset, with the numbers of transformers'
/// zero-shot-image-classification pipeline:
///
/// 1. the class embeddings: `classifier.classEmbeddings(classNames:templates:)` over the display names (one
///    template: the pipeline's text embeddings of the filled hypothesis template; several: the prompt ensemble,
///    the renormalised mean of the L2-normalised prompt embeddings);
/// 2. each image, in dataset order, through `classifier.embedImages` (read by `loader`, `options.batchSize` at a
///    time);
/// 3. its logits_per_image and scores (softmax over the classes, or SigLIP's sigmoid) by
///    `classifier.predictions(imageEmbeddings:textEmbeddings:candidateLabels:)`, ranked by score with ties in class
///    order: the first 5 are the record's top-5 (the lower class index first among equal scores).
public struct Evaluator {
    public let classifier: ZeroShotClassifier
    /// Hypothesis templates (one, or a prompt ensemble).
    public var templates: [String]
    /// Reads each image's bytes (files and URLs).
    public var loader: InputLoader
    /// Images per image-tower call (default the classifier's `options.batchSize`).
    public var batchSize: Int?

    public init(classifier: ZeroShotClassifier, templates: [String] = [ZeroShotClassifier.defaultHypothesisTemplate],
                loader: InputLoader = InputLoader(), batchSize: Int? = nil) {
        self.classifier = classifier
        self.templates = templates
        self.loader = loader
        self.batchSize = batchSize
    }

    /// What `run` returns: the metrics over the evaluated images, and the images that failed.
    public struct Outcome: Sendable {
        public var result: EvaluationResult
        public var failed: [EvalFailure]
    }

    /// How many classes a record ranks (top-5).
    public static let topK = 5

    /// Evaluates `dataset` with display names `classNames` (one per class of `dataset.classIDs`, distinct).
    ///
    /// - Parameters:
    ///   - promptNames: the names put through the templates, when they differ from the display names (a built-in
    ///     set with a repeated name, see `displayNames`); default `classNames`.
    ///   - record: called once per evaluated image, in dataset order, as soon as its batch is done, with the
    ///     image's record and its logits_per_image `[classes]` in class-index order.
    ///   - failure: called once per image that could not be read, decoded or preprocessed, in dataset order.
    /// - Throws: the errors of `classEmbeddings` (`ZeroShotError.invalidTemplate`, ...) before any image is read;
    ///   then only what `record` or `failure` throw.
    public func run(_ dataset: EvalDataset, classNames: [String], promptNames: [String]? = nil,
                    record: (EvalRecord, [Float]) throws -> Void = { _, _ in },
                    failure: (EvalFailure) throws -> Void = { _ in }) throws -> Outcome {
        precondition(classNames.count == dataset.classIDs.count,
                     "\(classNames.count) class names for \(dataset.classIDs.count) classes")
        let promptNames = promptNames ?? classNames
        precondition(promptNames.count == classNames.count, "\(promptNames.count) prompt names for \(classNames.count) classes")
        let textEmbeddings = try classifier.classEmbeddings(classNames: promptNames, templates: templates)
        // Class indices as the candidate labels: predictions come back ranked with ties in class order, and the
        // label says the class whatever the display names are.
        let indexLabels = classNames.indices.map(String.init)
        let loader = self.loader, maxPixels = classifier.options.maxPixels
        var records: [EvalRecord] = []
        records.reserveCapacity(dataset.items.count)
        var failed: [EvalFailure] = []
        try classifier.embedImages(dataset.items, batchSize: batchSize,
                                   load: { item in try Self.image(item.entry, loader: loader, maxPixels: maxPixels) }) { item, result in
            switch result {
            case .success(let embedding):
                let ranked = classifier.predictions(imageEmbeddings: [embedding], textEmbeddings: textEmbeddings,
                                                    candidateLabels: indexLabels)[0]
                var logits = [Float](repeating: 0, count: classNames.count)
                var trueScore: Float = 0
                for p in ranked {
                    let k = Int(p.label)!
                    logits[k] = p.logit
                    if k == item.trueClass { trueScore = p.score }
                }
                let top = ranked.prefix(Self.topK)
                let r = EvalRecord(image: item.image, location: item.location, trueClass: item.trueClass,
                                   topClasses: top.map { Int($0.label)! }, topScores: top.map(\.score),
                                   trueScore: trueScore)
                records.append(r)
                try record(r, logits)
            case .failure(let error):
                let f = EvalFailure(image: item.image, error: Self.message(error, image: item.image))
                failed.append(f)
                try failure(f)
            }
        }
        return Outcome(result: EvaluationResult(classes: classNames, records: records), failed: failed)
    }

    /// The decoded image of a dataset entry, read once: its bytes, then `ImageDecoder.decode` (as
    /// `InputLoader.image`), unless they hold a video.
    /// - Throws: `EvalInputError.video` for a video (recognised by content, as `ContentKind.sniff` recognises it:
    ///   a folder walk takes videos, and eval scores images only); the errors of `InputLoader.image` otherwise.
    static func image(_ entry: InputEntry, loader: InputLoader, maxPixels: Int) throws -> RGBImage {
        let bytes = try loader.load(entry).bytes
        let kind = bytes.prefix(ContentKind.headerLength).withUnsafeBytes { ContentKind.sniff($0) }
        if case .video(let container) = kind { throw EvalInputError.video(entry.name, container: container) }
        return try ImageDecoder.decode(bytes, maxPixels: maxPixels, source: entry.name)
    }

    /// One line for an image's error, naming the image once.
    static func message(_ error: Error, image: String) -> String {
        let text = (error as? LocalizedError)?.errorDescription ?? "\(error)"
        let line = text.replacingOccurrences(of: "\n", with: " ")
        return line.hasPrefix(image) ? line : "\(image): \(line)"
    }
}
