// config.json of a SigLIP checkpoint (`model_type: "siglip"`), with transformers 5.24's defaults.
import Compute
import Foundation
import Layers

/// `text_config` of a SigLIP `config.json`. Missing (or `null`) keys take the defaults of transformers'
/// `SiglipTextConfig` (google/siglip-base-patch16-224's text tower).
public struct SiglipTextConfig: Sendable, Equatable, EncoderConfig {
    public var vocabSize = 32000
    public var hiddenSize = 768
    public var intermediateSize = 3072
    public var numHiddenLayers = 12
    public var numAttentionHeads = 12
    /// Positions of the text tower: the longest input_ids row it takes (64; 16 for siglip-so400m-patch14-224).
    public var maxPositionEmbeddings = 64
    /// `hidden_act`: `gelu_pytorch_tanh` (default), `gelu_new`, `gelu` (erf), `quick_gelu`, `relu`.
    public var hiddenAct: Activation = .geluTanh
    public var layerNormEps: Float = 1e-6
    /// `pad_token_id` (1, `</s>`); informational: the text tower pools at the last position whatever it holds.
    public var padTokenId: Int? = 1
    /// Width of `head`'s output, the text embedding (`projection_size`, default `hidden_size`).
    public var projectionSize: Int

    public init() { projectionSize = hiddenSize }
}

/// `vision_config` of a SigLIP `config.json`. Missing (or `null`) keys take the defaults of transformers'
/// `SiglipVisionConfig` (ViT-B/16 at 224 pixels).
public struct SiglipVisionConfig: Sendable, Equatable, EncoderConfig {
    public var hiddenSize = 768
    public var intermediateSize = 3072
    public var numHiddenLayers = 12
    public var numAttentionHeads = 12
    public var numChannels = 3
    /// Input side in pixels; pixel_values are `[batch, numChannels, imageSize, imageSize]`.
    public var imageSize = 224
    public var patchSize = 16
    public var hiddenAct: Activation = .geluTanh
    public var layerNormEps: Float = 1e-6
    /// `vision_use_head`: the multihead attention pooling head, whose output is the image embedding.
    public var visionUseHead = true

    public init() {}

    /// Patches per side (`imageSize / patchSize`, floored as the stride-`patchSize` convolution does).
    public var gridSize: Int { imageSize / patchSize }
    /// Number of positions: the patches (SigLIP has no class token).
    public var numPatches: Int { gridSize * gridSize }
}

/// A SigLIP `config.json` (`model_type: "siglip"`; SigLIP2 fixed-resolution checkpoints use it too), with
/// transformers 5.24's defaults for missing keys.
public struct SiglipConfig: Sendable, Equatable, Decodable {
    public var textConfig = SiglipTextConfig()
    public var visionConfig = SiglipVisionConfig()
    /// Stored weight dtype from `dtype` (or the older `torch_dtype`), e.g. `"float32"`; computation is float32.
    public var dtype: String?

    public init() {}

    /// Reads `config.json`.
    /// - Throws: `ModelError.missingFile`, `.invalidConfig` (not JSON, a value of the wrong type, or sizes that
    ///   cannot form the model, naming the key), `.unsupportedModelType` when `model_type` is not "siglip".
    public init(contentsOf url: URL) throws {
        self = try ConfigFile.decode(SiglipConfig.self, contentsOf: url)
    }

    /// Parses config.json's bytes; `path` names the file in errors.
    public init(data: Data, path: String = "config.json") throws {
        self = try ConfigFile.decode(SiglipConfig.self, from: data, path: path)
    }

    private enum CodingKeys: String, CodingKey {
        case modelType = "model_type", dtype, torchDtype = "torch_dtype"
        case textConfig = "text_config", visionConfig = "vision_config"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard let modelType = try c.decodeIfPresent(String.self, forKey: .modelType) else {
            throw ConfigValueError("model_type is missing (expected \"siglip\")")
        }
        guard modelType == "siglip" else {
            throw ModelError.unsupportedModelType(path: "config.json", modelType: modelType, supported: ["siglip"])
        }
        dtype = try c.decodeIfPresent(String.self, forKey: .dtype) ?? c.decodeIfPresent(String.self, forKey: .torchDtype)
        textConfig = try c.decodeIfPresent(SiglipTextConfig.self, forKey: .textConfig) ?? SiglipTextConfig()
        visionConfig = try c.decodeIfPresent(SiglipVisionConfig.self, forKey: .visionConfig) ?? SiglipVisionConfig()
        try validate()
    }

    private func validate() throws {
        func fail(_ reason: String) -> ConfigValueError { ConfigValueError(reason) }
        let t = textConfig, v = visionConfig
        try ConfigFile.checkSizes([
            ("text_config.vocab_size", t.vocabSize, 1),
            ("text_config.hidden_size", t.hiddenSize, 1),
            ("text_config.intermediate_size", t.intermediateSize, 1),
            ("text_config.num_attention_heads", t.numAttentionHeads, 1),
            ("text_config.max_position_embeddings", t.maxPositionEmbeddings, 1),
            ("text_config.num_hidden_layers", t.numHiddenLayers, 0),
            ("text_config.projection_size", t.projectionSize, 1),
            ("vision_config.hidden_size", v.hiddenSize, 1),
            ("vision_config.intermediate_size", v.intermediateSize, 1),
            ("vision_config.num_attention_heads", v.numAttentionHeads, 1),
            ("vision_config.num_channels", v.numChannels, 1),
            ("vision_config.image_size", v.imageSize, 1),
            ("vision_config.patch_size", v.patchSize, 1),
            ("vision_config.num_hidden_layers", v.numHiddenLayers, 0),
        ])
        if t.hiddenSize % t.numAttentionHeads != 0 {
            throw fail("text_config.hidden_size \(t.hiddenSize) is not a multiple of num_attention_heads \(t.numAttentionHeads)")
        }
        if v.hiddenSize % v.numAttentionHeads != 0 {
            throw fail("vision_config.hidden_size \(v.hiddenSize) is not a multiple of num_attention_heads \(v.numAttentionHeads)")
        }
        if v.patchSize > v.imageSize {
            throw fail("vision_config.patch_size \(v.patchSize) exceeds image_size \(v.imageSize)")
        }
        if !v.visionUseHead {
            throw fail("vision_config.vision_use_head is false: without the attention pooling head SiglipModel has no image embedding")
        }
        if t.projectionSize != v.hiddenSize {
            throw fail("text_config.projection_size \(t.projectionSize) differs from vision_config.hidden_size \(v.hiddenSize): the embeddings cannot be compared")
        }
    }
}

extension SiglipTextConfig: Decodable {
    private enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case maxPositionEmbeddings = "max_position_embeddings", hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps"
        case padTokenId = "pad_token_id", projectionSize = "projection_size"
    }

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.int(.vocabSize) ?? vocabSize
        hiddenSize = try c.int(.hiddenSize) ?? hiddenSize
        intermediateSize = try c.int(.intermediateSize) ?? intermediateSize
        numHiddenLayers = try c.int(.numHiddenLayers) ?? numHiddenLayers
        numAttentionHeads = try c.int(.numAttentionHeads) ?? numAttentionHeads
        maxPositionEmbeddings = try c.int(.maxPositionEmbeddings) ?? maxPositionEmbeddings
        hiddenAct = try c.activation(.hiddenAct) ?? hiddenAct
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? layerNormEps
        if c.contains(.padTokenId) { padTokenId = try c.int(.padTokenId) }
        // As SiglipTextConfig.__post_init__: projection_size None means hidden_size.
        projectionSize = try c.int(.projectionSize) ?? hiddenSize
    }
}

extension SiglipVisionConfig: Decodable {
    private enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numChannels = "num_channels", imageSize = "image_size", patchSize = "patch_size"
        case hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps", visionUseHead = "vision_use_head"
    }

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hiddenSize = try c.int(.hiddenSize) ?? hiddenSize
        intermediateSize = try c.int(.intermediateSize) ?? intermediateSize
        numHiddenLayers = try c.int(.numHiddenLayers) ?? numHiddenLayers
        numAttentionHeads = try c.int(.numAttentionHeads) ?? numAttentionHeads
        numChannels = try c.int(.numChannels) ?? numChannels
        imageSize = try c.side(.imageSize) ?? imageSize
        patchSize = try c.side(.patchSize) ?? patchSize
        hiddenAct = try c.activation(.hiddenAct) ?? hiddenAct
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? layerNormEps
        visionUseHead = try c.decodeIfPresent(Bool.self, forKey: .visionUseHead) ?? visionUseHead
    }
}
