// The vision tower (`vision_model.*`): patch embedding, class token, position embeddings, pre_layrnorm,
// encoder, post_layernorm of the class token.
import Compute
import Foundation
import Layers
import SafeTensors

/// `CLIPVisionEmbeddings`: `class_embedding` `[d]`, `patch_embedding` (Conv2d without bias, `[d, C, p, p]`),
/// `position_embedding` `[grid² + 1, d]`.
struct CLIPVisionEmbeddings: Sendable {
    let class_embedding: FloatBuffer
    let patch_embedding: FloatBuffer
    let position_embedding: FloatBuffer

    init(_ w: WeightLoader, _ c: CLIPVisionConfig) throws {
        let d = c.hiddenSize
        class_embedding = try w.get("class_embedding", [d])
        patch_embedding = try w.get("patch_embedding.weight", [d, c.numChannels, c.patchSize, c.patchSize])
        position_embedding = try w.get("position_embedding.weight", [c.numPositions, d])
    }
}

/// `CLIPVisionTransformer` (the `vision_model` of `CLIPModel`).
struct CLIPVisionTransformer: Sendable {
    let embeddings: CLIPVisionEmbeddings
    let pre_layrnorm: LayerNorm
    let encoder: Encoder
    let post_layernorm: LayerNorm
    let config: CLIPVisionConfig

    init(_ w: WeightLoader, _ c: CLIPVisionConfig) throws {
        embeddings = try CLIPVisionEmbeddings(w.pp("embeddings"), c)
        pre_layrnorm = try LayerNorm(w.pp("pre_layrnorm"), dim: c.hiddenSize, eps: c.layerNormEps)
        encoder = try Encoder(w.pp("encoder"), EncoderShape(c))
        post_layernorm = try LayerNorm(w.pp("post_layernorm"), dim: c.hiddenSize, eps: c.layerNormEps)
        config = c
    }

    /// Pooled output `[batch, hidden]`: post_layernorm of the class token's final hidden state.
    /// `pixelValues` is `[batch, C, S, S]` flat; the caller checks its size.
    func pooled(pixelValues: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>) throws {
        let c = config
        let d = c.hiddenSize, p = c.patchSize, grid = c.gridSize, s = c.imageSize
        let patches = grid * grid, seq = patches + 1
        let patchLength = c.numChannels * p * p
        let tokens = batch * seq

        // Patch embedding as a GEMM: gather each patch in (channel, row, column) order, the Conv2d weight order.
        // Pixels beyond grid·p (when image_size is not a multiple of patch_size) are ignored, as by the
        // stride-p convolution.
        let columns = UnsafeMutablePointer<Float>.allocate(capacity: max(batch * patches * patchLength, 1))
        defer { columns.deallocate() }
        for b in 0..<batch {
            for py in 0..<grid {
                for px in 0..<grid {
                    var dst = columns + ((b * patches) + py * grid + px) * patchLength
                    for ch in 0..<c.numChannels {
                        for ky in 0..<p {
                            let src = pixelValues + ((b * c.numChannels + ch) * s + py * p + ky) * s + px * p
                            dst.update(from: src, count: p)
                            dst += p
                        }
                    }
                }
            }
        }
        // Hidden states in column layout: [d, tokens], one column per token.
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: max(tokens * d, 1))
        defer { hidden.deallocate() }
        let patchEmbeds = UnsafeMutablePointer<Float>.allocate(capacity: max(batch * patches * d, 1))
        defer { patchEmbeds.deallocate() }
        // [d, batch·patches] = patch_embedding.weight [d, C·p·p] · columnsᵀ
        try weightTimesColumns(embeddings.patch_embedding.pointer, rows: d, inner: patchLength, columns,
                               cols: batch * patches, inputByColumn: true, output: patchEmbeds)
        let cls = embeddings.class_embedding.pointer, pos = embeddings.position_embedding.pointer
        for f in 0..<d {
            let row = hidden + f * tokens, patchRow = patchEmbeds + f * batch * patches
            for b in 0..<batch {
                row[b * seq] = cls[f] + pos[f]
                for t in 1..<seq { row[b * seq + t] = patchRow[b * patches + t - 1] + pos[t * d + f] }
            }
        }
        pre_layrnorm.columns(hidden, cols: tokens, output: hidden)
        // Only the class tokens' final states are pooled, so the last layer runs for them alone.
        let classTokens = UnsafeMutablePointer<Float>.allocate(capacity: batch * d)
        defer { classTokens.deallocate() }
        try encoder(hidden, segments: (0..<batch).map { Segment(start: $0 * seq, length: seq) }, causal: false,
                    keep: (0..<batch).map { $0 * seq }, output: classTokens)
        post_layernorm(classTokens, rows: batch, output: output)
    }
}
