import Compute
import Foundation
import Layers

/// `text_config` of a CLIP `config.json`. Missing keys take the defaults of transformers' `CLIPTextConfig`
/// (openai/clip-vit-base-patch32's text tower).
public struct CLIPTextConfig: Sendable, Equatable, EncoderConfig {
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
public struct CLIPVisionConfig: Sendable, Equatable, EncoderConfig {
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
public struct CLIPConfig: Sendable, Equatable {
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
    /// - Throws: `ModelError.missingFile`, `.invalidConfig`, `.unsupportedModelType`.
    public init(contentsOf url: URL) throws {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw ModelError.missingFile(path: path) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError.invalidConfig(path: path, reason: error.localizedDescription)
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw ModelError.invalidConfig(path: path, reason: "not valid JSON (\(error.localizedDescription))")
        }
        guard let json = object as? [String: Any] else {
            throw ModelError.invalidConfig(path: path, reason: "top level is not a JSON object")
        }
        try self.init(json: json, path: path)
    }

    /// Parses an already-decoded `config.json` object; `path` is used in error messages.
    public init(json: [String: Any], path: String = "config.json") throws {
        let root = JSONReader(json, path: path, section: nil)
        guard let modelType = try root.string("model_type") else {
            throw ModelError.invalidConfig(path: path, reason: "model_type is missing (expected \"clip\")")
        }
        guard modelType == "clip" else { throw ModelError.unsupportedModelType(path: path, modelType: modelType, supported: ["clip"]) }
        projectionDim = try root.int("projection_dim") ?? projectionDim
        logitScaleInitValue = try root.float("logit_scale_init_value") ?? logitScaleInitValue
        dtype = try root.string("dtype") ?? root.string("torch_dtype")

        // As transformers: a non-null `text_config_dict` (old configs) replaces `text_config`.
        let text = try root.object("text_config_dict") ?? root.object("text_config") ?? [:]
        let t = JSONReader(text, path: path, section: "text_config")
        var tc = CLIPTextConfig()
        tc.vocabSize = try t.int("vocab_size") ?? tc.vocabSize
        tc.hiddenSize = try t.int("hidden_size") ?? tc.hiddenSize
        tc.intermediateSize = try t.int("intermediate_size") ?? tc.intermediateSize
        tc.numHiddenLayers = try t.int("num_hidden_layers") ?? tc.numHiddenLayers
        tc.numAttentionHeads = try t.int("num_attention_heads") ?? tc.numAttentionHeads
        tc.maxPositionEmbeddings = try t.int("max_position_embeddings") ?? tc.maxPositionEmbeddings
        tc.hiddenAct = try t.activation("hidden_act") ?? tc.hiddenAct
        tc.layerNormEps = try t.float("layer_norm_eps") ?? tc.layerNormEps
        tc.padTokenId = try t.int("pad_token_id") ?? tc.padTokenId
        tc.bosTokenId = try t.int("bos_token_id") ?? tc.bosTokenId
        tc.eosTokenId = try t.tokenId("eos_token_id") ?? tc.eosTokenId
        textConfig = tc

        let vision = try root.object("vision_config_dict") ?? root.object("vision_config") ?? [:]
        let v = JSONReader(vision, path: path, section: "vision_config")
        var vc = CLIPVisionConfig()
        vc.hiddenSize = try v.int("hidden_size") ?? vc.hiddenSize
        vc.intermediateSize = try v.int("intermediate_size") ?? vc.intermediateSize
        vc.numHiddenLayers = try v.int("num_hidden_layers") ?? vc.numHiddenLayers
        vc.numAttentionHeads = try v.int("num_attention_heads") ?? vc.numAttentionHeads
        vc.numChannels = try v.int("num_channels") ?? vc.numChannels
        vc.imageSize = try v.side("image_size") ?? vc.imageSize
        vc.patchSize = try v.side("patch_size") ?? vc.patchSize
        vc.hiddenAct = try v.activation("hidden_act") ?? vc.hiddenAct
        vc.layerNormEps = try v.float("layer_norm_eps") ?? vc.layerNormEps
        visionConfig = vc

        try validate(path: path)
    }

    private func validate(path: String) throws {
        func fail(_ reason: String) -> ModelError { .invalidConfig(path: path, reason: reason) }
        // Every size: positive (layer counts may be 0), and at most 2^20, which keeps buffer arithmetic far from
        // overflow.
        let limit = 1 << 20
        let sizes: [(name: String, value: Int, minimum: Int)] = [
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
        ]
        for size in sizes where size.value < size.minimum {
            let rule = size.minimum == 0 ? "must not be negative" : "must be positive"
            throw fail("\(size.name) \(rule), found \(size.value)")
        }
        for size in sizes where size.value > limit {
            throw fail("\(size.name) \(size.value) is larger than supported (\(limit))")
        }
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

/// Typed access to one JSON object of config.json; `null` counts as missing (the default applies).
private struct JSONReader {
    let json: [String: Any]
    let path: String
    let section: String?

    init(_ json: [String: Any], path: String, section: String?) {
        self.json = json
        self.path = path
        self.section = section
    }

    private func key(_ k: String) -> String { section.map { "\($0).\(k)" } ?? k }

    private func value(_ k: String) -> Any? {
        guard let v = json[k], !(v is NSNull) else { return nil }
        return v
    }

    private func wrongType(_ k: String, _ expected: String, _ v: Any) -> ModelError {
        .invalidConfig(path: path, reason: "\(key(k)) should be \(expected), found \(v)")
    }

    private func isBool(_ v: Any) -> Bool {
        // JSONSerialization boxes `true`/`false` as a Boolean NSNumber subclass.
        Swift.type(of: v) == Bool.self || String(describing: Swift.type(of: v)).contains("Boolean")
    }

    func int(_ k: String) throws -> Int? {
        guard let v = value(k) else { return nil }
        if let n = v as? NSNumber, !isBool(v) {
            let d = n.doubleValue
            if d.rounded() == d, abs(d) < 1e15 { return Int(d) }
        }
        throw wrongType(k, "an integer", v)
    }

    func float(_ k: String) throws -> Float? {
        guard let v = value(k) else { return nil }
        if let n = v as? NSNumber, !isBool(v), n.doubleValue.isFinite { return Float(n.doubleValue) }
        throw wrongType(k, "a number", v)
    }

    func string(_ k: String) throws -> String? {
        guard let v = value(k) else { return nil }
        if let s = v as? String { return s }
        throw wrongType(k, "a string", v)
    }

    func object(_ k: String) throws -> [String: Any]? {
        guard let v = value(k) else { return nil }
        if let o = v as? [String: Any] { return o }
        throw wrongType(k, "an object", v)
    }

    func activation(_ k: String) throws -> Activation? {
        guard let name = try string(k) else { return nil }
        guard let act = Activation(huggingFaceName: name) else {
            throw ModelError.invalidConfig(
                path: path, reason: "\(key(k)) \"\(name)\" is not supported (quick_gelu, gelu, gelu_new, gelu_pytorch_tanh, relu)")
        }
        return act
    }

    /// `eos_token_id`: an integer, or a list whose first entry is used.
    func tokenId(_ k: String) throws -> Int? {
        if let list = value(k) as? [Any], let first = list.first {
            return try JSONReader([k: first], path: path, section: section).int(k)
        }
        return try int(k)
    }

    /// `image_size` / `patch_size`: an integer or a square `[h, w]` pair.
    func side(_ k: String) throws -> Int? {
        if let list = value(k) as? [Any] {
            let sides = try list.map { try JSONReader([k: $0], path: path, section: section).int(k) ?? -1 }
            guard sides.count == 2, sides[0] == sides[1] else {
                throw ModelError.invalidConfig(path: path, reason: "\(key(k)) \(sides) is not square; only square inputs are supported")
            }
            return sides[0]
        }
        return try int(k)
    }
}

