// CLIPModel: both towers, the projections and logit_scale, loaded from a Hugging Face model directory.
import Compute
import Foundation
import Layers
import SafeTensors

/// A CLIP checkpoint in Hugging Face layout (`config.json` + `model.safetensors`, or the shards of
/// `model.safetensors.index.json`), weights memory-mapped (F32 read in place; F16/BF16 converted to F32 once
/// at load), all computation in float32. Results match transformers' `CLIPModel` in float32.
///
/// Thread safety: immutable after `init`; calls may run concurrently.
public final class CLIPModel: ZeroShotModel {
    public static let modelType = "clip"
    public static let imageProcessorClass = "CLIPImageProcessor"

    public let config: CLIPConfig
    /// Arithmetic of the encoder layers.
    public let precision: Precision
    let text_model: CLIPTextTransformer
    /// `vision_model`: the ViT shared with Chinese-CLIP.
    let vision_model: VisionTransformer
    /// `visual_projection.weight` `[projection_dim, vision hidden]`.
    let visual_projection: Linear
    /// `text_projection.weight` `[projection_dim, text hidden]`.
    let text_projection: Linear
    /// `logit_scale` (scalar).
    let logit_scale: Float
    /// Tensors of the checkpoint that this config never reads, sorted: what transformers reports as unexpected
    /// keys when it loads the checkpoint (`position_ids` buffers left out, as transformers does). Non-empty
    /// usually means `config.json` does not describe the weights (e.g. fewer layers than stored), and the results
    /// will not be the checkpoint's.
    public let unusedTensors: [String]

    /// Loads `directory/config.json` and the weights.
    /// - Throws: `ModelError.missingFile` (config.json or weights), `.invalidConfig`, `.unsupportedModelType`,
    ///   `.missingTensor`, `.wrongShape`; `SafeTensorsError` for a corrupt or hostile weights file.
    /// - Parameter precision: `.fp32` (default, transformers' numbers) or `.int8` (quantized linear layers, faster,
    ///   approximate; weights are quantized here, at load).
    public init(directory: URL, precision: Precision = .fp32) throws {
        let config = try CLIPConfig(contentsOf: directory.appendingPathComponent("config.json"))
        let w = try WeightLoader(modelDirectory: directory, precision: precision,
                                 lazy: ["text_model.embeddings.token_embedding.weight"])
        self.precision = precision
        self.config = config
        text_model = try CLIPTextTransformer(w.pp("text_model"), config.textConfig)
        vision_model = try VisionTransformer(w.pp("vision_model"), config.visionConfig)
        visual_projection = try Linear(w.pp("visual_projection"), in: config.visionConfig.hiddenSize,
                                       out: config.projectionDim, bias: false, quantizable: false)
        text_projection = try Linear(w.pp("text_projection"), in: config.textConfig.hiddenSize,
                                     out: config.projectionDim, bias: false, quantizable: false)
        logit_scale = try w.scalar("logit_scale")
        unusedTensors = w.unusedTensors()
    }

    /// Input side in pixels (`vision_config.image_size`): pixel_values are `[batch, 3, imageSize, imageSize]`.
    public var imageSize: Int { config.visionConfig.imageSize }
    public var embeddingWidth: Int { config.projectionDim }

    /// The stored `logit_scale` parameter (a log); logits use `exp(logitScale)` (≈100 for trained checkpoints).
    public var logitScale: Float { logit_scale }

    /// L2-normalised image embeddings `[batch, projection_dim]` from pixel_values
    /// `[batch, num_channels (3), image_size, image_size]` (flat, CHW per image, as ImageProcessor gives them).
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

    /// L2-normalised text embeddings `[batch, projection_dim]` from input_ids `[batch, seq]`: each row is one
    /// tokenized text (bos … eos), of any length from 1 to `max_position_embeddings` (77); rows may differ in
    /// length and need no padding. Pooling follows `text_config.eos_token_id` (see `CLIPTextConfig`).
    /// - Throws: `ModelError.invalidInput` for an empty row, a row longer than max_position_embeddings, or an
    ///   id outside `0..<vocab_size`.
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
            try text_model.pooled(inputIds: inputIds, output: pooledBuffer.baseAddress!)
            try projected.withUnsafeMutableBufferPointer { out in
                try text_projection(pooledBuffer.baseAddress!, rows: batch, output: out.baseAddress!)
            }
        }
        return rows(projected, count: batch)
    }

    /// Text embeddings of a `TextBatch`: CLIP's causal text tower needs no attention mask (pad tokens follow the
    /// pooled token and cannot reach it), so each row's tokens up to its mask's last 1 are used.
    public func textEmbeddings(_ batch: TextBatch) throws -> [[Float]] {
        try textEmbeddings(inputIds: try batch.unpaddedRows())
    }

    public var textMaxLength: Int { config.textConfig.maxPositionEmbeddings }
    public static func textMaxLength(configIn directory: URL) throws -> Int {
        try CLIPConfig(contentsOf: directory.appendingPathComponent("config.json")).textConfig.maxPositionEmbeddings
    }
    public var scoring: Scoring { .softmax }
    public var logitBias: Float { 0 }
    public var pooledImageMultiplyAdds: Double { config.pooledImageMultiplyAdds }

    private func rows(_ flat: [Float], count: Int) -> [[Float]] {
        let dim = config.projectionDim
        return (0..<count).map { l2Normalized(Array(flat[($0 * dim)..<(($0 + 1) * dim)])) }
    }
}
