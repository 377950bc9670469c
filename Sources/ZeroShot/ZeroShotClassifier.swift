import CLIP
import Foundation
import Hub
import ImageIO
import Tokenizers

/// Zero-shot image classification with a CLIP checkpoint in Hugging Face layout, giving the numbers of
/// `transformers`' `pipeline(task="zero-shot-image-classification")`:
///
///     file -> decoded RGB -> pixel_values [batch, 3, S, S] -> image embeddings [batch, D]
///     "This is a photo of {}." + label -> input_ids -> text embeddings [labels, D]
///     logits_per_image = exp(logit_scale) · cosine  [batch, labels] -> softmax over the labels -> predictions
///
/// Text embeddings are cached inside the classifier per filled template, so repeated calls with the same
/// candidate labels and hypothesis template only run the image tower. A classifier is safe to share between threads.
public final class ZeroShotClassifier: @unchecked Sendable {
    /// The model used when none is named and `ZEROSHOT_MODEL` is not set.
    public static let defaultModel = ModelLocator.defaultModelID
    /// The pipeline's default hypothesis template.
    public static let defaultHypothesisTemplate = "This is a photo of {}."

    public struct Options: Sendable {
        /// Images with more pixels are rejected before decoding (Pillow's decompression-bomb error threshold).
        public var maxPixels: Int
        /// How many images go through the image tower together.
        public var batchSize: Int
        /// Receives warnings such as a truncated candidate text; the default writes them to standard error.
        public var warn: @Sendable (String) -> Void
        /// `.fp32` (transformers' numbers) or `.int8` (quantized encoder layers: faster, approximate).
        public var precision: Precision

        public init(maxPixels: Int = ImageDecoder.defaultMaxPixels, batchSize: Int = 16,
                    precision: Precision = .fp32,
                    warn: @escaping @Sendable (String) -> Void = ZeroShotClassifier.standardErrorWarning) {
            self.maxPixels = maxPixels
            self.batchSize = max(1, batchSize)
            self.precision = precision
            self.warn = warn
        }
    }

    /// Writes `warning: <message>` to standard error.
    public static let standardErrorWarning: @Sendable (String) -> Void = { message in
        FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
    }

    /// The directory the model files were read from (a snapshot directory for a Hub model).
    public let modelDirectory: URL
    public let model: CLIPModel
    public let tokenizer: CLIPTokenizer
    public let imageProcessor: CLIPImageProcessor
    public let options: Options

    private let cacheLock = NSLock()
    private var textEmbeddingCache: [String: [Float]] = [:]

    /// Loads a classifier from a model directory: `config.json`, `model.safetensors` (or its sharded index),
    /// the tokenizer files and `preprocessor_config.json`.
    ///
    /// - Throws: `CLIPError`/`SafeTensorsError` for the checkpoint, `TokenizerError` for the tokenizer files,
    ///   `ImageIOError` for `preprocessor_config.json`; each names the file and the reason.
    public init(directory: URL, options: Options = Options()) throws {
        self.modelDirectory = directory
        self.options = options
        self.model = try CLIPModel(directory: directory, precision: options.precision)
        var tokenizer = try CLIPTokenizer(directory: directory)
        tokenizer.maxLength = model.config.textConfig.maxPositionEmbeddings
        self.tokenizer = tokenizer
        self.imageProcessor = try CLIPImageProcessor(
            contentsOf: directory.appendingPathComponent("preprocessor_config.json"))
        // As transformers, a preprocessor_config.json that cannot give pixel_values of the model's size loads; the
        // images fail one by one (`ImagePreprocessingError`). Say so once when it concerns every image.
        for warning in Self.preprocessingWarnings(imageProcessor, modelImageSize: model.imageSize) { options.warn(warning) }
    }

    /// Warnings for a preprocessor_config.json with which every image fails, as transformers' pipeline fails each one:
    /// an error independent of the image (`CLIPImageProcessor.everyImageError`), or a fixed pixel_values size
    /// (crop size, or `{"height", "width"}` resize without a crop) other than the vision model's image_size.
    static func preprocessingWarnings(_ processor: CLIPImageProcessor, modelImageSize size: Int) -> [String] {
        if let error = processor.everyImageError {
            return ["every image will fail: \(error)"]
        }
        if let fixed = processor.fixedOutputSize, fixed.height != size || fixed.width != size {
            return ["preprocessor_config.json gives \(fixed.height)x\(fixed.width) pixel_values but the vision model takes "
                    + "\(size)x\(size): every image will fail, as in transformers"]
        }
        return []
    }

    /// Loads a classifier from a Hub repo id (`org/name`, optionally `@revision`) or a local directory.
    ///
    /// With `model` nil, uses `$ZEROSHOT_MODEL`, else `openai/clip-vit-base-patch32`. A repo id is looked up in the
    /// Hugging Face cache (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`) and downloaded into
    /// it when missing, unless `HF_HUB_OFFLINE=1`.
    ///
    /// - Throws: `HubError` when the model is neither a directory nor cached and cannot be downloaded, then the
    ///   errors of `init(directory:options:)`.
    public convenience init(model: String? = nil, options: Options = Options(),
                            environment: HubEnvironment = .fromProcessEnvironment(),
                            progress: (@Sendable (String) -> Void)? = nil) throws {
        let name = model ?? ModelLocator.defaultModel()
        let directory = try ModelLocator(environment: environment).resolveSync(name, progress: progress)
        try self.init(directory: directory, options: options)
    }

    // MARK: - Text

    /// input_ids for `text` as the CLIP tokenizer gives them: `<|startoftext|> … <|endoftext|>`, truncated to the
    /// text model's `max_position_embeddings` (77 for CLIP) keeping the end token, with a warning when truncated.
    public func tokenize(_ text: String) -> Encoding {
        let encoding = tokenizer.encode(text)
        if encoding.wasTruncated {
            options.warn("\"\(text)\" is longer than \(tokenizer.maxLength) tokens; truncated to \(tokenizer.maxLength), keeping the end token")
        }
        return encoding
    }

    /// L2-normalised text embeddings `[texts.count, projection_dim]` of the texts as given (no template).
    /// Results are cached per text.
    public func textEmbeddings(_ texts: [String]) throws -> [[Float]] {
        var result = [[Float]?](repeating: nil, count: texts.count)
        var missing: [Int] = []
        cacheLock.lock()
        for (i, text) in texts.enumerated() {
            if let cached = textEmbeddingCache[text] { result[i] = cached } else { missing.append(i) }
        }
        cacheLock.unlock()
        if !missing.isEmpty {
            // Each distinct text once.
            var order: [String] = []
            var seen = Set<String>()
            for i in missing where seen.insert(texts[i]).inserted { order.append(texts[i]) }
            let ids = order.map { tokenize($0).ids }
            let embeddings = try model.textEmbeddings(inputIds: ids)
            var fresh: [String: [Float]] = [:]
            for (text, embedding) in zip(order, embeddings) { fresh[text] = embedding }
            cacheLock.lock()
            textEmbeddingCache.merge(fresh) { old, _ in old }
            cacheLock.unlock()
            for i in missing { result[i] = fresh[texts[i]] }
        }
        return result.map { $0! }
    }

    /// Text embeddings of the candidate labels, each put through the hypothesis template.
    ///
    /// - Throws: `ZeroShotError.noCandidateLabels`, `.emptyLabel`, `.invalidTemplate`.
    public func labelEmbeddings(_ candidateLabels: [String], hypothesisTemplate: String) throws -> [[Float]] {
        guard !candidateLabels.isEmpty else { throw ZeroShotError.noCandidateLabels }
        if let i = candidateLabels.firstIndex(where: { $0.isEmpty }) { throw ZeroShotError.emptyLabel(index: i) }
        let sequences = try candidateLabels.map { try applyHypothesisTemplate(hypothesisTemplate, to: $0) }
        return try textEmbeddings(sequences)
    }

    // MARK: - Images

    /// Decodes an input to RGB (EXIF orientation applied, as `transformers.image_utils.load_image`).
    public func decode(_ input: ImageInput) throws -> RGBImage {
        switch input {
        case .file(let url): return try ImageDecoder.decode(contentsOf: url, maxPixels: options.maxPixels)
        case .encoded(let data): return try ImageDecoder.decode(data, maxPixels: options.maxPixels)
        case .pixels(let image): return image
        }
    }

    /// pixel_values `[3, S, S]` (S = the vision model's image_size) of one image, as CLIPImageProcessorPil gives them.
    ///
    /// - Throws: the decoding error; `ImagePreprocessingError` where transformers fails for this image, including
    ///   `.sizeMismatch` when its pixel_values are not S x S (without a center crop, say, a non-square image).
    public func pixelValues(_ input: ImageInput) throws -> [Float] {
        let image = try decode(input)
        try checkOutputSize(image)
        return try imageProcessor.preprocess(image).values
    }

    /// Throws the error transformers gives this image before or in the vision model: the image processor's
    /// (`ImagePreprocessingError`), or `.sizeMismatch` when its pixel_values would not be image_size x image_size
    /// (`CLIPVisionEmbeddings`: "Input image size (H*W) doesn't match model (S*S).").
    private func checkOutputSize(_ image: RGBImage) throws {
        let (h, w) = try imageProcessor.outputSize(width: image.width, height: image.height)
        let s = model.imageSize
        guard h == s, w == s else {
            throw ImagePreprocessingError.sizeMismatch(height: h, width: w, modelHeight: s, modelWidth: s)
        }
    }

    /// L2-normalised image embeddings `[projection_dim]`, one result per input in input order: an input that cannot
    /// be decoded gets its error and does not affect the others.
    ///
    /// Images go through the image tower `options.batchSize` at a time; the next batch is decoded and preprocessed
    /// on another thread while the current one runs.
    public func imageEmbeddings(_ inputs: [ImageInput]) -> [Result<[Float], Error>] {
        var results = [Result<[Float], Error>?](repeating: nil, count: inputs.count)
        let batchSize = options.batchSize
        let starts = Array(stride(from: 0, to: inputs.count, by: batchSize))
        var pending = starts.first.map { start in prepareAsync(inputs, start..<min(start + batchSize, inputs.count)) }
        for (n, _) in starts.enumerated() {
            guard let current = pending?.wait() else { break }
            pending = n + 1 < starts.count
                ? prepareAsync(inputs, starts[n + 1]..<min(starts[n + 1] + batchSize, inputs.count)) : nil
            for (i, error) in current.failures { results[i] = .failure(error) }
            guard !current.slots.isEmpty else { continue }
            do {
                let embeddings = try model.imageEmbeddings(pixelValues: current.pixelValues, batchSize: current.slots.count)
                for (i, embedding) in zip(current.slots, embeddings) { results[i] = .success(embedding) }
            } catch {
                for i in current.slots { results[i] = .failure(error) }
            }
        }
        return results.map { $0! }
    }

    /// pixel_values of a batch: the inputs that decoded (`slots`, their indices) and the errors of the others.
    struct PreparedBatch: @unchecked Sendable {
        var pixelValues: [Float] = []
        var slots: [Int] = []
        var failures: [(Int, Error)] = []
    }

    private func prepare(_ inputs: [ImageInput], _ range: Range<Int>) -> PreparedBatch {
        let perImage = model.imageSize * model.imageSize * 3
        var batch = PreparedBatch()
        batch.pixelValues = [Float](repeating: 0, count: perImage * range.count)
        for i in range {
            do {
                let image = try decode(inputs[i])
                // Images whose pixel_values would not be S x S fail here, alone; the batch holds only S x S ones.
                try checkOutputSize(image)
                let slot = batch.slots.count
                try batch.pixelValues.withUnsafeMutableBufferPointer { buffer in
                    try imageProcessor.pixelValues(image, into: UnsafeMutableBufferPointer(
                        rebasing: buffer[(slot * perImage)..<((slot + 1) * perImage)]))
                }
                batch.slots.append(i)
            } catch {
                batch.failures.append((i, error))
            }
        }
        batch.pixelValues.removeLast((range.count - batch.slots.count) * perImage)
        return batch
    }

    private func prepareAsync(_ inputs: [ImageInput], _ range: Range<Int>) -> Pending<PreparedBatch> {
        let pending = Pending<PreparedBatch>()
        DispatchQueue.global(qos: .userInitiated).async { [self] in pending.fulfil(prepare(inputs, range)) }
        return pending
    }

    // MARK: - Classification

    /// Ranks the candidate labels for one image.
    ///
    /// - Parameters:
    ///   - candidateLabels: free-text labels, in the order ties are kept.
    ///   - hypothesisTemplate: filled with each label as Python's `str.format`; default `This is a photo of {}.`
    /// - Returns: one prediction per label, sorted by score (highest first), ties in input order.
    /// - Throws: the label/template errors of `labelEmbeddings`, or the image's decoding error.
    public func classify(_ input: ImageInput, candidateLabels: [String],
                         hypothesisTemplate: String = ZeroShotClassifier.defaultHypothesisTemplate) throws -> [Prediction] {
        try classify([input], candidateLabels: candidateLabels, hypothesisTemplate: hypothesisTemplate)[0].get()
    }

    /// Ranks the candidate labels for each image, batching the image tower. One result per input, in input order;
    /// an image that fails carries its own error and the others are still classified.
    ///
    /// - Throws: only the label/template errors (they concern every image).
    public func classify(_ inputs: [ImageInput], candidateLabels: [String],
                         hypothesisTemplate: String = ZeroShotClassifier.defaultHypothesisTemplate) throws -> [Result<[Prediction], Error>] {
        let textEmbeddings = try labelEmbeddings(candidateLabels, hypothesisTemplate: hypothesisTemplate)
        return imageEmbeddings(inputs).map { result in
            result.map { imageEmbedding in
                let logits = model.logitsPerImage(imageEmbeddings: [imageEmbedding], textEmbeddings: textEmbeddings)[0]
                return Self.rank(labels: candidateLabels, logits: logits)
            }
        }
    }

    /// Softmax over the logits (float32, max-subtracted, as torch), sorted by score descending; a stable sort keeps
    /// ties in input order like Python's `sorted`.
    static func rank(labels: [String], logits: [Float]) -> [Prediction] {
        let maxLogit = logits.max() ?? 0
        let exps = logits.map { expf($0 - maxLogit) }
        let sum = exps.reduce(0, +)
        let predictions = zip(labels, zip(exps, logits)).map { label, pair in
            Prediction(label: label, score: pair.0 / sum, logit: pair.1)
        }
        return zip(predictions.indices, predictions)
            .sorted { a, b in a.1.score != b.1.score ? a.1.score > b.1.score : a.0 < b.0 }
            .map(\.1)
    }
}

/// A value computed on another thread, waited for once.
final class Pending<Value>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var value: Value?

    func fulfil(_ value: Value) {
        self.value = value
        done.signal()
    }

    func wait() -> Value {
        done.wait()
        return value!
    }
}
