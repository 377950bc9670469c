import Compute
import Foundation
import SafeTensors

/// Arithmetic of the encoder's linear layers.
public enum Precision: String, Sendable, CaseIterable {
    /// float32 throughout, as transformers computes.
    case fp32
    /// Linear layers of both encoders with int8 weights (per output channel, symmetric) and dynamically
    /// quantized uint8 activations, int32 products; an approximation (image-embedding cosine to float32 about
    /// 0.99). Embeddings, layer norms, attention and projections stay float32.
    case int8
}

/// `nn.Linear(inFeatures, outFeatures)`: `weight` `[out, in]`, optional `bias` `[out]`.
package struct Linear: Sendable {
    /// The weight as it runs: float32 (read in place from the mapping, or converted at load), or quantized to
    /// int8 at load (encoder layers when the loader asks for int8), in which case no float32 copy is kept.
    package enum Weight: Sendable {
        case float32(FloatBuffer)
        case int8(Int8Weight)
    }

    package let weight: Weight
    package let bias: FloatBuffer?
    package let inFeatures: Int
    package let outFeatures: Int

    package init(_ w: WeightLoader, in inFeatures: Int, out outFeatures: Int, bias hasBias: Bool = true,
         quantizable: Bool = true) throws {
        let float32 = try w.get("weight", [outFeatures, inFeatures])
        bias = hasBias ? try w.get("bias", [outFeatures]) : nil
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        if quantizable && w.precision == .int8 {
            weight = .int8(Int8Weight(weight: float32.pointer, outFeatures: outFeatures, inFeatures: inFeatures))
            // The int8 copy is what runs: a converted float32 copy is freed with `float32`, and mapped float32
            // pages leave resident memory (they stay in the page cache).
            w.releasePages("weight")
        } else {
            weight = .float32(float32)
        }
    }

    /// Row layout (one row per token): `output` `[rows, outFeatures]` from `x` `[rows, inFeatures]`.
    package func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>) throws {
        switch weight {
        case .float32(let w):
            try linear(x, rows: rows, inFeatures: inFeatures, weight: w.pointer, bias: bias?.pointer,
                       outFeatures: outFeatures, output: output)
        case .int8(let q):
            try linearInt8(x, rows: rows, weight: q, bias: bias?.pointer, output: output)
        }
    }

    /// The same in column layout: `output` `[outFeatures, cols]` from `x` `[inFeatures, cols]`.
    package func columns(
        _ x: UnsafePointer<Float>, cols: Int, output: UnsafeMutablePointer<Float>,
        activation: Activation = .none, accumulate: Bool = false
    ) throws {
        switch weight {
        case .float32(let w):
            try linearColumns(x, cols: cols, inFeatures: inFeatures, weight: w.pointer, bias: bias?.pointer,
                              outFeatures: outFeatures, activation: activation, accumulate: accumulate, output: output)
        case .int8(let q):
            try linearInt8Columns(x, cols: cols, weight: q, bias: bias?.pointer, activation: activation,
                                  accumulate: accumulate, output: output)
        }
    }
}

