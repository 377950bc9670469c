import FileReading
import Foundation
import Hub
import ImageIO
import Layers
import Models
import Tokenizers

/// Zero-shot image classification with a CLIP checkpoint in Hugging Face layout, giving the numbers of
/// `transformers`' `pipeline(task="zero-shot-image-classification")`:
///
///     file -> decoded RGB -> pixel_values [batch, 3, S, S] -> image embeddings [batch, D]
///     "This is a photo of {}." + label -> input_ids -> text embeddings [labels, D]
///     logits_per_image = exp(logit_scale) · cosine  [batch, labels] -> softmax over the labels -> predictions
///
/// `ScoringRule` gives the alternatives to the pipeline's scores: a threshold, and labels scored independently.
///
/// Text embeddings are cached inside the classifier per filled template (a bounded least-recently-used cache of
/// `Options.textEmbeddingMemoryCapacity` entries), so repeated calls with the same candidate labels and hypothesis
/// template only run the image tower; with `Options.textEmbeddingCache` they are kept on disk across runs too
/// (`TextEmbeddingStore`). A classifier is safe to share between threads.
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
        /// A directory for the disk cache of text embeddings (`TextEmbeddingStore`: one file per model, tokenizer,
        /// precision and width, keyed by the exact prompt), created when missing; nil (the default): text
        /// embeddings are cached in memory only and nothing is written to disk. The command line passes
        /// `TextEmbeddingStore.defaultDirectory()` unless told otherwise. A cache that cannot be used is warned
        /// about once (`warn`) and never fails a call.
        public var textEmbeddingCache: URL?
        /// Most text embeddings kept in memory (entries; default `defaultTextEmbeddingMemoryCapacity`, 16,384; 0:
        /// none, every call reads the disk cache or runs the text tower). The least recently used are forgotten
        /// first. Two maps of this many entries each are kept, one by exact text and one by token sequence (so
        /// that texts that tokenize alike share one embedding); they share the embeddings, so an entry costs about
        /// D × 4 bytes plus its two keys and bookkeeping (about 300 bytes for a short prompt): about 2.3 KB at
        /// D = 512 (CLIP ViT-B) and 3.4 KB at D = 768 (ViT-L), i.e. about 40 MB and 55 MB at the default capacity;
        /// up to about twice that when the two maps come to hold different embeddings.
        public var textEmbeddingMemoryCapacity: Int

        /// The default of `textEmbeddingMemoryCapacity`: 16,384 entries.
        public static let defaultTextEmbeddingMemoryCapacity = 16_384

        public init(maxPixels: Int = ImageDecoder.defaultMaxPixels, batchSize: Int = 16,
                    precision: Precision = .fp32, textEmbeddingCache: URL? = nil,
                    textEmbeddingMemoryCapacity: Int = Options.defaultTextEmbeddingMemoryCapacity,
                    warn: @escaping @Sendable (String) -> Void = ZeroShotClassifier.standardErrorWarning) {
            self.maxPixels = maxPixels
            self.batchSize = max(1, batchSize)
            self.precision = precision
            self.textEmbeddingCache = textEmbeddingCache
            self.textEmbeddingMemoryCapacity = max(0, textEmbeddingMemoryCapacity)
            self.warn = warn
        }
    }

    /// Counts of the in-memory text-embedding cache since the classifier was made (`textCacheStatistics`).
    public struct TextCacheStatistics: Sendable, Equatable {
        /// Texts (one per element of a `textEmbeddings` call, repeats included) whose embedding was found in memory
        /// by their exact text.
        public var hits: Int
        /// Texts that were not: their embedding came from a text of the same token sequence held in memory, from
        /// the disk cache or from the text tower.
        public var misses: Int
        /// Embeddings held by exact text now (at most `capacity`).
        public var entries: Int
        /// `Options.textEmbeddingMemoryCapacity`.
        public var capacity: Int

        public init(hits: Int, misses: Int, entries: Int, capacity: Int) {
            self.hits = hits
            self.misses = misses
            self.entries = entries
            self.capacity = capacity
        }
    }

    /// Writes `warning: <message>` to standard error (a failed write is ignored: it has nowhere to be reported).
    public static let standardErrorWarning: @Sendable (String) -> Void = { message in
        try? FileHandle.standardError.write(contentsOf: Data("warning: \(message)\n".utf8))
    }

    /// The directory the model files were read from (a snapshot directory for a Hub model).
    public let modelDirectory: URL
    /// The checkpoint, of the family its `config.json` `model_type` names (`ModelTypeRegistry`).
    public let model: any ZeroShotModel
    /// The checkpoint's tokenizer, as transformers' AutoTokenizer builds it (`AutoTokenizer.load(directory:)`).
    public let tokenizer: any Tokenizer
    /// The longest input_ids row, special tokens included: longer texts are truncated keeping the end token (the
    /// family's padding length, 64 for SigLIP as the pipeline pads, else `max_position_embeddings`).
    public let textLength: Int
    public let imageProcessor: ImageProcessor
    public let options: Options

    private let cacheLock = NSLock()
    /// The name the model was loaded by (`init(model:)`), for `identity`; nil after `init(directory:)`.
    private var loadedName: String?
    private var cachedIdentity: ModelIdentity?
    /// Text embeddings by the exact text (`ExactText`: canonically equivalent texts are not merged), least recently
    /// used forgotten first (guarded by `cacheLock`, as the two below).
    private var textEmbeddingCache: LRUCache<ExactText, [Float]>
    /// Text embeddings by token sequence (input_ids), so that texts that tokenize alike share one embedding.
    private var embeddingByInputIds: LRUCache<[Int32], [Float]>
    private var textCacheHits = 0
    private var textCacheMisses = 0
    /// The most rows one text-tower pass of `textEmbeddings` has run (guarded by `cacheLock`; for tests).
    private(set) var largestTextPass = 0
    private let storeLock = NSLock()
    /// The disk cache (`options.textEmbeddingCache`), made on first use; `storeUnavailable` once it cannot be.
    private var store: TextEmbeddingStore?
    private var storeUnavailable = false

    /// Loads a classifier from a model directory: `config.json`, `model.safetensors` (or its sharded index),
    /// the tokenizer files and `preprocessor_config.json`.
    ///
    /// - Throws: `ModelError`/`SafeTensorsError` for the checkpoint, `TokenizerError` for the tokenizer files,
    ///   `ImageIOError` for `preprocessor_config.json`; each names the file and the reason.
    public init(directory: URL, options: Options = Options()) throws {
        self.modelDirectory = directory
        self.options = options
        textEmbeddingCache = LRUCache(capacity: options.textEmbeddingMemoryCapacity)
        embeddingByInputIds = LRUCache(capacity: options.textEmbeddingMemoryCapacity)
        self.model = try ModelTypeRegistry.load(directory: directory, precision: options.precision)
        self.tokenizer = try AutoTokenizer.load(directory: directory)
        textLength = Self.textLength(model.textPadding, maxPositions: model.textMaxLength)
        let preprocessorConfig = directory.appendingPathComponent("preprocessor_config.json")
        guard FileManager.default.fileExists(atPath: preprocessorConfig.path) else {
            throw ModelError.missingFile(path: preprocessorConfig.path)
        }
        // The family's processor class fills keys the file leaves out (unless it names its own class).
        let processorClass = ImageProcessorClass(typeName: type(of: model).imageProcessorClass) ?? .clip
        self.imageProcessor = try ImageProcessor(contentsOf: preprocessorConfig, processorClass: processorClass)
        // As transformers, a preprocessor_config.json that cannot give pixel_values of the model's size loads; the
        // images fail one by one (`ImagePreprocessingError`). Say so once when it concerns every image.
        for warning in Self.preprocessingWarnings(imageProcessor, modelImageSize: model.imageSize) { options.warn(warning) }
    }

    /// Warnings for a preprocessor_config.json with which every image fails, as transformers' pipeline fails each one:
    /// an error independent of the image (`ImageProcessor.everyImageError`), or a fixed pixel_values size
    /// (crop size, or `{"height", "width"}` resize without a crop) other than the vision model's image_size.
    static func preprocessingWarnings(_ processor: ImageProcessor, modelImageSize size: Int) -> [String] {
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
    /// - Throws: `ZeroShotError.modelNotFound` when the model is neither a directory nor a repo id that is cached
    ///   or can be downloaded (carrying the `HubError`), `HubError` for a path that is not a directory or a name
    ///   that is no repo id, then the errors of `init(directory:options:)`.
    public convenience init(model: String? = nil, options: Options = Options(),
                            environment: HubEnvironment = .fromProcessEnvironment(),
                            progress: (@Sendable (String) -> Void)? = nil) throws {
        let directory = try Self.modelDirectory(model, environment: environment, progress: progress)
        try self.init(directory: directory, options: options)
        loadedName = model ?? ModelLocator.defaultModel()
    }

    /// Which checkpoint this is (`ModelIdentity`): the Hub repo id and snapshot commit when loaded by a repo id,
    /// else the directory's absolute path; with the fingerprint of its files, computed on first use.
    ///
    /// - Throws: `ModelIdentityError.unreadable` when `config.json` or a weights file cannot be read.
    public var identity: ModelIdentity {
        get throws {
            cacheLock.lock()
            defer { cacheLock.unlock() }
            if let cachedIdentity { return cachedIdentity }
            let identity = loadedName != nil
                ? try Self.identity(name: loadedName, directory: modelDirectory) : try ModelIdentity(directory: modelDirectory)
            cachedIdentity = identity
            return identity
        }
    }

    /// The directory of `model` (a Hub repo id or a local directory; nil: `$ZEROSHOT_MODEL`, else the default
    /// model), found or downloaded as `init(model:options:environment:progress:)` does. For a repo id, the cached
    /// snapshot must hold `files` (default `modelFiles`; `tokenizerFiles` for tokenization alone), and a download
    /// fetches them.
    ///
    /// - Throws: `ZeroShotError.modelNotFound(name, origin:workingDirectory:hubError:)` when `model` is no directory and
    ///   the Hub lookup fails (a mistyped relative path reads first that there is no such directory, then what the
    ///   Hub said); `HubError.directoryNotFound` / `.invalidModelReference` for names that can only be a path or
    ///   only a bad id.
    public static func modelDirectory(_ model: String?, environment: HubEnvironment = .fromProcessEnvironment(),
                                      files: FileSelection = modelFiles,
                                      progress: (@Sendable (String) -> Void)? = nil) throws -> URL {
        let name = model ?? ModelLocator.defaultModel()
        let origin: ZeroShotError.ModelNameOrigin = model != nil ? .given
            : ModelLocator.environmentModel() != nil ? .environment : .defaultModel
        var progress = progress
        // A name whose first component is a local directory ("models/b32" next to "models/") reads like a mistyped
        // path: the first status line of a download says first that there is no such directory.
        var isDirectory: ObjCBool = false
        if let report = progress, name.contains("/"), let first = name.split(separator: "/").first,
           FileManager.default.fileExists(atPath: String(first), isDirectory: &isDirectory), isDirectory.boolValue {
            let noted = NSLock(), state = NotedOnce()
            progress = { message in
                noted.lock()
                let note = !state.done
                state.done = true
                noted.unlock()
                report(note ? "no directory '\(name)' (in \(FileManager.default.currentDirectoryPath)); trying it as a "
                       + "Hugging Face repo id. \(message)" : message)
            }
        }
        do {
            return try ModelLocator(environment: environment, files: files).resolveSync(name, progress: progress)
        } catch let error as HubError {
            switch error {
            case .directoryNotFound, .invalidModelReference: throw error
            default:
                throw ZeroShotError.modelNotFound(name, origin: origin,
                                                  workingDirectory: FileManager.default.currentDirectoryPath,
                                                  hubError: error)
            }
        }
    }

    // MARK: - Text

    /// input_ids for `text` as the checkpoint's tokenizer gives them, special tokens included, truncated to
    /// `textLength` keeping the end token (`truncation=True`), with a warning when truncated.
    public func tokenize(_ text: String) -> Encoding {
        let encoding = tokenizer.encode(text, maxLength: textLength)
        if encoding.wasTruncated { options.warn(Self.truncationWarning(text, maxLength: textLength)) }
        return encoding
    }

    /// The warning for a text cut to `maxLength` tokens.
    public static func truncationWarning(_ text: String, maxLength: Int) -> String {
        "\(quoted(text)) is longer than \(maxLength) tokens; truncated to \(maxLength), keeping the end token"
    }

    /// The truncation length of a family: its padding length, else the text tower's positions.
    static func textLength(_ padding: TextPadding, maxPositions: Int) -> Int {
        switch padding {
        case .none: return maxPositions
        case .maxLength(let n): return n
        }
    }

    /// The text tower's input for token sequences, padded as transformers' pipeline pads them for this family:
    /// rows as they are (`.none`), or each padded with the pad token to the family's length on the tokenizer's
    /// `padding_side`, with the attention mask only when the tokenizer's `model_input_names` has `attention_mask`
    /// (the original SigLIP checkpoints do not: their text tower sees the pad tokens).
    public func textBatch(_ rows: [[Int32]]) -> TextBatch {
        guard case .maxLength(let length) = model.textPadding else { return TextBatch(inputIds: rows) }
        let pad = tokenizer.padTokenId ?? 0
        let left = tokenizer.paddingSide == .left
        var ids: [[Int32]] = [], mask: [[Int32]] = []
        for row in rows {
            let fill = max(0, length - row.count)
            let padding = [Int32](repeating: pad, count: fill), zeros = [Int32](repeating: 0, count: fill)
            let ones = [Int32](repeating: 1, count: row.count)
            ids.append(left ? padding + row : row + padding)
            mask.append(left ? zeros + ones : ones + zeros)
        }
        return TextBatch(inputIds: ids, attentionMask: tokenizer.modelInputNames.contains("attention_mask") ? mask : nil)
    }

    /// The tokenizer of a model directory, reading only what tokenization needs (the tokenizer files, and
    /// `config.json` when present: `model_type` for a tokenizer without `tokenizer_class`, and the length the
    /// classifier truncates to); no weights and no `preprocessor_config.json`. `maxLength` is that length when
    /// `config.json` is there, else the tokenizer's `model_max_length` (nil when it has none).
    ///
    /// - Throws: `TokenizerError` for the tokenizer files, `ModelError` for a malformed or unsupported `config.json`.
    public static func tokenizer(directory: URL) throws -> (tokenizer: any Tokenizer, maxLength: Int?) {
        let tokenizer = try AutoTokenizer.load(directory: directory)
        let config = directory.appendingPathComponent("config.json")
        if FileManager.default.fileExists(atPath: config.path) {
            let family = try ModelTypeRegistry.family(directory: directory)
            return (tokenizer, textLength(family.pipelineTextPadding, maxPositions: try family.textMaxLength(configIn: directory)))
        }
        return (tokenizer, tokenizer.modelMaxLength)
    }

    /// L2-normalised text embeddings `[texts.count, projection_dim]` of the texts as given (no template).
    ///
    /// Results are cached per exact text and per token sequence (texts with the same input_ids share one
    /// embedding), in memory and, with `options.textEmbeddingCache`, on disk (`TextEmbeddingStore`): memory first,
    /// then the disk, then the text tower for the rest, whose embeddings are appended to the disk cache. An
    /// embedding read from the disk is, bit for bit, the one the run that computed it used; the truncation warning
    /// of a text that was truncated is given again. The memory cache keeps the `options.textEmbeddingMemoryCapacity`
    /// most recently used texts and token sequences (`textCacheStatistics` counts its hits and misses); a text
    /// whose entries were forgotten is looked up again on disk or recomputed. The text tower runs the texts in
    /// passes of at most 1,024 rows (`promptBatchSize`; for a family that pads every row, as many rows as make
    /// 16,384 tokens), so memory for activations does not grow with the number of texts.
    public func textEmbeddings(_ texts: [String]) throws -> [[Float]] {
        var result = [[Float]?](repeating: nil, count: texts.count)
        let keys = texts.map(ExactText.init)
        var missing: [Int] = []
        cacheLock.lock()
        for (i, key) in keys.enumerated() {
            if let cached = textEmbeddingCache.value(forKey: key) { result[i] = cached } else { missing.append(i) }
        }
        textCacheHits += texts.count - missing.count
        textCacheMisses += missing.count
        cacheLock.unlock()
        if !missing.isEmpty {
            // Each distinct text once.
            var order: [Int] = []
            var seen = Set<ExactText>()
            for i in missing where seen.insert(keys[i]).inserted { order.append(i) }
            var fresh: [ExactText: [Float]] = [:]
            // The disk cache.
            let store = textEmbeddingStore()
            var stored: [Int] = []
            if let store {
                for (i, entry) in zip(order, store.lookup(order.map { texts[$0] })) {
                    guard let entry else { continue }
                    fresh[keys[i]] = entry.embedding
                    stored.append(i)
                    if entry.truncated { options.warn(Self.truncationWarning(texts[i], maxLength: textLength)) }
                }
            }
            let computing = order.filter { fresh[keys[$0]] == nil }
            var known: [[Int32]: [Float]] = [:]
            var encodings: [Encoding] = []
            if !computing.isEmpty {
                // Each distinct token sequence once, in this call and across calls: texts that tokenize alike ("a
                // photo of ." and "a photo of  .") get the very same embedding, so their scores tie exactly, as
                // identical rows of one batch do in transformers.
                encodings = computing.map { tokenize(texts[$0]) }
                cacheLock.lock()
                for encoding in encodings { known[encoding.ids] = embeddingByInputIds.value(forKey: encoding.ids) }
                cacheLock.unlock()
                // A text read from the disk gives its embedding to the texts computed now that tokenize alike.
                if !stored.isEmpty {
                    let needed = Set(encodings.map(\.ids))
                    for i in stored {
                        let ids = tokenizer.encode(texts[i], maxLength: textLength).ids
                        if needed.contains(ids) && known[ids] == nil { known[ids] = fresh[keys[i]] }
                    }
                }
                var distinct: [[Int32]] = []
                var queued = Set<[Int32]>()
                for encoding in encodings where known[encoding.ids] == nil && queued.insert(encoding.ids).inserted {
                    distinct.append(encoding.ids)
                }
                // In passes of `promptsPerPass` rows: the text tower's activations grow with the rows of a pass,
                // so a long label list must not make one pass of them all.
                var start = 0
                while start < distinct.count {
                    let pass = Array(distinct[start..<min(start + promptsPerPass, distinct.count)])
                    noteTextPass(rows: pass.count)
                    for (sequence, embedding) in zip(pass, try model.textEmbeddings(textBatch(pass))) {
                        known[sequence] = embedding
                    }
                    start += pass.count
                }
                var entries: [TextEmbeddingStore.Entry] = []
                for (i, encoding) in zip(computing, encodings) {
                    let embedding = known[encoding.ids]!
                    fresh[keys[i]] = embedding
                    if store != nil {
                        entries.append(.init(prompt: texts[i], embedding: embedding, truncated: encoding.wasTruncated))
                    }
                }
                // A prompt another process stored meanwhile: its copy, so this run prints what later runs will.
                // Texts with the same input_ids keep sharing one embedding.
                if let store {
                    var adopted: [[Int32]: [Float]] = [:]
                    for (encoding, stored) in zip(encodings, store.append(entries)) {
                        if let stored, adopted[encoding.ids] == nil { adopted[encoding.ids] = stored }
                    }
                    if !adopted.isEmpty {
                        for (i, encoding) in zip(computing, encodings) {
                            if let stored = adopted[encoding.ids] { fresh[keys[i]] = stored }
                        }
                        known.merge(adopted) { _, stored in stored }
                    }
                }
            }
            cacheLock.lock()
            // In the order of the texts, so that the last ones are the most recently used; an entry another thread
            // stored meanwhile stays (as the dictionaries' merge kept the old value).
            for i in missing { textEmbeddingCache.insertIfAbsent(fresh[keys[i]]!, forKey: keys[i]) }
            for encoding in encodings { embeddingByInputIds.insertIfAbsent(known[encoding.ids]!, forKey: encoding.ids) }
            cacheLock.unlock()
            for i in missing { result[i] = fresh[keys[i]] }
        }
        return result.map { $0! }
    }

    /// The embeddings `textEmbeddings(texts)` gives when every text is held in the memory cache by its exact text
    /// (counted as hits, made the most recently used), else nil (nothing counted, nothing computed): a lookup that
    /// never runs the text tower or reads the disk, for callers that run the model on a thread of their own.
    public func cachedTextEmbeddings(_ texts: [String]) -> [[Float]]? {
        let keys = texts.map(ExactText.init)
        cacheLock.lock()
        defer { cacheLock.unlock() }
        guard keys.allSatisfy({ textEmbeddingCache.contains($0) }) else { return nil }
        textCacheHits += keys.count
        return keys.map { textEmbeddingCache.value(forKey: $0)! }
    }

    /// Hits and misses of the in-memory text-embedding cache since the classifier was made, its entries and capacity.
    public var textCacheStatistics: TextCacheStatistics {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        return TextCacheStatistics(hits: textCacheHits, misses: textCacheMisses, entries: textEmbeddingCache.count,
                                   capacity: textEmbeddingCache.capacity)
    }

    /// The disk cache of `options.textEmbeddingCache` for this model, made on first use (the model key needs the
    /// fingerprint and the tokenizer files' bytes); nil without the option, or when the key cannot be made (warned
    /// once).
    private func textEmbeddingStore() -> TextEmbeddingStore? {
        guard let directory = options.textEmbeddingCache else { return nil }
        storeLock.lock()
        defer { storeLock.unlock() }
        if let store { return store }
        if storeUnavailable { return nil }
        do {
            let key = TextEmbeddingStore.modelKey(fingerprint: try identity.fingerprint,
                                                  tokenizerFiles: try Self.tokenizerFileContents(modelDirectory),
                                                  precision: model.precision.rawValue, width: model.embeddingWidth)
            store = TextEmbeddingStore(directory: directory, key: key, width: model.embeddingWidth, warn: options.warn)
        } catch {
            options.warn("text embeddings are not cached on disk: \(error.localizedDescription)")
            storeUnavailable = true
        }
        return store
    }

    /// Name and bytes of each tokenizer file `directory` has (`tokenizerCompanions`: every tokenizer layout and the
    /// files beside it), for the text-embedding cache's model key.
    ///
    /// - Throws: `ModelIdentityError.unreadable` for a file that is there but cannot be read.
    static func tokenizerFileContents(_ directory: URL) throws -> [(name: String, bytes: Data)] {
        try tokenizerCompanions.compactMap { name -> (name: String, bytes: Data)? in
            let url = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { return nil }
            let bytes: Data
            do throws(FileReadError) {
                bytes = try FileContents.read(url, maxBytes: FileContents.maxTokenizerFileBytes)
            } catch {
                throw ModelIdentityError.unreadable(path: url.path, reason: error.reason(what: "a tokenizer file"))
            }
            return (name, bytes)
        }
    }

    /// Text embeddings of the candidate labels, each put through the hypothesis template.
    ///
    /// Any label string is accepted as given, as the pipeline does: an empty or whitespace-only label gives the
    /// template alone (see `candidateLabelWarnings`).
    ///
    /// - Throws: `ZeroShotError.noCandidateLabels`, `.tooManyLabels` (over `maxCandidateLabels`), `.invalidTemplate`.
    public func labelEmbeddings(_ candidateLabels: [String], hypothesisTemplate: String) throws -> [[Float]] {
        guard !candidateLabels.isEmpty else { throw ZeroShotError.noCandidateLabels }
        guard candidateLabels.count <= Self.maxCandidateLabels else {
            throw ZeroShotError.tooManyLabels(candidateLabels.count, limit: Self.maxCandidateLabels)
        }
        let sequences = try candidateLabels.map { try applyHypothesisTemplate(hypothesisTemplate, to: $0) }
        return try textEmbeddings(sequences)
    }

    /// Prompt-ensemble class embeddings `[classNames.count, projection_dim]`: each class name is put through every
    /// template, the L2-normalised text embeddings of its prompts are averaged and the mean is L2-normalised again
    /// (the recipe of CLIP's "Prompt Engineering for ImageNet" notebook and open_clip's
    /// `build_zero_shot_classifier`). Scores then follow as usual (`predictions`): exp(logit_scale) · cosine
    /// (+ logit_bias), softmax or sigmoid.
    ///
    /// All prompts go through the text tower in passes of `promptsPerPass`, each distinct token sequence once
    /// (`textEmbeddings`). The prompts are taken in the order of their text (UTF-8 bytes), not class by class, so
    /// that those which start alike (one template's prompts) share a pass and the causal text tower runs their
    /// common prefix once (CLIP); each class's embeddings are summed as they arrive. With one template the result
    /// is exactly `labelEmbeddings` (the pipeline's numbers).
    ///
    /// - Throws: `ZeroShotError.noCandidateLabels`, `.noTemplates`, `.tooManyLabels` (over `maxCandidateLabels`),
    ///   `.tooManyPrompts` (class names x templates over `maxEnsemblePrompts`), `.invalidTemplate`.
    public func classEmbeddings(classNames: [String], templates: [String]) throws -> [[Float]] {
        guard !classNames.isEmpty else { throw ZeroShotError.noCandidateLabels }
        guard !templates.isEmpty else { throw ZeroShotError.noTemplates }
        guard classNames.count <= Self.maxCandidateLabels else {
            throw ZeroShotError.tooManyLabels(classNames.count, limit: Self.maxCandidateLabels)
        }
        let (promptCount, overflow) = classNames.count.multipliedReportingOverflow(by: templates.count)
        guard !overflow, promptCount <= Self.maxEnsemblePrompts else {
            throw ZeroShotError.tooManyPrompts(classNames: classNames.count, templates: templates.count,
                                               limit: Self.maxEnsemblePrompts)
        }
        if templates.count == 1 { return try labelEmbeddings(classNames, hypothesisTemplate: templates[0]) }
        var prompts: [String] = []
        prompts.reserveCapacity(classNames.count * templates.count)
        for name in classNames { for template in templates { prompts.append(try applyHypothesisTemplate(template, to: name)) } }
        let order = prompts.indices.sorted { prompts[$0].utf8.lexicographicallyPrecedes(prompts[$1].utf8) }
        var sums: [[Float]] = []
        var start = 0
        while start < order.count {
            let pass = order[start..<min(start + promptsPerPass, order.count)]
            let embeddings = try textEmbeddings(pass.map { prompts[$0] })
            if sums.isEmpty { sums = Array(repeating: [Float](repeating: 0, count: embeddings[0].count), count: classNames.count) }
            for (prompt, embedding) in zip(pass, embeddings) {
                let c = prompt / templates.count
                sums[c].withUnsafeMutableBufferPointer { sum in
                    for d in sum.indices { sum[d] += embedding[d] }
                }
            }
            start += pass.count
        }
        let count = Float(templates.count)
        return sums.map { sum in l2Normalized(sum.map { $0 / count }) }
    }

    private func noteTextPass(rows: Int) {
        cacheLock.lock()
        largestTextPass = max(largestTextPass, rows)
        cacheLock.unlock()
    }

    /// The most candidate labels (or class names) of one classification: 200,000, above WordNet's 117,659 noun
    /// synsets and ImageNet-21k's 21,841 classes. Each label's text embedding is held (`projection_dim` floats) and
    /// every image gets a score per label.
    public static let maxCandidateLabels = 200_000

    /// The most prompts (class names x templates) of one prompt ensemble: 2,000,000, above ImageNet-21k's classes
    /// through the 80 `openai-imagenet` templates (1,747,280). The prompts are built and sorted before they run.
    public static let maxEnsemblePrompts = 2_000_000

    /// Prompts per text-tower pass of `classEmbeddings` and `textEmbeddings` (rows as tokenized: a few to a dozen
    /// tokens each).
    public static let promptBatchSize = 1024

    /// Tokens per text-tower pass of `classEmbeddings` when the family pads every row (SigLIP's 64): wide enough
    /// for the products to run at full rate, a quarter of the activations of `promptBatchSize` padded rows.
    public static let paddedTokensPerPass = 16_384

    /// Prompts per text-tower pass of `classEmbeddings` and `textEmbeddings`: `promptBatchSize`, or as many padded rows as make
    /// `paddedTokensPerPass` tokens.
    var promptsPerPass: Int {
        guard case .maxLength(let length) = model.textPadding, length > 0 else { return Self.promptBatchSize }
        return max(1, min(Self.promptBatchSize, Self.paddedTokensPerPass / length))
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
    func checkOutputSize(_ image: RGBImage) throws {
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
    /// on another thread while the current one runs (`embedImages`).
    public func imageEmbeddings(_ inputs: [ImageInput]) -> [Result<[Float], Error>] {
        var results: [Result<[Float], Error>] = []
        results.reserveCapacity(inputs.count)
        embedImages(inputs, load: { [self] input in try decode(input) }) { _, result in results.append(result) }
        return results
    }

    /// Streams L2-normalised image embeddings `[projection_dim]` of any sequence of items, in order, holding at most
    /// two batches at a time: a million-item run never holds a million images or embeddings.
    ///
    /// Items are taken from `items` `batchSize` at a time (default `options.batchSize`). For each batch, `load` turns
    /// every item into RGB pixels (reading and decoding, EXIF orientation applied) and the image processor makes its
    /// pixel_values `[3, S, S]`, on another thread while the previous batch runs through the image tower; then
    /// `body` is called once per item, in input order, with the item's embedding or its error.
    ///
    /// An item whose `load` throws, or whose pixel_values cannot be made (`ImagePreprocessingError`, `.sizeMismatch`
    /// when they would not be S x S), gets that error; the other items of its batch are embedded without it. With
    /// `batchSize` 1 an image's embedding never depends on the images around it (the numbers of a matrix product can
    /// change with the number of rows).
    ///
    /// - Parameters:
    ///   - load: called on a worker thread, once per item, in input order.
    ///   - body: called on the calling thread, once per item, in input order.
    /// - Throws: only what `body` throws (typed: a `body` that cannot throw makes the call non-throwing); the run
    ///   stops there (the batch being prepared is waited for first).
    public func embedImages<S: Sequence, E: Error>(_ items: S, batchSize: Int? = nil,
                                                   load: @escaping @Sendable (S.Element) throws -> RGBImage,
                                                   body: (S.Element, Result<[Float], Error>) throws(E) -> Void) throws(E) {
        let size = max(1, batchSize ?? options.batchSize)
        var iterator = items.makeIterator()
        func nextBatch() -> [S.Element] {
            var batch: [S.Element] = []
            batch.reserveCapacity(size)
            while batch.count < size, let item = iterator.next() { batch.append(item) }
            return batch
        }
        var current = nextBatch()
        var pending: Pending<PreparedBatch>? = current.isEmpty ? nil : prepareAsync(current, load)
        // A `body` that throws leaves no thread running on this classifier.
        defer { _ = pending?.wait() }
        while let waiting = pending {
            let prepared = waiting.wait()
            let next = nextBatch()
            pending = next.isEmpty ? nil : prepareAsync(next, load)
            var results = [Result<[Float], Error>?](repeating: nil, count: current.count)
            for (i, error) in prepared.failures { results[i] = .failure(error) }
            if !prepared.slots.isEmpty {
                do {
                    let embeddings = try model.imageEmbeddings(pixelValues: prepared.pixelValues,
                                                               batchSize: prepared.slots.count)
                    for (i, embedding) in zip(prepared.slots, embeddings) { results[i] = .success(embedding) }
                } catch {
                    for i in prepared.slots { results[i] = .failure(error) }
                }
            }
            for (item, result) in zip(current, results) { try body(item, result!) }
            current = next
        }
    }

    /// pixel_values of a batch: the items that loaded (`slots`, their indices in the batch) and the errors of the
    /// others.
    struct PreparedBatch: @unchecked Sendable {
        var pixelValues: [Float] = []
        var slots: [Int] = []
        var failures: [(Int, Error)] = []
    }

    /// Items handed to the thread that prepares them; only that thread reads them until the batch is waited for.
    private struct UncheckedItems<Element>: @unchecked Sendable {
        let items: [Element]
    }

    private func prepare<Element>(_ items: [Element], _ load: (Element) throws -> RGBImage) -> PreparedBatch {
        let perImage = model.imageSize * model.imageSize * 3
        var batch = PreparedBatch()
        batch.pixelValues = [Float](repeating: 0, count: perImage * items.count)
        for (i, item) in items.enumerated() {
            do {
                let image = try load(item)
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
        batch.pixelValues.removeLast((items.count - batch.slots.count) * perImage)
        return batch
    }

    private func prepareAsync<Element>(_ items: [Element],
                                       _ load: @escaping @Sendable (Element) throws -> RGBImage) -> Pending<PreparedBatch> {
        let pending = Pending<PreparedBatch>()
        let handed = UncheckedItems(items: items)
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            pending.fulfil(ComputeThreads.asHelper { prepare(handed.items, load) })
        }
        return pending
    }

    // MARK: - Classification

    /// Ranks the candidate labels for one image.
    ///
    /// - Parameters:
    ///   - candidateLabels: free-text labels, in the order ties are kept.
    ///   - hypothesisTemplate: filled with each label as Python's `str.format`; default `This is a photo of {}.`
    ///   - rule: scores and which predictions are kept (`ScoringRule`; default the pipeline's, all kept).
    /// - Returns: one prediction per label (those `rule` keeps), sorted by score (highest first), ties in input order.
    /// - Throws: the label/template errors of `labelEmbeddings`, `ScoringRuleError` for a rule the model cannot
    ///   use, or the image's decoding error.
    public func classify(_ input: ImageInput, candidateLabels: [String],
                         hypothesisTemplate: String = ZeroShotClassifier.defaultHypothesisTemplate,
                         rule: ScoringRule = .pipeline) throws -> [Prediction] {
        try classify([input], candidateLabels: candidateLabels, hypothesisTemplate: hypothesisTemplate, rule: rule)[0].get()
    }

    /// Ranks the candidate labels for each image, batching the image tower. One result per input, in input order;
    /// an image that fails carries its own error and the others are still classified.
    ///
    /// - Throws: only the label/template errors and `ScoringRuleError` (they concern every image).
    public func classify(_ inputs: [ImageInput], candidateLabels: [String],
                         hypothesisTemplate: String = ZeroShotClassifier.defaultHypothesisTemplate,
                         rule: ScoringRule = .pipeline) throws -> [Result<[Prediction], Error>] {
        try classify(inputs, candidateLabels: candidateLabels, hypothesisTemplates: [hypothesisTemplate], rule: rule)
    }

    /// Ranks the candidate labels for each image with a prompt ensemble: each label's embedding is
    /// `classEmbeddings(classNames:templates:)` over `hypothesisTemplates` (one template gives the pipeline's
    /// numbers). One result per input, in input order.
    ///
    /// - Throws: only the label/template errors of `classEmbeddings` and `ScoringRuleError` (they concern every
    ///   image).
    public func classify(_ inputs: [ImageInput], candidateLabels: [String], hypothesisTemplates: [String],
                         rule: ScoringRule = .pipeline) throws -> [Result<[Prediction], Error>] {
        var results: [Result<[Prediction], Error>] = []
        results.reserveCapacity(inputs.count)
        try classify(inputs, candidateLabels: candidateLabels, hypothesisTemplates: hypothesisTemplates, rule: rule,
                     load: { [self] input in try decode(input) }) { _, result in results.append(result) }
        return results
    }

    /// Ranks the candidate labels for each item of a sequence, streaming: `body` gets each item's predictions (or
    /// its error) in input order as soon as its batch has run, with at most two batches held (see `embedImages`).
    ///
    /// - Parameters:
    ///   - batchSize: images per run of the image tower (default `options.batchSize`).
    ///   - load: the item's RGB pixels, called on a worker thread.
    ///   - rule: scores and which predictions are kept (`ScoringRule`; default the pipeline's, all kept).
    ///   - body: called on the calling thread once per item, in input order.
    /// - Throws: the label/template errors and `ScoringRuleError` (before any item is loaded), then only what
    ///   `body` throws.
    public func classify<S: Sequence>(_ items: S, candidateLabels: [String],
                                      hypothesisTemplate: String = ZeroShotClassifier.defaultHypothesisTemplate,
                                      rule: ScoringRule = .pipeline,
                                      batchSize: Int? = nil,
                                      load: @escaping @Sendable (S.Element) throws -> RGBImage,
                                      body: (S.Element, Result<[Prediction], Error>) throws -> Void) throws {
        try classify(items, candidateLabels: candidateLabels, hypothesisTemplates: [hypothesisTemplate], rule: rule,
                     batchSize: batchSize, load: load, body: body)
    }

    /// The streaming `classify` with a prompt ensemble over `hypothesisTemplates` (see `classEmbeddings`).
    ///
    /// - Throws: the label/template errors and `ScoringRuleError` (before any item is loaded), then only what
    ///   `body` throws.
    public func classify<S: Sequence>(_ items: S, candidateLabels: [String], hypothesisTemplates: [String],
                                      rule: ScoringRule = .pipeline,
                                      batchSize: Int? = nil,
                                      load: @escaping @Sendable (S.Element) throws -> RGBImage,
                                      body: (S.Element, Result<[Prediction], Error>) throws -> Void) throws {
        _ = try rule.logitOffset(scoring: model.scoring, logitScale: model.logitScale)
        let textEmbeddings = try classEmbeddings(classNames: candidateLabels, templates: hypothesisTemplates)
        try embedImages(items, batchSize: batchSize, load: load) { item, result in
            try body(item, result.flatMap { embedding in
                Result {
                    try predictions(imageEmbeddings: [embedding], textEmbeddings: textEmbeddings,
                                    candidateLabels: candidateLabels, rule: rule)[0]
                }
            })
        }
    }

    /// The predictions `classify` gives for images with these embeddings: logits_per_image = exp(logit_scale) ·
    /// (image · text) (+ logit_bias for SigLIP), then softmax over the labels (or sigmoid per label), sorted by
    /// score, ties in label order. Each image's row is computed on its own, so the numbers are the very ones
    /// `classify` gives, whatever the number of rows (relabelling stored embeddings without the image tower).
    ///
    /// - Parameters:
    ///   - imageEmbeddings: `[images, D]`, L2-normalised (as `embedImages` gives them).
    ///   - textEmbeddings: `[labels, D]`, L2-normalised, one per candidate label (`labelEmbeddings`).
    ///   - candidateLabels: the labels, in the order of `textEmbeddings`.
    ///   - rule: scores and which predictions are kept (`ScoringRule`; default the pipeline's, all kept).
    /// - Returns: `[images][labels]` predictions (with a threshold, only those kept: a row may be empty). The counts
    ///   of `textEmbeddings` and `candidateLabels`, and every row's D, must agree (a programming error otherwise).
    /// - Throws: `ScoringRuleError.minSimilarityWithSigmoidModel` for a rule with a minimum similarity on a sigmoid
    ///   (SigLIP) model; nothing with `.pipeline`.
    public func predictions(imageEmbeddings: [[Float]], textEmbeddings: [[Float]],
                            candidateLabels: [String], rule: ScoringRule) throws -> [[Prediction]] {
        return try logitsPerImage(imageEmbeddings, textEmbeddings, candidateLabels).map {
            try Self.rank(labels: candidateLabels, logits: $0, scoring: model.scoring, logitScale: model.logitScale,
                          rule: rule)
        }
    }

    /// `predictions(imageEmbeddings:textEmbeddings:candidateLabels:rule:)` with the pipeline's scores, all kept.
    public func predictions(imageEmbeddings: [[Float]], textEmbeddings: [[Float]],
                            candidateLabels: [String]) -> [[Prediction]] {
        logitsPerImage(imageEmbeddings, textEmbeddings, candidateLabels).map {
            Self.rank(labels: candidateLabels, logits: $0, scoring: model.scoring)
        }
    }

    /// logits_per_image of both `predictions`, one text embedding per candidate label.
    private func logitsPerImage(_ imageEmbeddings: [[Float]], _ textEmbeddings: [[Float]],
                                _ candidateLabels: [String]) -> [[Float]] {
        precondition(textEmbeddings.count == candidateLabels.count,
                     "\(textEmbeddings.count) text embeddings for \(candidateLabels.count) candidate labels")
        return model.logitsPerImage(imageEmbeddings: imageEmbeddings, textEmbeddings: textEmbeddings)
    }

    /// Candidate labels and templates that the pipeline accepts but whose results look wrong without a word, one
    /// message each (no `warning:` prefix), for `options.warn` or a command line:
    ///
    /// - an empty or whitespace-only label (Unicode White_Space, which the CLIP tokenizer drops): it is scored as
    ///   the template alone. Invisible characters that are not whitespace, such as U+200B, are tokens and are not
    ///   warned about;
    /// - a template whose text does not depend on the label (no `{}` field, or `{:.0}`): every label gets the same
    ///   text and the same score;
    /// - different labels that the template turns into the same text (`{[0]}` with "cat" and "car"): equal scores;
    /// - a single label with softmax scoring (`scoring`; CLIP, Chinese-CLIP): the softmax over one label is always
    ///   1.0 (its logit still shows the similarity). Sigmoid scores (SigLIP) stand alone, so no warning.
    ///
    /// With `inEnsemble` the template is one of a prompt ensemble (`classEmbeddings`): the first two messages then
    /// say that this template adds the same embedding to the classes concerned (the other templates still count),
    /// not that their scores are equal.
    ///
    /// - Throws: `ZeroShotError.invalidTemplate` when the template cannot be filled.
    public static func candidateLabelWarnings(_ candidateLabels: [String],
                                              hypothesisTemplate: String = defaultHypothesisTemplate,
                                              scoring: Scoring = .softmax, inEnsemble: Bool = false) throws -> [String] {
        var warnings: [String] = []
        let template = quoted(hypothesisTemplate)
        for (i, label) in candidateLabels.enumerated()
        where label.unicodeScalars.allSatisfy(\.properties.isWhitespace) {
            let what = label.isEmpty ? "is empty" : "is whitespace only (\(quoted(label)), which the tokenizer drops)"
            warnings.append("candidate label #\(i + 1) \(what): it is scored as the hypothesis template alone, "
                            + quoted(try applyHypothesisTemplate(hypothesisTemplate, to: "")))
        }
        let texts = try candidateLabels.map { try applyHypothesisTemplate(hypothesisTemplate, to: $0) }
        // Two labels that differ in every character (long enough for `{[n]}` fields) tell whether the text
        // depends on the label at all.
        let probes = ["a", "b"].map { try? applyHypothesisTemplate(hypothesisTemplate, to: String(repeating: $0, count: 64)) }
        if let probe = probes[0], probe == probes[1] {
            warnings.append("the hypothesis template \(template) does not contain the label (no {} field): every "
                            + "label gets the same text, \(quoted(probe)), "
                            + (inEnsemble ? "so in the ensemble this template adds the same embedding to every class"
                                : "and the same score"))
        } else {
            var firstWithText: [String: Int] = [:]
            for (i, text) in texts.enumerated() {
                if let j = firstWithText[text] {
                    if candidateLabels[i] != candidateLabels[j] {
                        warnings.append("candidate labels #\(j + 1) \(quoted(candidateLabels[j])) and #\(i + 1) "
                                        + "\(quoted(candidateLabels[i])) give the same text \(quoted(text)) through the "
                                        + "hypothesis template \(template), "
                                        + (inEnsemble ? "so in the ensemble this template adds the same embedding to both"
                                            : "so the same score"))
                    }
                } else {
                    firstWithText[text] = i
                }
            }
        }
        if candidateLabels.count == 1 && scoring == .softmax {
            warnings.append("only one candidate label: the softmax over the candidate labels makes its score 1.0 for "
                            + "every image; give two or more labels to rank them, or compare the logit")
        }
        return warnings
    }

    /// `text` in double quotes with control characters escaped, for one-line messages.
    static func quoted(_ text: String) -> String {
        "\"" + text.unicodeScalars.map { scalar -> String in
            switch scalar {
            case "\"": return "\\\""
            case "\\": return "\\\\"
            case _ where scalar.properties.generalCategory == .control || scalar.properties.isWhitespace && scalar != " "
                || scalar.properties.generalCategory == .format:
                return "\\u{\(String(scalar.value, radix: 16))}"
            default: return String(scalar)
            }
        }.joined() + "\""
    }

    /// Scores from the logits as the pipeline computes them, sorted by score descending; a stable sort keeps ties in
    /// input order like Python's `sorted`. NaN scores (with softmax all of them are NaN when any is, e.g. after a
    /// logit_scale that overflows exp) keep the input order, as Python's `sorted` keeps them.
    ///
    /// - `.softmax`: over the labels (float32, max-subtracted, as torch's `softmax`): the scores sum to 1.
    /// - `.sigmoid`: `1 / (1 + exp(-logit))` per label (torch's `sigmoid`): each label is scored on its own.
    /// - `.sigmoid` with `offset`: `1 / (1 + exp(-(logit - offset)))` (`ScoringRule.logitOffset`); the logit kept in
    ///   the prediction is the one given.
    static func rank(labels: [String], logits: [Float], scoring: Scoring = .softmax, offset: Float = 0) -> [Prediction] {
        let scores: [Float]
        switch scoring {
        case .softmax:
            let maxLogit = logits.max() ?? 0
            let exps = logits.map { expf($0 - maxLogit) }
            let sum = exps.reduce(0, +)
            scores = exps.map { $0 / sum }
        case .sigmoid:
            scores = logits.map { 1 / (1 + expf(-($0 - offset))) }  // x - 0 is x, bit for bit
        }
        let predictions = zip(labels, zip(scores, logits)).map { label, pair in
            Prediction(label: label, score: pair.0, logit: pair.1)
        }
        return zip(predictions.indices, predictions)
            .sorted { a, b in
                a.1.score.isNaN || b.1.score.isNaN || a.1.score == b.1.score ? a.0 < b.0 : a.1.score > b.1.score
            }
            .map(\.1)
    }
}

extension ZeroShotClassifier {
    /// Predictions from one image's logits_per_image under `rule` (see `ScoringRule`): scores, sorted as `rank`
    /// sorts them, then only those with `score >= rule.threshold` kept (possibly none).
    ///
    /// - Parameters:
    ///   - logits: logits_per_image of one image, `[labels]`, in the order of `labels`.
    ///   - scoring: the model's (`ZeroShotModel.scoring`).
    ///   - logitScale: the stored logit_scale (a log; the logits use `exp(logitScale)`), for τ in multi-label mode.
    /// - Throws: `ScoringRuleError.minSimilarityWithSigmoidModel` for a minimum similarity with `.sigmoid` scoring.
    public static func rank(labels: [String], logits: [Float], scoring: Scoring, logitScale: Float,
                            rule: ScoringRule) throws -> [Prediction] {
        let offset = try rule.logitOffset(scoring: scoring, logitScale: logitScale)
        let ranked = rank(labels: labels, logits: logits, scoring: rule.effectiveScoring(scoring), offset: offset)
        return rule.threshold == nil ? ranked : ranked.filter { rule.keeps($0.score) }
    }
}

/// Whether a one-time note was given (guarded by its owner's lock).
private final class NotedOnce: @unchecked Sendable {
    var done = false
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
