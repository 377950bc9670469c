// SiglipModel: both towers, logit_scale and logit_bias, loaded from a Hugging Face model directory.
import Compute
import Foundation
import Layers
import SafeTensors

/// A SigLIP checkpoint in Hugging Face layout (`config.json` with `model_type: "siglip"` + `model.safetensors`,
/// or the shards of `model.safetensors.index.json`), weights memory-mapped (F32 read in place; F16/BF16
/// converted to F32 once at load), all computation in float32. Results match transformers' `SiglipModel` in
/// float32: `get_image_features`, `get_text_features`, and
/// `logits_per_image = exp(logit_scale) · cosine(image, text) + logit_bias`, which the zero-shot pipeline turns
/// into scores with a sigmoid per label (independent: they do not sum to 1).
///
/// Thread safety: immutable after `init`; calls may run concurrently.
public final class SiglipModel: ZeroShotModel {
    public static let modelType = "siglip"
    public static let imageProcessorClass = "SiglipImageProcessor"
    /// The length transformers' zero-shot pipeline pads and truncates SigLIP texts to (`padding="max_length",
    /// max_length=64, truncation=True`), whatever the checkpoint.
    public static let pipelineTextLength = 64

    public let config: SiglipConfig
    /// Arithmetic of the encoder layers.
    public let precision: Precision
    let text_model: SiglipTextTransformer
    let vision_model: SiglipVisionTransformer
    /// `logit_scale` (scalar, a log).
    let logit_scale: Float
    /// `logit_bias` (scalar).
    let logit_bias: Float
    /// Tensors of the checkpoint that this config never reads, sorted: what transformers reports as unexpected
    /// keys when it loads the checkpoint (`position_ids` buffers left out). Non-empty usually means `config.json`
    /// does not describe the weights (e.g. fewer layers than stored).
    public let unusedTensors: [String]

    /// Loads `directory/config.json` and the weights.
    /// - Throws: `ModelError.missingFile` (config.json or weights), `.invalidConfig`, `.unsupportedModelType`,
    ///   `.missingTensor` and `.wrongShape` naming the tensor; `SafeTensorsError` for a corrupt weights file.
    /// - Parameter precision: `.fp32` (default, transformers' numbers) or `.int8` (the encoder layers' linear
    ///   layers quantized at load; faster, approximate). Embeddings, the pooling head and `head` stay float32.
    public init(directory: URL, precision: Precision = .fp32) throws {
        let config = try SiglipConfig(contentsOf: directory.appendingPathComponent("config.json"))
        let w = try WeightLoader(modelDirectory: directory, precision: precision,
                                 lazy: ["text_model.embeddings.token_embedding.weight"])
        self.precision = precision
        self.config = config
        text_model = try SiglipTextTransformer(w.pp("text_model"), config.textConfig)
        vision_model = try SiglipVisionTransformer(w.pp("vision_model"), config.visionConfig)
        logit_scale = try w.scalar("logit_scale")
        logit_bias = try w.scalar("logit_bias")
        unusedTensors = w.unusedTensors()
    }

    /// Input side in pixels (`vision_config.image_size`): pixel_values are `[batch, 3, imageSize, imageSize]`.
    public var imageSize: Int { config.visionConfig.imageSize }
    public var embeddingWidth: Int { config.textConfig.projectionSize }
    /// The stored `logit_scale` parameter (a log); logits use `exp(logitScale)` (≈112 for google/siglip-*).
    public var logitScale: Float { logit_scale }
    /// The stored `logit_bias` (≈ -16.5 for google/siglip-*), added to every logit.
    public var logitBias: Float { logit_bias }
    /// `text_config.max_position_embeddings`: the longest input_ids row the text tower takes.
    public var textMaxLength: Int { config.textConfig.maxPositionEmbeddings }
    public static func textMaxLength(configIn directory: URL) throws -> Int {
        try SiglipConfig(contentsOf: directory.appendingPathComponent("config.json")).textConfig.maxPositionEmbeddings
    }
    /// As transformers' zero-shot pipeline: every text padded with the pad token (`</s>`) and truncated to 64
    /// tokens. The text tower pools the last position, so the padding changes the embedding; with a tokenizer
    /// whose `model_input_names` has `attention_mask`, the mask hides the padding as keys.
    public static var pipelineTextPadding: TextPadding { .maxLength(pipelineTextLength) }
    /// `sigmoid(logit)` per label, as the pipeline scores SigLIP.
    public var scoring: Scoring { .sigmoid }
    public var pooledImageMultiplyAdds: Double { config.imageMultiplyAdds }

    /// L2-normalised image embeddings `[batch, vision hidden_size]` from pixel_values
    /// `[batch, num_channels (3), image_size, image_size]` (flat, CHW per image, as the image processor gives them).
    /// - Throws: `ModelError.invalidInput` when `pixelValues.count` is not `batch · 3 · image_size²`.
    public func imageEmbeddings(pixelValues: [Float], batchSize: Int) throws -> [[Float]] {
        let c = config.visionConfig
        guard batchSize >= 0 else { throw ModelError.invalidInput("batch size \(batchSize) is negative") }
        let perImage = c.numChannels * c.imageSize * c.imageSize
        guard pixelValues.count == batchSize * perImage else {
            throw ModelError.invalidInput(
                "pixel_values has \(pixelValues.count) values, expected \(batchSize) × \(c.numChannels) × \(c.imageSize) × \(c.imageSize) = \(batchSize * perImage)")
        }
        if batchSize == 0 { return [] }
        var pooled = [Float](repeating: 0, count: batchSize * c.hiddenSize)
        try pixelValues.withUnsafeBufferPointer { pixels in
            try pooled.withUnsafeMutableBufferPointer { out in
                try vision_model.pooled(pixelValues: pixels.baseAddress!, batch: batchSize, output: out.baseAddress!)
            }
        }
        return rows(pooled, count: batchSize, dim: c.hiddenSize)
    }

    /// L2-normalised text embeddings `[batch, projection_size]`, one per input_ids row, as `get_text_features`
    /// gives them for the same rows: each row is used as given (padding included; the last position is pooled),
    /// with the attention mask when the batch has one (then padding is hidden as keys). Rows may differ in length
    /// (each is its own sequence); the zero-shot pipeline pads every row to 64 (`textPadding`).
    /// - Throws: `ModelError.invalidInput` for an empty row, a row longer than max_position_embeddings (as
    ///   transformers' `SiglipTextEmbeddings` refuses it), an id outside `0..<vocab_size`, or a mask whose shape
    ///   differs from the ids', that holds values other than 0/1, or that hides a whole row.
    public func textEmbeddings(_ batch: TextBatch) throws -> [[Float]] {
        let c = config.textConfig
        try batch.validateMask()
        for (i, row) in batch.inputIds.enumerated() {
            guard !row.isEmpty else { throw ModelError.invalidInput("input_ids row \(i) is empty") }
            guard row.count <= c.maxPositionEmbeddings else {
                throw ModelError.invalidInput(
                    "input_ids row \(i) has \(row.count) tokens, more than max_position_embeddings \(c.maxPositionEmbeddings)")
            }
            if let bad = row.first(where: { $0 < 0 || Int($0) >= c.vocabSize }) {
                throw ModelError.invalidInput("input_ids row \(i) contains id \(bad), outside the vocabulary 0..<\(c.vocabSize)")
            }
            if let mask = batch.attentionMask?[i], !mask.contains(1) {
                throw ModelError.invalidInput("attention_mask row \(i) has no 1: the row has no token to attend to")
            }
        }
        if batch.inputIds.isEmpty { return [] }
        let count = batch.inputIds.count
        var pooled = [Float](repeating: 0, count: count * c.projectionSize)
        try pooled.withUnsafeMutableBufferPointer { out in
            try text_model.pooled(inputIds: batch.inputIds, mask: batch.attentionMask, output: out.baseAddress!)
        }
        return rows(pooled, count: count, dim: c.projectionSize)
    }

    private func rows(_ flat: [Float], count: Int, dim: Int) -> [[Float]] {
        (0..<count).map { l2Normalized(Array(flat[($0 * dim)..<(($0 + 1) * dim)])) }
    }
}

extension SiglipConfig {
    /// Multiply-adds for one image through the image tower as transformers' `get_image_features` computes it: the
    /// patch embedding (`[grid², numChannels·patchSize²] · [numChannels·patchSize², hiddenSize]`), per layer the q,
    /// k, v and out projections (4·patches·hidden²), the MLP (2·patches·hidden·intermediate) and the two attention
    /// products (2·patches²·hidden); then the pooling head: the probe's query (hidden²), keys and values of every
    /// patch (2·patches·hidden²), the attention products (2·patches·hidden), out_proj (hidden²) and the MLP
    /// (2·hidden·intermediate). Normalisations, activations and softmax are not counted. Twice this is torch's
    /// `FlopCounterMode` count. Every patch goes through the last layer (the head attends to all), so this is also
    /// what `SiglipModel` computes (its `pooledImageMultiplyAdds`).
    public var imageMultiplyAdds: Double {
        let v = visionConfig
        let n = Double(v.numPatches), h = Double(v.hiddenSize), i = Double(v.intermediateSize)
        let patches = n * Double(v.numChannels) * Double(v.patchSize) * Double(v.patchSize) * h
        let layer = 4 * n * h * h + 2 * n * h * i + 2 * n * n * h
        let head = h * h + 2 * n * h * h + 2 * n * h + h * h + 2 * h * i
        return patches + Double(v.numHiddenLayers) * layer + head
    }
}
