// Int8 linear layers: weights quantized once per output channel (symmetric), activations quantized per call
// (asymmetric, one scale and zero point per matrix, as ONNX Runtime's dynamic quantization), products in int32
// through oneDNN, then rescaled to float32. An approximation of the float32 layer, used only on request.
import CKernels
import Foundation

/// A Linear weight `[outFeatures, inFeatures]` quantized per output channel: `w[n, k] ≈ scale[n] · q[n, k]` with
/// `q` in `-63...63` (7 bits, so that the int8 GEMM cannot saturate on CPUs without VNNI).
public final class Int8Weight: @unchecked Sendable {
    public let outFeatures: Int
    public let inFeatures: Int
    public let values: UnsafeMutablePointer<Int8>
    public let scales: [Float]

    public static let levels: Float = 63

    /// Quantizes `weight` (`[outFeatures, inFeatures]` float32).
    public init(weight: UnsafePointer<Float>, outFeatures: Int, inFeatures: Int) {
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        values = .allocate(capacity: max(outFeatures * inFeatures, 1))
        var scales = [Float](repeating: 1, count: outFeatures)
        let values = values
        scales.withUnsafeMutableBufferPointer { scales in
            let out = UncheckedSendable(scales.baseAddress!)
            ComputeThreads.parallelFor(outFeatures) { n, _ in
                let row = weight + n * inFeatures
                var maxAbs: Float = 0
                for k in 0..<inFeatures { maxAbs = max(maxAbs, abs(row[k])) }
                let scale = maxAbs > 0 ? maxAbs / Int8Weight.levels : 1
                out.value[n] = scale
                let inv = 1 / scale
                let q = values + n * inFeatures
                for k in 0..<inFeatures { q[k] = Int8((row[k] * inv).rounded(.toNearestOrEven)) }
            }
        }
        self.scales = scales
    }

    deinit { values.deallocate() }
}

/// `output[rows, outFeatures] = activation(input · dequant(weight)ᵀ + bias)`, or `output += input · … + bias`
/// with `accumulate`; `input` is quantized to uint8 for the product.
public func linearInt8(
    _ input: UnsafePointer<Float>, rows: Int, weight: Int8Weight, bias: UnsafePointer<Float>?,
    activation: Activation = .none, accumulate: Bool = false, output: UnsafeMutablePointer<Float>
) throws {
    let k = weight.inFeatures, n = weight.outFeatures
    guard rows > 0 else { return }
    let a = UnsafeMutablePointer<UInt8>.allocate(capacity: rows * k)
    defer { a.deallocate() }
    let c = UnsafeMutablePointer<Int32>.allocate(capacity: rows * n)
    defer { c.deallocate() }
    var zeroPoint: Int32 = 0
    let inputScale = zs_quantize_u8(input, rows, k, k, a, &zeroPoint)
    try gemmU8S8S32(m: rows, n: n, k: k, a: a, lda: k, aOffset: UInt8(zeroPoint),
                    b: weight.values, ldb: k, c: c, ldc: n)
    weight.scales.withUnsafeBufferPointer { scales in
        zs_dequantize_rows(c, rows, n, inputScale, scales.baseAddress!, bias, accumulate ? 1 : 0, output, n)
    }
    if activation != .none { addBiasActivation(output, rows: rows, cols: n, bias: nil, activation: activation) }
}
