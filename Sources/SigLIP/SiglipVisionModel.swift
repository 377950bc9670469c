// The vision tower (`vision_model.*`): patch embedding (no class token), position embeddings, encoder,
// post_layernorm, and the multihead attention pooling head.
import Compute
import Foundation
import Layers
import SafeTensors

/// `SiglipVisionEmbeddings`: `patch_embedding` (Conv2d with bias, `[d, C, p, p]`), `position_embedding`
/// `[grid², d]`.
struct SiglipVisionEmbeddings: Sendable {
    let patch_embedding: PatchEmbedding
    let position_embedding: FloatBuffer

    init(_ w: WeightLoader, _ c: SiglipVisionConfig) throws {
        patch_embedding = try PatchEmbedding(w.pp("patch_embedding"), hiddenSize: c.hiddenSize,
                                             channels: c.numChannels, patchSize: c.patchSize,
                                             imageSize: c.imageSize, bias: true)
        position_embedding = try w.get("position_embedding.weight", [c.numPatches, c.hiddenSize])
    }
}

/// `torch.nn.MultiheadAttention(d, heads)` of the pooling head: `in_proj_weight` `[3d, d]` (query, key and value
/// projections stacked), `in_proj_bias` `[3d]`, `out_proj` `[d, d]`.
struct MultiheadAttention: Sendable {
    let in_proj_weight: FloatBuffer
    let in_proj_bias: FloatBuffer
    let out_proj: Linear

    init(_ w: WeightLoader, dim: Int) throws {
        in_proj_weight = try w.get("in_proj_weight", [3 * dim, dim])
        in_proj_bias = try w.get("in_proj_bias", [3 * dim])
        out_proj = try Linear(w.pp("out_proj"), in: dim, out: dim, quantizable: false)
    }
}

/// `SiglipMultiheadAttentionPoolingHead`: `probe` `[1, 1, d]`, `attention`, `layernorm`, `mlp`.
///
/// The probe attends to every patch (`attention(probe, x, x)`, no residual back to the probe); the result `r`
/// becomes `r + mlp(layernorm(r))`, the pooled output.
struct SiglipMultiheadAttentionPoolingHead: Sendable {
    let probe: FloatBuffer
    let attention: MultiheadAttention
    let layernorm: LayerNorm
    let mlp: MLP
    let shape: EncoderShape

    /// The head's linear layers stay float32 at every precision (it runs once per image, as the projections do).
    init(_ w: WeightLoader, _ c: SiglipVisionConfig) throws {
        var w = w
        w.precision = .fp32
        let s = EncoderShape(c)
        probe = try w.get("probe", [1, 1, c.hiddenSize])
        attention = try MultiheadAttention(w.pp("attention"), dim: c.hiddenSize)
        layernorm = try LayerNorm(w.pp("layernorm"), dim: c.hiddenSize, eps: c.layerNormEps)
        mlp = try MLP(w.pp("mlp"), s)
        shape = s
    }

    /// Pooled output `[batch, d]` from the final hidden states `x` `[batch · patches, d]` (row layout).
    func callAsFunction(_ x: UnsafePointer<Float>, batch: Int, patches: Int, output: UnsafeMutablePointer<Float>) throws {
        let d = shape.hiddenSize, heads = shape.numHeads, hd = shape.headDim
        let w = attention.in_proj_weight.pointer, b = attention.in_proj_bias.pointer
        // The probe's query, the same for every image.
        var query = [Float](repeating: 0, count: d)
        try linear(probe.pointer, rows: 1, inFeatures: d, weight: w, bias: b, outFeatures: d, output: &query)
        // Keys and values of every patch side by side: [batch · patches, 2d].
        let keyValues = UnsafeMutablePointer<Float>.allocate(capacity: batch * patches * 2 * d)
        defer { keyValues.deallocate() }
        try linear(x, rows: batch * patches, inFeatures: d, weight: w + d * d, bias: b + d, outFeatures: 2 * d,
                   output: keyValues)
        let context = UnsafeMutablePointer<Float>.allocate(capacity: batch * d)
        defer { context.deallocate() }
        let scale = 1 / Float(hd).squareRoot()
        let buffers = UncheckedSendable((keyValues, context))
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: ComputeThreads.count * patches)
        defer { scores.deallocate() }
        let scratch = UncheckedSendable(scores)
        query.withUnsafeBufferPointer { q in
            let q = UncheckedSendable(q.baseAddress!)
            ComputeThreads.parallelFor(batch * heads) { job, thread in
                let (kv, context) = buffers.value
                let image = job / heads, h = job % heads
                let rows = kv + image * patches * 2 * d
                attentionHead(q: q.value + h * hd, ldq: d, nq: 1, qStart: 0,
                              k: rows + h * hd, v: rows + d + h * hd, ldkv: 2 * d, nk: patches, headDim: hd,
                              scale: scale, causal: false, scores: scratch.value + thread * patches,
                              output: context + image * d + h * hd, ldo: d)
            }
        }
        // residual = out_proj(context); output = residual + fc2(act(fc1(layernorm(residual))))
        try attention.out_proj(context, rows: batch, output: output)
        let normed = UnsafeMutablePointer<Float>.allocate(capacity: batch * d)
        defer { normed.deallocate() }
        layernorm(output, rows: batch, output: normed)
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: batch * shape.intermediateSize)
        defer { hidden.deallocate() }
        try mlp.fc1(normed, rows: batch, output: hidden)
        addBiasActivation(hidden, rows: batch, cols: shape.intermediateSize, bias: nil, activation: shape.activation)
        try mlp.fc2(hidden, rows: batch, output: normed)
        for i in 0..<(batch * d) { output[i] += normed[i] }
    }
}

/// `SiglipVisionTransformer` (the `vision_model` of `SiglipModel`).
struct SiglipVisionTransformer: Sendable {
    let embeddings: SiglipVisionEmbeddings
    let encoder: Encoder
    let post_layernorm: LayerNorm
    let head: SiglipMultiheadAttentionPoolingHead
    let config: SiglipVisionConfig

    init(_ w: WeightLoader, _ c: SiglipVisionConfig) throws {
        embeddings = try SiglipVisionEmbeddings(w.pp("embeddings"), c)
        encoder = try Encoder(w.pp("encoder"), EncoderShape(c))
        post_layernorm = try LayerNorm(w.pp("post_layernorm"), dim: c.hiddenSize, eps: c.layerNormEps)
        head = try SiglipMultiheadAttentionPoolingHead(w.pp("head"), c)
        config = c
    }

    /// Pooled output `[batch, hidden]` (the attention pooling head's, SiglipVisionModel's `pooler_output`).
    /// `pixelValues` is `[batch, C, S, S]` flat; the caller checks its size.
    func pooled(pixelValues: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>) throws {
        let d = config.hiddenSize, patches = config.numPatches
        let tokens = batch * patches
        // Hidden states in column layout: [d, tokens], one column per patch.
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: max(tokens * d, 1))
        defer { hidden.deallocate() }
        try embeddings.patch_embedding.columns(pixelValues: pixelValues, batch: batch, output: hidden)
        let pos = embeddings.position_embedding.pointer
        for f in 0..<d {
            let row = hidden + f * tokens
            for b in 0..<batch {
                for t in 0..<patches { row[b * patches + t] += pos[t * d + f] }
            }
        }
        // The head attends to every patch, so every patch goes through the last layer.
        let finals = UnsafeMutablePointer<Float>.allocate(capacity: max(tokens * d, 1))
        defer { finals.deallocate() }
        if encoder.layers.isEmpty {
            transpose(hidden, rows: d, cols: tokens, output: finals)
        } else {
            try encoder(hidden, segments: (0..<batch).map { Segment(start: $0 * patches, length: patches) },
                        causal: false, keep: Array(0..<tokens), output: finals)
        }
        post_layernorm(finals, rows: tokens, output: finals)
        try head(finals, batch: batch, patches: patches, output: output)
    }
}
