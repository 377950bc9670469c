// The stride-p convolution that cuts an image into patch embeddings (ViT's `patch_embedding`), as a GEMM.
import Compute
import Foundation
import SafeTensors

/// `nn.Conv2d(channels, hidden, kernel_size=p, stride=p)` over pixel_values `[batch, channels, size, size]`:
/// `weight` `[hidden, channels, p, p]`, optional `bias` `[hidden]`. Patches are taken row by row (the order of
/// `flatten(2)` after the convolution); pixels beyond `grid·p` (when `size` is not a multiple of `p`) are ignored,
/// as by the convolution.
package struct PatchEmbedding: Sendable {
    package let weight: FloatBuffer
    package let bias: FloatBuffer?
    package let hiddenSize: Int
    package let channels: Int
    package let patchSize: Int
    package let imageSize: Int

    /// Patches per side.
    package var grid: Int { imageSize / patchSize }
    /// Patches per image.
    package var patches: Int { grid * grid }

    package init(_ w: WeightLoader, hiddenSize: Int, channels: Int, patchSize: Int, imageSize: Int,
                 bias hasBias: Bool) throws {
        weight = try w.get("weight", [hiddenSize, channels, patchSize, patchSize])
        bias = hasBias ? try w.get("bias", [hiddenSize]) : nil
        self.hiddenSize = hiddenSize
        self.channels = channels
        self.patchSize = patchSize
        self.imageSize = imageSize
    }

    /// Patch embeddings in column layout: `output` `[hiddenSize, batch·patches]`, one column per patch (image
    /// by image, patches row by row). The caller checks the size of `pixelValues`.
    package func columns(pixelValues: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>) throws {
        let p = patchSize, s = imageSize, g = grid, n = patches
        let patchLength = channels * p * p
        // Each patch gathered in (channel, row, column) order, the Conv2d weight order.
        let gathered = UnsafeMutablePointer<Float>.allocate(capacity: max(batch * n * patchLength, 1))
        defer { gathered.deallocate() }
        for b in 0..<batch {
            for py in 0..<g {
                for px in 0..<g {
                    var dst = gathered + ((b * n) + py * g + px) * patchLength
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
        // [hidden, batch·patches] = weight [hidden, C·p·p] · gatheredᵀ
        try weightTimesColumns(weight.pointer, rows: hiddenSize, inner: patchLength, gathered, cols: batch * n,
                               inputByColumn: true, output: output)
        rowBiasActivation(output, rows: hiddenSize, cols: batch * n, bias: bias?.pointer, activation: .none)
    }
}
