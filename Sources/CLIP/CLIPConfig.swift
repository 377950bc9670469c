import Compute
import Foundation
import Layers

/// `text_config` of a CLIP `config.json`. Missing keys take the defaults of transformers' `CLIPTextConfig`
/// (openai/clip-vit-base-patch32's text tower).
public struct CLIPTextConfig: Sendable, Equatable, EncoderConfig, Decodable {
    public var vocabSize = 49408
    public var hiddenSize = 512
    public var intermediateSize = 2048
    public var numHiddenLayers = 12
    public var numAttentionHeads = 8
    public var maxPositionEmbeddings = 77
    /// `hidden_act`: `quick_gelu` (default), `gelu` (erf), `gelu_new`/`gelu_pytorch_tanh`, `relu`.
    public var hiddenAct: Activation = .quickGELU
    public var layerNormEps: Float = 1e-5
    public var padTokenId = 1
    public var bosTokenId = 49406
    /// Pooling: `2` (early openai/clip-* configs) pools at the argmax of input_ids, otherwise at the first
    /// occurrence of this id (as transformers' `CLIPTextModel`).
    public var eosTokenId = 49407

    public init() {}
}

/// `vision_config` of a CLIP `config.json`. Missing keys take the defaults of transformers' `CLIPVisionConfig`
/// (ViT-B/32).
public struct CLIPVisionConfig: Sendable, Equatable, EncoderConfig, Decodable {
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

    /// Patches per side (`imageSize / patchSize`, floored as the stride-`patchSize` convolution does).
    public var gridSize: Int { imageSize / patchSize }
    /// Number of positions: class token + patches.
    public var numPositions: Int { gridSize * gridSize + 1 }
}

extension CLIPConfig {
    /// Multiply-adds for one image through the image tower and the visual projection: the patch embedding
    /// (`[gridSize², numChannels·patchSize²] · [numChannels·patchSize², hiddenSize]`), per layer the q, k, v and
    /// out projections (4·positions·hidden²), the MLP (2·positions·hidden·intermediate) and the two attention
    /// products (2·positions²·hidden), and the projection of the class token. Normalisations, activations and
    /// softmax are not counted. Twice this is the image tower's floating-point operations per image (torch's
    /// `FlopCounterMode` count of `get_image_features`). A Double, exact below 2^53, so no config overflows it.
    public var imageMultiplyAdds: Double {
        let (v, n, h) = imageTowerSizes
        let patches = (n - 1) * Double(v.numChannels) * Double(v.patchSize) * Double(v.patchSize) * h
        let layer = 4 * n * h * h + 2 * n * h * Double(v.intermediateSize) + 2 * n * n * h
        return patches + Double(v.numHiddenLayers) * layer + h * Double(projectionDim)
    }

    /// Multiply-adds for one image as `CLIPModel` computes it: as `imageMultiplyAdds`, except that the last layer
    /// runs its query, attention, out projection and MLP for the class token alone (keys and values still for
    /// every position), since only the class token is pooled. Twice this is what `zeroshot bench` reports as
    /// `image_gflop_per_image`.
    public var pooledImageMultiplyAdds: Double {
        let (v, n, h) = imageTowerSizes
        guard v.numHiddenLayers > 0 else { return imageMultiplyAdds }
        // Per position left out of the last layer: its query and out projections, MLP and attention row.
        let perPosition = 2 * h * h + 2 * h * Double(v.intermediateSize) + 2 * n * h
        return imageMultiplyAdds - (n - 1) * perPosition
    }

    /// The vision config with its positions (patches + class token) and width as Doubles, so that no count
    /// overflows.
    private var imageTowerSizes: (CLIPVisionConfig, positions: Double, width: Double) {
        let grid = Double(visionConfig.gridSize)
        return (visionConfig, grid * grid + 1, Double(visionConfig.hiddenSize))
    }
}

/// A CLIP `config.json` (`model_type: "clip"`), with transformers 5's defaults for missing keys.
public struct CLIPConfig: Sendable, Equatable, Decodable {
    public var textConfig = CLIPTextConfig()
    public var visionConfig = CLIPVisionConfig()
    /// Width of the shared embedding space (`projection_dim`, default 512).
    public var projectionDim = 512
    /// `logit_scale_init_value` (default 2.6592); the checkpoint's `logit_scale` tensor is what is used.
    public var logitScaleInitValue: Float = 2.6592
    /// Stored weight dtype from `dtype` (or the older `torch_dtype`), e.g. `"float32"`, `"float16"`; computation
    /// is always float32.
    public var dtype: String?

    public init() {}

    /// Reads `config.json`.
    /// - Throws: `ModelError.missingFile`, `.invalidConfig` (naming the key), `.unsupportedModelType`.
    public init(contentsOf url: URL) throws {
        self = try ConfigFile.decode(CLIPConfig.self, contentsOf: url)
    }

    /// Parses the bytes of a `config.json`; `path` is used in error messages.
    public init(data: Data, path: String = "config.json") throws {
        self = try ConfigFile.decode(CLIPConfig.self, from: data, path: path)
    }

    private enum CodingKeys: String, CodingKey {
        case modelType = "model_type", projectionDim = "projection_dim"
        case logitScaleInitValue = "logit_scale_init_value", dtype, torchDtype = "torch_dtype"
        case textConfig = "text_config", textConfigDict = "text_config_dict"
        case visionConfig = "vision_config", visionConfigDict = "vision_config_dict"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard let modelType = try c.decodeIfPresent(String.self, forKey: .modelType) else {
            throw ConfigValueError("model_type is missing (expected \"clip\")")
        }
        guard modelType == "clip" else {
            throw ModelError.unsupportedModelType(path: "config.json", modelType: modelType, supported: ["clip"])
        }
        projectionDim = try c.int(.projectionDim) ?? projectionDim
        logitScaleInitValue = try c.decodeIfPresent(Float.self, forKey: .logitScaleInitValue) ?? logitScaleInitValue
        dtype = try c.decodeIfPresent(String.self, forKey: .dtype) ?? c.decodeIfPresent(String.self, forKey: .torchDtype)
        // As transformers: a non-null `text_config_dict` (old configs) replaces `text_config`.
        textConfig = try c.decodeIfPresent(CLIPTextConfig.self, forKey: .textConfigDict)
            ?? c.decodeIfPresent(CLIPTextConfig.self, forKey: .textConfig) ?? CLIPTextConfig()
        visionConfig = try c.decodeIfPresent(CLIPVisionConfig.self, forKey: .visionConfigDict)
            ?? c.decodeIfPresent(CLIPVisionConfig.self, forKey: .visionConfig) ?? CLIPVisionConfig()
        try validate()
    }

    private func validate() throws {
        func fail(_ reason: String) -> ConfigValueError { ConfigValueError(reason) }
        try ConfigFile.checkSizes([
            ("projection_dim", projectionDim, 1),
            ("text_config.vocab_size", textConfig.vocabSize, 1),
            ("text_config.hidden_size", textConfig.hiddenSize, 1),
            ("text_config.intermediate_size", textConfig.intermediateSize, 1),
            ("text_config.num_attention_heads", textConfig.numAttentionHeads, 1),
            ("text_config.max_position_embeddings", textConfig.maxPositionEmbeddings, 1),
            ("text_config.num_hidden_layers", textConfig.numHiddenLayers, 0),
            ("vision_config.hidden_size", visionConfig.hiddenSize, 1),
            ("vision_config.intermediate_size", visionConfig.intermediateSize, 1),
            ("vision_config.num_attention_heads", visionConfig.numAttentionHeads, 1),
            ("vision_config.num_channels", visionConfig.numChannels, 1),
            ("vision_config.image_size", visionConfig.imageSize, 1),
            ("vision_config.patch_size", visionConfig.patchSize, 1),
            ("vision_config.num_hidden_layers", visionConfig.numHiddenLayers, 0),
        ])
        if textConfig.hiddenSize % textConfig.numAttentionHeads != 0 {
            throw fail("text_config.hidden_size \(textConfig.hiddenSize) is not a multiple of num_attention_heads \(textConfig.numAttentionHeads)")
        }
        if visionConfig.hiddenSize % visionConfig.numAttentionHeads != 0 {
            throw fail("vision_config.hidden_size \(visionConfig.hiddenSize) is not a multiple of num_attention_heads \(visionConfig.numAttentionHeads)")
        }
        if visionConfig.patchSize > visionConfig.imageSize {
            throw fail("vision_config.patch_size \(visionConfig.patchSize) exceeds image_size \(visionConfig.imageSize)")
        }
    }
}

extension CLIPTextConfig {
    private enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case maxPositionEmbeddings = "max_position_embeddings", hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps"
        case padTokenId = "pad_token_id", bosTokenId = "bos_token_id", eosTokenId = "eos_token_id"
    }

    /// Missing or null keys take transformers' defaults.
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
        padTokenId = try c.int(.padTokenId) ?? padTokenId
        bosTokenId = try c.int(.bosTokenId) ?? bosTokenId
        eosTokenId = try c.tokenId(.eosTokenId) ?? eosTokenId
    }
}

extension CLIPVisionConfig {
    private enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numChannels = "num_channels", imageSize = "image_size", patchSize = "patch_size"
        case hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps"
    }

    /// Missing or null keys take transformers' defaults.
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
