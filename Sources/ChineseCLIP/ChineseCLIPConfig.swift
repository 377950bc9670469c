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
        vocabSize = try c.int(.vocabSize) ?? vocabSize
        hiddenSize = try c.int(.hiddenSize) ?? hiddenSize
        intermediateSize = try c.int(.intermediateSize) ?? intermediateSize
        numHiddenLayers = try c.int(.numHiddenLayers) ?? numHiddenLayers
        numAttentionHeads = try c.int(.numAttentionHeads) ?? numAttentionHeads
        maxPositionEmbeddings = try c.int(.maxPositionEmbeddings) ?? maxPositionEmbeddings
        hiddenAct = try c.activation(.hiddenAct) ?? hiddenAct
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? layerNormEps
        typeVocabSize = try c.int(.typeVocabSize) ?? typeVocabSize
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
        hiddenSize = try c.int(.hiddenSize) ?? hiddenSize
        intermediateSize = try c.int(.intermediateSize) ?? intermediateSize
        numHiddenLayers = try c.int(.numHiddenLayers) ?? numHiddenLayers
        numAttentionHeads = try c.int(.numAttentionHeads) ?? numAttentionHeads
        numChannels = try c.int(.numChannels) ?? numChannels
        imageSize = try c.side(.imageSize) ?? imageSize
        patchSize = try c.side(.patchSize) ?? patchSize
        hiddenAct = try c.activation(.hiddenAct) ?? hiddenAct
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
            throw ConfigValueError("model_type is missing (expected \"\(ChineseCLIPModel.modelType)\")")
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
        projectionDim = try c.int(.projectionDim) ?? projectionDim
        logitScaleInitValue = try c.decodeIfPresent(Float.self, forKey: .logitScaleInitValue) ?? logitScaleInitValue
        dtype = try c.decodeIfPresent(String.self, forKey: .dtype) ?? c.decodeIfPresent(String.self, forKey: .torchDtype)
        try validate()
    }

    /// Reads `config.json`.
    /// - Throws: `ModelError.missingFile`, `.invalidConfig` (naming the key), `.unsupportedModelType`.
    public init(contentsOf url: URL) throws {
        self = try ConfigFile.decode(ChineseCLIPConfig.self, contentsOf: url)
    }

    /// Sizes in range, hidden sizes the heads divide, a patch no larger than the image.
    /// - Throws: `ConfigValueError` naming the key.
    private func validate() throws {
        let t = textConfig, v = visionConfig
        try ConfigFile.checkSizes([
            ("projection_dim", projectionDim, 1),
            ("text_config.vocab_size", t.vocabSize, 1),
            ("text_config.hidden_size", t.hiddenSize, 1),
            ("text_config.intermediate_size", t.intermediateSize, 1),
            ("text_config.num_attention_heads", t.numAttentionHeads, 1),
            ("text_config.num_hidden_layers", t.numHiddenLayers, 0),
            ("text_config.max_position_embeddings", t.maxPositionEmbeddings, 1),
            ("text_config.type_vocab_size", t.typeVocabSize, 1),
            ("vision_config.hidden_size", v.hiddenSize, 1),
            ("vision_config.intermediate_size", v.intermediateSize, 1),
            ("vision_config.num_attention_heads", v.numAttentionHeads, 1),
            ("vision_config.num_hidden_layers", v.numHiddenLayers, 0),
            ("vision_config.num_channels", v.numChannels, 1),
            ("vision_config.image_size", v.imageSize, 1),
            ("vision_config.patch_size", v.patchSize, 1),
        ])
        for (section, hidden, heads) in [("text_config", t.hiddenSize, t.numAttentionHeads),
                                         ("vision_config", v.hiddenSize, v.numAttentionHeads)] where hidden % heads != 0 {
            throw ConfigValueError("\(section).hidden_size \(hidden) is not a multiple of num_attention_heads \(heads)")
        }
        if v.patchSize > v.imageSize {
            throw ConfigValueError("vision_config.patch_size \(v.patchSize) exceeds image_size \(v.imageSize)")
        }
    }

    /// Multiply-adds for one image as `ChineseCLIPModel` computes it (the last layer for the class token alone).
    public var pooledImageMultiplyAdds: Double { visionConfig.pooledImageMultiplyAdds(projectionDim: projectionDim) }
    /// Multiply-adds for one image through `get_image_features` (every position through every layer).
    public var imageMultiplyAdds: Double { visionConfig.imageMultiplyAdds(projectionDim: projectionDim) }
}
