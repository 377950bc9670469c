// The ViT image tower of CLIP and Chinese-CLIP (`vision_model.*`): patch embedding, class token, position
// embeddings, pre_layrnorm, the pre-norm encoder, post_layernorm of the class token. Both families store it under
// the same tensor paths.
import Compute
import Foundation
import SafeTensors

/// The sizes of a ViT image tower with a class token (`CLIPVisionConfig`, `ChineseCLIPVisionConfig`).
public protocol VisionTowerConfig: EncoderConfig {
    var numChannels: Int { get }
    /// Input side in pixels; pixel_values are `[batch, numChannels, imageSize, imageSize]`.
    var imageSize: Int { get }
    var patchSize: Int { get }
}

extension VisionTowerConfig {
    /// Patches per side (`imageSize / patchSize`, floored as the stride-`patchSize` convolution does).
    public var gridSize: Int { imageSize / patchSize }
    /// Number of positions: class token + patches.
    public var numPositions: Int { gridSize * gridSize + 1 }

    /// Multiply-adds for one image through the image tower and a projection to `projectionDim`: the patch
    /// embedding (`[gridSize², numChannels·patchSize²] · [numChannels·patchSize², hiddenSize]`), per layer the q,
    /// k, v and out projections (4·positions·hidden²), the MLP (2·positions·hidden·intermediate) and the two
    /// attention products (2·positions²·hidden), and the projection of the class token. Normalisations,
    /// activations and softmax are not counted. Twice this is torch's `FlopCounterMode` count of
    /// `get_image_features`. A Double, exact below 2^53, so no config overflows it.
    public func imageMultiplyAdds(projectionDim: Int) -> Double {
        let (n, h) = towerSizes
        let patches = (n - 1) * Double(numChannels) * Double(patchSize) * Double(patchSize) * h
        let layer = 4 * n * h * h + 2 * n * h * Double(intermediateSize) + 2 * n * n * h
        return patches + Double(numHiddenLayers) * layer + h * Double(projectionDim)
    }

    /// As `imageMultiplyAdds`, except that the last layer runs its query, attention, out projection and MLP for
    /// the class token alone (keys and values still for every position), as `VisionTransformer` computes it.
    public func pooledImageMultiplyAdds(projectionDim: Int) -> Double {
        let full = imageMultiplyAdds(projectionDim: projectionDim)
        let (n, h) = towerSizes
        guard numHiddenLayers > 0 else { return full }
        // Per position left out of the last layer: its query and out projections, MLP and attention row.
        let perPosition = 2 * h * h + 2 * h * Double(intermediateSize) + 2 * n * h
        return full - (n - 1) * perPosition
    }

    /// Positions (patches + class token) and width as Doubles, so that no count overflows.
    private var towerSizes: (positions: Double, width: Double) {
        let grid = Double(gridSize)
        return (grid * grid + 1, Double(hiddenSize))
    }
}

/// `CLIPVisionEmbeddings` / `ChineseCLIPVisionEmbeddings`: `class_embedding` `[d]`, `patch_embedding` (Conv2d
/// without bias, `[d, C, p, p]`), `position_embedding` `[grid² + 1, d]`.
package struct VisionEmbeddings: Sendable {
    package let class_embedding: FloatBuffer
    package let patch_embedding: FloatBuffer
    package let position_embedding: FloatBuffer

    package init(_ w: WeightLoader, _ c: some VisionTowerConfig) throws {
        let d = c.hiddenSize
        class_embedding = try w.get("class_embedding", [d])
        patch_embedding = try w.get("patch_embedding.weight", [d, c.numChannels, c.patchSize, c.patchSize])
        position_embedding = try w.get("position_embedding.weight", [c.numPositions, d])
    }
}

/// `CLIPVisionTransformer` / `ChineseCLIPVisionModel` (the `vision_model` of both families).
package struct VisionTransformer: Sendable {
    package let embeddings: VisionEmbeddings
    package let pre_layrnorm: LayerNorm
    package let encoder: Encoder
    package let post_layernorm: LayerNorm
    let numChannels: Int
    let imageSize: Int
    let patchSize: Int

    package init(_ w: WeightLoader, _ c: some VisionTowerConfig) throws {
        embeddings = try VisionEmbeddings(w.pp("embeddings"), c)
        pre_layrnorm = try LayerNorm(w.pp("pre_layrnorm"), dim: c.hiddenSize, eps: c.layerNormEps)
        encoder = try Encoder(w.pp("encoder"), EncoderShape(c))
        post_layernorm = try LayerNorm(w.pp("post_layernorm"), dim: c.hiddenSize, eps: c.layerNormEps)
        numChannels = c.numChannels
        imageSize = c.imageSize
        patchSize = c.patchSize
    }

    /// Pooled output `[batch, hidden]`: post_layernorm of the class token's final hidden state.
    /// `pixelValues` is `[batch, C, S, S]` flat; the caller checks its size.
    package func pooled(pixelValues: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>) throws {
        let d = encoder.shape.hiddenSize, p = patchSize, grid = imageSize / patchSize, s = imageSize
        let channels = numChannels
        let patches = grid * grid, seq = patches + 1
        let patchLength = channels * p * p
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
                    for ch in 0..<channels {
                        for ky in 0..<p {
                            let src = pixelValues + ((b * channels + ch) * s + py * p + ky) * s + px * p
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
