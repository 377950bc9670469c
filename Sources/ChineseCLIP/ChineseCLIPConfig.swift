import Compute
import Foundation
import Layers

/// `text_config` of a Chinese-CLIP `config.json`: a BERT encoder. Missing (or null) keys take the defaults of
/// transformers' `ChineseCLIPTextConfig`.
public struct ChineseCLIPTextConfig: Sendable, Equatable, EncoderConfig, Decodable {
    public var vocabSize = 30522
    public var hiddenSize = 768
    public var intermediateSize = 3072
    public var numHiddenLayers = 12
    public var numAttentionHeads = 12
    /// Longest input_ids row the position embeddings cover.
    public var maxPositionEmbeddings = 512
    /// `hidden_act`: `gelu` (exact, erf; default), `gelu_new`/`gelu_pytorch_tanh`, `quick_gelu`, `relu`.
    public var hiddenAct: Activation = .gelu
    public var layerNormEps: Float = 1e-12
    /// Rows of `token_type_embeddings`; every token has token type 0 (transformers' default `token_type_ids`).
    public var typeVocabSize = 2

    public init() {}

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case maxPositionEmbeddings = "max_position_embeddings"
        case hiddenAct = "hidden_act"
        case layerNormEps = "layer_norm_eps"
        case typeVocabSize = "type_vocab_size"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? vocabSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? hiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? intermediateSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? numAttentionHeads
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? maxPositionEmbeddings
        hiddenAct = try c.decodeActivation(forKey: .hiddenAct) ?? hiddenAct
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? layerNormEps
        typeVocabSize = try c.decodeIfPresent(Int.self, forKey: .typeVocabSize) ?? typeVocabSize
    }
}

/// `vision_config` of a Chinese-CLIP `config.json`: CLIP's ViT. Missing (or null) keys take the defaults of
/// transformers' `ChineseCLIPVisionConfig` (ViT-B/32 sizes; the OFA-Sys checkpoints set theirs).
public struct ChineseCLIPVisionConfig: Sendable, Equatable, VisionTowerConfig, Decodable {
    public var hiddenSize = 768
    public var intermediateSize = 3072
    public var numHiddenLayers = 12
    public var numAttentionHeads = 12
    public var numChannels = 3
    /// Input side in pixels; pixel_values are `[batch, numChannels, imageSize, imageSize]`.
    public var imageSize = 224
    public var patchSize = 32
    public var hiddenAct: Activation = .quickGELU
    public var layerNormEps: Float = 1e-5

    public init() {}

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case numChannels = "num_channels"
        case imageSize = "image_size"
        case patchSize = "patch_size"
        case hiddenAct = "hidden_act"
        case layerNormEps = "layer_norm_eps"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? hiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? intermediateSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? numAttentionHeads
        numChannels = try c.decodeIfPresent(Int.self, forKey: .numChannels) ?? numChannels
        imageSize = try c.decodeSide(forKey: .imageSize) ?? imageSize
        patchSize = try c.decodeSide(forKey: .patchSize) ?? patchSize
        hiddenAct = try c.decodeActivation(forKey: .hiddenAct) ?? hiddenAct
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? layerNormEps
    }
}

/// A Chinese-CLIP `config.json` (`model_type: "chinese_clip"`), with transformers 5.24's defaults for missing
/// keys (`ChineseCLIPConfig`).
public struct ChineseCLIPConfig: Sendable, Equatable, Decodable {
    public var textConfig = ChineseCLIPTextConfig()
    public var visionConfig = ChineseCLIPVisionConfig()
    /// Width of the shared embedding space (`projection_dim`, default 512).
    public var projectionDim = 512
    /// `logit_scale_init_value` (default 2.6592); the checkpoint's `logit_scale` tensor is what is used.
    public var logitScaleInitValue: Float = 2.6592
    /// Stored weight dtype from `dtype` (or the older `torch_dtype`); computation is always float32.
    public var dtype: String?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case textConfig = "text_config"
        case textConfigDict = "text_config_dict"
        case visionConfig = "vision_config"
        case visionConfigDict = "vision_config_dict"
        case projectionDim = "projection_dim"
        case logitScaleInitValue = "logit_scale_init_value"
        case dtype
        case torchDtype = "torch_dtype"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard let modelType = try c.decodeIfPresent(String.self, forKey: .modelType) else {
            throw DecodingError.keyNotFound(CodingKeys.modelType, .init(codingPath: c.codingPath, debugDescription: ""))
        }
        guard modelType == ChineseCLIPModel.modelType else {
            throw ModelError.unsupportedModelType(path: "config.json", modelType: modelType,
                                                  supported: [ChineseCLIPModel.modelType])
        }
        // As transformers' ChineseCLIPConfig.__post_init__: a non-null `text_config_dict` / `vision_config_dict`
        // (configs of early transformers versions) replaces `text_config` / `vision_config`, its missing keys
        // taking the class defaults.
        textConfig = try c.decodeIfPresent(ChineseCLIPTextConfig.self, forKey: .textConfigDict)
            ?? c.decodeIfPresent(ChineseCLIPTextConfig.self, forKey: .textConfig) ?? textConfig
        visionConfig = try c.decodeIfPresent(ChineseCLIPVisionConfig.self, forKey: .visionConfigDict)
            ?? c.decodeIfPresent(ChineseCLIPVisionConfig.self, forKey: .visionConfig) ?? visionConfig
        projectionDim = try c.decodeIfPresent(Int.self, forKey: .projectionDim) ?? projectionDim
        logitScaleInitValue = try c.decodeIfPresent(Float.self, forKey: .logitScaleInitValue) ?? logitScaleInitValue
        dtype = try c.decodeIfPresent(String.self, forKey: .dtype) ?? c.decodeIfPresent(String.self, forKey: .torchDtype)
    }

    /// Reads and checks `config.json`.
    /// - Throws: `ModelError.missingFile`, `.invalidConfig` (naming the key), `.unsupportedModelType`.
    public init(contentsOf url: URL) throws {
        do {
            self = try ConfigFile.decode(ChineseCLIPConfig.self, from: url)
        } catch ModelError.unsupportedModelType(_, let modelType, let supported) {
            throw ModelError.unsupportedModelType(path: url.path, modelType: modelType, supported: supported)
        }
        try validate(path: url.path)
    }

    /// - Throws: `ModelError.invalidConfig` for a size out of range, a hidden size that the heads do not divide,
    ///   or a patch larger than the image.
    public func validate(path: String) throws {
        let check = ConfigSizeCheck(path: path)
        let t = textConfig, v = visionConfig
        try check.check("projection_dim", projectionDim)
        try check.check("text_config.vocab_size", t.vocabSize)
        try check.check("text_config.hidden_size", t.hiddenSize)
        try check.check("text_config.intermediate_size", t.intermediateSize)
        try check.check("text_config.num_attention_heads", t.numAttentionHeads)
        try check.check("text_config.num_hidden_layers", t.numHiddenLayers, minimum: 0)
        try check.check("text_config.max_position_embeddings", t.maxPositionEmbeddings)
        try check.check("text_config.type_vocab_size", t.typeVocabSize)
        try check.check("vision_config.hidden_size", v.hiddenSize)
        try check.check("vision_config.intermediate_size", v.intermediateSize)
        try check.check("vision_config.num_attention_heads", v.numAttentionHeads)
        try check.check("vision_config.num_hidden_layers", v.numHiddenLayers, minimum: 0)
        try check.check("vision_config.num_channels", v.numChannels)
        try check.check("vision_config.image_size", v.imageSize)
        try check.check("vision_config.patch_size", v.patchSize)
        try check.checkHeads("text_config", hiddenSize: t.hiddenSize, heads: t.numAttentionHeads)
        try check.checkHeads("vision_config", hiddenSize: v.hiddenSize, heads: v.numAttentionHeads)
        if v.patchSize > v.imageSize {
            throw ModelError.invalidConfig(
                path: path, reason: "vision_config.patch_size \(v.patchSize) exceeds image_size \(v.imageSize)")
        }
    }

    /// Multiply-adds for one image as `ChineseCLIPModel` computes it (the last layer for the class token alone).
    public var pooledImageMultiplyAdds: Double { visionConfig.pooledImageMultiplyAdds(projectionDim: projectionDim) }
    /// Multiply-adds for one image through `get_image_features` (every position through every layer).
    public var imageMultiplyAdds: Double { visionConfig.imageMultiplyAdds(projectionDim: projectionDim) }
}
