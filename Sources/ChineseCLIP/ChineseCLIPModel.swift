// ChineseCLIPModel: the BERT text tower, CLIP's ViT image tower, the projections and logit_scale, loaded from a
// Hugging Face model directory.
import Compute
import Foundation
import Layers
import SafeTensors

/// A Chinese-CLIP checkpoint (`model_type: "chinese_clip"`, e.g. `OFA-Sys/chinese-clip-vit-base-patch16`) in
/// Hugging Face layout (`config.json` + `model.safetensors`, or the shards of `model.safetensors.index.json`),
/// weights memory-mapped (F32 read in place; F16/BF16 converted to F32 once at load), all computation in
/// float32. Results match transformers' `ChineseCLIPModel` in float32:
/// - text: BERT (post-norm layers, `hidden_act` from the config, exact GELU by default, `layer_norm_eps` from the
///   config, token_type_ids 0, bidirectional attention over each row's tokens); the text embedding is
///   `text_projection` (no bias) of the final `[CLS]` state (`last_hidden_state[:, 0]`), not of the pooler;
/// - image: CLIP's ViT, `visual_projection` (no bias) of the post-layernormed class token;
/// - scores: `softmax(exp(logit_scale) · cosine)` over the candidate labels, as the zero-shot pipeline gives them.
///
/// Thread safety: immutable after `init`; calls may run concurrently.
public final class ChineseCLIPModel: ZeroShotModel {
    public static let modelType = "chinese_clip"
    public static let imageProcessorClass = "ChineseCLIPImageProcessor"

    /// The BERT pooler (`dense` + tanh) the OFA-Sys checkpoints store: `ChineseCLIPModel` builds its text model
    /// without it (`add_pooling_layer=False`), so transformers reports these as unexpected keys on every load of
    /// such a checkpoint. They say nothing about whether config.json describes the weights, so they are not
    /// listed in `unusedTensors`.
    public static let unusedPoolerTensors: Set<String> = ["text_model.pooler.dense.weight", "text_model.pooler.dense.bias"]

    public let config: ChineseCLIPConfig
    /// Arithmetic of the encoder layers (`.int8`: the linear layers of both towers' layers; embeddings,
    /// normalisations, attention and the projections stay float32).
    public let precision: Precision
    let text_model: ChineseCLIPTextModel
    let vision_model: VisionTransformer
    /// `visual_projection.weight` `[projection_dim, vision hidden]`.
    let visual_projection: Linear
    /// `text_projection.weight` `[projection_dim, text hidden]`.
    let text_projection: Linear
    /// `logit_scale` (scalar).
    let logit_scale: Float
    /// Tensors of the checkpoint that this config never reads, sorted: what transformers reports as unexpected
    /// keys (`position_ids` buffers and the unused BERT pooler left out, see `unusedPoolerTensors`). Non-empty
    /// usually means `config.json` does not describe the weights, and the results will not be the checkpoint's.
    public let unusedTensors: [String]

    /// Loads `directory/config.json` and the weights.
    /// - Throws: `ModelError.missingFile` (config.json or weights), `.invalidConfig`, `.unsupportedModelType`,
    ///   `.missingTensor`, `.wrongShape` (naming the tensor); `SafeTensorsError` for a corrupt weights file.
    /// - Parameter precision: `.fp32` (default, transformers' numbers) or `.int8` (quantized linear layers in
    ///   both encoders, faster, approximate; quantized here, at load).
    public init(directory: URL, precision: Precision = .fp32) throws {
        let config = try ChineseCLIPConfig(contentsOf: directory.appendingPathComponent("config.json"))
        let w = try WeightLoader(modelDirectory: directory, precision: precision,
                                 lazy: Self.unusedPoolerTensors.union(["text_model.embeddings.word_embeddings.weight"]))
        self.precision = precision
        self.config = config
        text_model = try ChineseCLIPTextModel(w.pp("text_model"), config.textConfig)
        vision_model = try VisionTransformer(w.pp("vision_model"), config.visionConfig)
        visual_projection = try Linear(w.pp("visual_projection"), in: config.visionConfig.hiddenSize,
                                       out: config.projectionDim, bias: false, quantizable: false)
        text_projection = try Linear(w.pp("text_projection"), in: config.textConfig.hiddenSize,
                                     out: config.projectionDim, bias: false, quantizable: false)
        logit_scale = try w.scalar("logit_scale")
        unusedTensors = w.unusedTensors(ignoring: Self.unusedPoolerTensors)
    }

    /// Input side in pixels (`vision_config.image_size`): pixel_values are `[batch, 3, imageSize, imageSize]`.
    public var imageSize: Int { config.visionConfig.imageSize }
    public var embeddingWidth: Int { config.projectionDim }
    /// The stored `logit_scale` parameter (a log); logits use `exp(logitScale)` (100 for the OFA-Sys checkpoints).
    public var logitScale: Float { logit_scale }
    /// Chinese-CLIP has no logit bias.
    public var logitBias: Float { 0 }
    /// `text_config.max_position_embeddings` (512 for the OFA-Sys checkpoints).
    public var textMaxLength: Int { config.textConfig.maxPositionEmbeddings }
    public static func textMaxLength(configIn directory: URL) throws -> Int {
        try ChineseCLIPConfig(contentsOf: directory.appendingPathComponent("config.json")).textConfig.maxPositionEmbeddings
    }
    /// The pipeline pads with `padding=True` and passes the attention mask: each row's tokens as tokenized.
    /// The pipeline takes the softmax of logits_per_image over the candidate labels.
    public var scoring: Scoring { .softmax }
    public var pooledImageMultiplyAdds: Double { config.pooledImageMultiplyAdds }

    /// L2-normalised image embeddings `[batch, projection_dim]` from pixel_values
    /// `[batch, num_channels (3), image_size, image_size]` (flat, CHW per image, as ChineseCLIPImageProcessor
    /// gives them).
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
        var projected = [Float](repeating: 0, count: batchSize * config.projectionDim)
        try pixelValues.withUnsafeBufferPointer { pixels in
            try pooled.withUnsafeMutableBufferPointer { pooledBuffer in
                try vision_model.pooled(pixelValues: pixels.baseAddress!, batch: batchSize, output: pooledBuffer.baseAddress!)
                try projected.withUnsafeMutableBufferPointer { out in
                    try visual_projection(pooledBuffer.baseAddress!, rows: batchSize, output: out.baseAddress!)
                }
            }
        }
        return rows(projected, count: batchSize)
    }

    /// L2-normalised text embeddings `[batch, projection_dim]` from input_ids rows as the BERT tokenizer gives
    /// them (`[CLS] … [SEP]`), of 1 to `max_position_embeddings` tokens each; rows may differ in length. With an
    /// attention mask, each row's tokens whose mask is 1 are used (transformers masks the padding out of every
    /// key, so a padded batch gives the same embeddings).
    /// - Throws: `ModelError.invalidInput` for an empty row, a row longer than max_position_embeddings, an id
    ///   outside `0..<vocab_size`, or a mask whose shape differs from the ids'.
    public func textEmbeddings(_ batch: TextBatch) throws -> [[Float]] {
        try textEmbeddings(inputIds: try batch.unpaddedRows())
    }

    /// L2-normalised text embeddings of unpadded input_ids rows (see `textEmbeddings(_:)`).
    public func textEmbeddings(inputIds: [[Int32]]) throws -> [[Float]] {
        let c = config.textConfig
        for (i, row) in inputIds.enumerated() {
            guard !row.isEmpty else { throw ModelError.invalidInput("input_ids row \(i) is empty") }
            guard row.count <= c.maxPositionEmbeddings else {
                throw ModelError.invalidInput(
                    "input_ids row \(i) has \(row.count) tokens, more than max_position_embeddings \(c.maxPositionEmbeddings)")
            }
            if let bad = row.first(where: { $0 < 0 || Int($0) >= c.vocabSize }) {
                throw ModelError.invalidInput("input_ids row \(i) contains id \(bad), outside the vocabulary 0..<\(c.vocabSize)")
            }
        }
        if inputIds.isEmpty { return [] }
        let batch = inputIds.count
        var pooled = [Float](repeating: 0, count: batch * c.hiddenSize)
        var projected = [Float](repeating: 0, count: batch * config.projectionDim)
        try pooled.withUnsafeMutableBufferPointer { pooledBuffer in
            try text_model.firstTokenStates(inputIds: inputIds, output: pooledBuffer.baseAddress!)
            try projected.withUnsafeMutableBufferPointer { out in
                try text_projection(pooledBuffer.baseAddress!, rows: batch, output: out.baseAddress!)
            }
        }
        return rows(projected, count: batch)
    }

    private func rows(_ flat: [Float], count: Int) -> [[Float]] {
        let dim = config.projectionDim
        return (0..<count).map { l2Normalized(Array(flat[($0 * dim)..<(($0 + 1) * dim)])) }
    }
}
