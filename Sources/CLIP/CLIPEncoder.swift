// Weight loading and the transformer encoder shared by both towers. Struct and field names follow the
// checkpoint's tensor paths (e.g. `encoder.layers.3.self_attn.q_proj.weight`), one line per tensor.
import Compute
import Foundation
import SafeTensors

/// Loads tensors under a name prefix, checking shapes; errors name the tensor and the expected/found shape.
struct WeightLoader {
    let checkpoint: SafeTensorsCheckpoint
    let prefix: String

    /// The loader for the sub-module `name` (`prefix.name.`).
    func pp(_ name: String) -> WeightLoader {
        WeightLoader(checkpoint: checkpoint, prefix: prefix + name + ".")
    }

    func get(_ name: String, _ shape: [Int]) throws -> FloatBuffer {
        let full = prefix + name
        do {
            return try checkpoint.floats(full, shape: shape)
        } catch SafeTensorsError.tensorNotFound {
            throw CLIPError.missingTensor(name: full, expectedShape: shape, checkpoint: checkpoint.directory.path)
        } catch SafeTensorsError.shapeMismatch(_, _, let expected, let found) {
            throw CLIPError.wrongShape(name: full, expected: expected, found: found, checkpoint: checkpoint.directory.path)
        }
    }
}

/// `nn.LayerNorm(dim, eps)`: `weight`, `bias`.
struct LayerNorm: Sendable {
    let weight: FloatBuffer
    let bias: FloatBuffer
    let dim: Int
    let eps: Float

    init(_ w: WeightLoader, dim: Int, eps: Float) throws {
        weight = try w.get("weight", [dim])
        bias = try w.get("bias", [dim])
        self.dim = dim
        self.eps = eps
    }

    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>) {
        layerNorm(x, rows: rows, dim: dim, weight: weight.pointer, bias: bias.pointer, eps: eps, output: output)
    }
}

/// `nn.Linear(inFeatures, outFeatures)`: `weight` `[out, in]`, optional `bias` `[out]`.
struct Linear: Sendable {
    let weight: FloatBuffer
    let bias: FloatBuffer?
    let inFeatures: Int
    let outFeatures: Int

    init(_ w: WeightLoader, in inFeatures: Int, out outFeatures: Int, bias hasBias: Bool = true) throws {
        weight = try w.get("weight", [outFeatures, inFeatures])
        bias = hasBias ? try w.get("bias", [outFeatures]) : nil
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    func callAsFunction(
        _ x: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>,
        activation: Activation = .none, accumulate: Bool = false
    ) throws {
        try linear(x, rows: rows, inFeatures: inFeatures, weight: weight.pointer, bias: bias?.pointer,
                   outFeatures: outFeatures, activation: activation, accumulate: accumulate, output: output)
    }
}

/// Sizes shared by the two towers' encoders.
struct EncoderShape: Sendable {
    let hiddenSize: Int
    let intermediateSize: Int
    let numLayers: Int
    let numHeads: Int
    let activation: Activation
    let layerNormEps: Float
    var headDim: Int { hiddenSize / numHeads }
}

/// `CLIPAttention`: `k_proj`, `v_proj`, `q_proj`, `out_proj`.
struct CLIPAttention: Sendable {
    let k_proj: Linear
    let v_proj: Linear
    let q_proj: Linear
    let out_proj: Linear

    init(_ w: WeightLoader, _ s: EncoderShape) throws {
        k_proj = try Linear(w.pp("k_proj"), in: s.hiddenSize, out: s.hiddenSize)
        v_proj = try Linear(w.pp("v_proj"), in: s.hiddenSize, out: s.hiddenSize)
        q_proj = try Linear(w.pp("q_proj"), in: s.hiddenSize, out: s.hiddenSize)
        out_proj = try Linear(w.pp("out_proj"), in: s.hiddenSize, out: s.hiddenSize)
    }
}

/// `CLIPMLP`: `fc1`, `fc2`.
struct CLIPMLP: Sendable {
    let fc1: Linear
    let fc2: Linear

    init(_ w: WeightLoader, _ s: EncoderShape) throws {
        fc1 = try Linear(w.pp("fc1"), in: s.hiddenSize, out: s.intermediateSize)
        fc2 = try Linear(w.pp("fc2"), in: s.intermediateSize, out: s.hiddenSize)
    }
}

/// `CLIPEncoderLayer`: pre-norm attention and MLP blocks with residual connections.
struct CLIPEncoderLayer: Sendable {
    let self_attn: CLIPAttention
    let layer_norm1: LayerNorm
    let mlp: CLIPMLP
    let layer_norm2: LayerNorm

    init(_ w: WeightLoader, _ s: EncoderShape) throws {
        self_attn = try CLIPAttention(w.pp("self_attn"), s)
        layer_norm1 = try LayerNorm(w.pp("layer_norm1"), dim: s.hiddenSize, eps: s.layerNormEps)
        mlp = try CLIPMLP(w.pp("mlp"), s)
        layer_norm2 = try LayerNorm(w.pp("layer_norm2"), dim: s.hiddenSize, eps: s.layerNormEps)
    }
}

/// A run of consecutive rows of the packed hidden-state matrix that form one sequence.
struct Segment: Sendable {
    let start: Int
    let length: Int
}

/// Scratch buffers for one encoder pass over `tokens` packed rows; allocated once per call.
final class EncoderWorkspace {
    let normed: UnsafeMutablePointer<Float>
    let q: UnsafeMutablePointer<Float>
    let k: UnsafeMutablePointer<Float>
    let v: UnsafeMutablePointer<Float>
    let context: UnsafeMutablePointer<Float>
    let mlp: UnsafeMutablePointer<Float>
    let scores: UnsafeMutablePointer<Float>

    init(tokens: Int, maxSequence: Int, shape s: EncoderShape) {
        let n = max(tokens * s.hiddenSize, 1)
        normed = .allocate(capacity: n)
        q = .allocate(capacity: n)
        k = .allocate(capacity: n)
        v = .allocate(capacity: n)
        context = .allocate(capacity: n)
        mlp = .allocate(capacity: max(tokens * s.intermediateSize, 1))
        scores = .allocate(capacity: max(maxSequence * maxSequence, 1))
    }

    deinit {
        for p in [normed, q, k, v, context, mlp, scores] { p.deallocate() }
    }
}

/// `CLIPEncoder`: `layers.0` ... `layers.{n-1}`.
struct CLIPEncoder: Sendable {
    let layers: [CLIPEncoderLayer]
    let shape: EncoderShape

    init(_ w: WeightLoader, _ s: EncoderShape) throws {
        layers = try (0..<s.numLayers).map { try CLIPEncoderLayer(w.pp("layers").pp(String($0)), s) }
        shape = s
    }

    /// Runs every layer in place on `hidden` (`[tokens, hiddenSize]`, sequences packed as `segments`).
    func callAsFunction(_ hidden: UnsafeMutablePointer<Float>, segments: [Segment], causal: Bool) throws {
        let tokens = segments.reduce(0) { $0 + $1.length }
        let maxSequence = segments.map(\.length).max() ?? 0
        let d = shape.hiddenSize
        let ws = EncoderWorkspace(tokens: tokens, maxSequence: maxSequence, shape: shape)
        for layer in layers {
            // hidden = hidden + out_proj(attention(layer_norm1(hidden)))
            layer.layer_norm1(hidden, rows: tokens, output: ws.normed)
            try layer.self_attn.q_proj(ws.normed, rows: tokens, output: ws.q)
            try layer.self_attn.k_proj(ws.normed, rows: tokens, output: ws.k)
            try layer.self_attn.v_proj(ws.normed, rows: tokens, output: ws.v)
            for seg in segments {
                let offset = seg.start * d
                try attention(q: ws.q + offset, k: ws.k + offset, v: ws.v + offset, ld: d,
                              seqLength: seg.length, numHeads: shape.numHeads, headDim: shape.headDim,
                              causal: causal, scores: ws.scores, output: ws.context + offset, ldOutput: d)
            }
            try layer.self_attn.out_proj(ws.context, rows: tokens, output: hidden, accumulate: true)
            // hidden = hidden + fc2(act(fc1(layer_norm2(hidden))))
            layer.layer_norm2(hidden, rows: tokens, output: ws.normed)
            try layer.mlp.fc1(ws.normed, rows: tokens, output: ws.mlp, activation: shape.activation)
            try layer.mlp.fc2(ws.mlp, rows: tokens, output: hidden, accumulate: true)
        }
    }
}
