import Compute
import Foundation
import SafeTensors

/// `nn.LayerNorm(dim, eps)`: `weight`, `bias`.
package struct LayerNorm: Sendable {
    package let weight: FloatBuffer
    package let bias: FloatBuffer
    package let dim: Int
    package let eps: Float

    package init(_ w: WeightLoader, dim: Int, eps: Float) throws {
        weight = try w.get("weight", [dim])
        bias = try w.get("bias", [dim])
        self.dim = dim
        self.eps = eps
    }

    package func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>) {
        layerNorm(x, rows: rows, dim: dim, weight: weight.pointer, bias: bias.pointer, eps: eps, output: output)
    }

    /// The same over the columns of `x` `[dim, cols]` (column layout).
    package func columns(_ x: UnsafePointer<Float>, cols: Int, output: UnsafeMutablePointer<Float>) {
        layerNormColumns(x, dim: dim, cols: cols, weight: weight.pointer, bias: bias.pointer, eps: eps, output: output)
    }
}

