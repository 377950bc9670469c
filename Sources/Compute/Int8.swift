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
                out.value[n] = zs_quantize_weight_row(weight + n * inFeatures, inFeatures, Int8Weight.levels,
                                                      values + n * inFeatures)
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
    let (inputScale, zeroPoint) = quantizeActivations(input, rows: rows, cols: k, into: a)
    let threads = min(ComputeThreads.count, rows)
    let buffers = UncheckedSendable((a, c, output))
    try gemmU8S8S32(m: rows, n: n, k: k, a: a, lda: k, aOffset: UInt8(zeroPoint),
                    b: weight.values, ldb: k, c: c, ldc: n)
    weight.scales.withUnsafeBufferPointer { scales in
        let scales = UncheckedSendable(scales.baseAddress!)
        ComputeThreads.parallelFor(threads) { t, _ in
            let r0 = rows * t / threads, r1 = rows * (t + 1) / threads
            let (_, c, output) = buffers.value
            zs_dequantize_rows(c + r0 * n, r1 - r0, n, inputScale, scales.value, bias, accumulate ? 1 : 0,
                               output + r0 * n, n)
        }
    }
    if activation != .none { addBiasActivation(output, rows: rows, cols: n, bias: nil, activation: activation) }
}

/// Quantizes `input` `[rows, cols]` to uint8 in `into` (same layout) with one scale and zero point for the whole
/// matrix (min <= 0 <= max), as ONNX Runtime's DynamicQuantizeLinear. Returns (scale, zero point).
func quantizeActivations(_ input: UnsafePointer<Float>, rows: Int, cols: Int,
                         into a: UnsafeMutablePointer<UInt8>) -> (Float, Int32) {
    let threads = min(ComputeThreads.count, rows)
    var ranges = [(lo: Float, hi: Float)](repeating: (0, 0), count: threads)
    ranges.withUnsafeMutableBufferPointer { ranges in
        let out = UncheckedSendable(ranges.baseAddress!)
        ComputeThreads.parallelFor(threads) { t, _ in
            let r0 = rows * t / threads, r1 = rows * (t + 1) / threads
            var lo: Float = 0, hi: Float = 0
            zs_min_max(input + r0 * cols, r1 - r0, cols, cols, &lo, &hi)
            out.value[t] = (lo, hi)
        }
    }
    let lo = ranges.map(\.lo).min() ?? 0, hi = ranges.map(\.hi).max() ?? 0
    var scale = (hi - lo) / 255
    if scale == 0 { scale = 1 }
    // Activations that reach -infinity (a checkpoint's weights can be anything) give NaN here: zero point 0, and
    // the products NaN, as float32 gives them, instead of a trap converting NaN.
    let zero = (-lo / scale).rounded(.toNearestOrEven)
    let zeroPoint = zero.isNaN ? 0 : Int32(min(max(zero, 0), 255))
    let target = UncheckedSendable(a)
    ComputeThreads.parallelFor(threads) { t, _ in
        let r0 = rows * t / threads, r1 = rows * (t + 1) / threads
        zs_quantize_u8_rows(input + r0 * cols, r1 - r0, cols, cols, 1 / scale, zeroPoint, target.value + r0 * cols)
    }
    return (scale, zeroPoint)
}

/// The int8 Linear in column layout: `output[outFeatures, cols]` from `input` `[inFeatures, cols]`; the uint8
/// input is used transposed by the GEMM, and the int32 result is rescaled and transposed back in one pass.
public func linearInt8Columns(
    _ input: UnsafePointer<Float>, cols: Int, weight: Int8Weight, bias: UnsafePointer<Float>?,
    activation: Activation = .none, accumulate: Bool = false, output: UnsafeMutablePointer<Float>
) throws {
    let k = weight.inFeatures, n = weight.outFeatures
    guard cols > 0 else { return }
    let a = UnsafeMutablePointer<UInt8>.allocate(capacity: cols * k)
    defer { a.deallocate() }
    let c = UnsafeMutablePointer<Int32>.allocate(capacity: cols * n)
    defer { c.deallocate() }
    let (inputScale, zeroPoint) = quantizeActivations(input, rows: k, cols: cols, into: a)
    try gemmU8S8S32(transA: true, m: cols, n: n, k: k, a: a, lda: cols, aOffset: UInt8(zeroPoint),
                    b: weight.values, ldb: k, c: c, ldc: n)
    let chunks = min(ComputeThreads.count, n)
    let buffers = UncheckedSendable((c, output))
    weight.scales.withUnsafeBufferPointer { scales in
        let scales = UncheckedSendable(scales.baseAddress!)
        ComputeThreads.parallelFor(chunks) { t, _ in
            let n0 = n * t / chunks, n1 = n * (t + 1) / chunks
            zs_dequantize_transposed(buffers.value.0, cols, n, n0, n1, inputScale, scales.value, bias,
                                     accumulate ? 1 : 0, buffers.value.1, cols)
        }
    }
    if activation != .none { rowBiasActivation(output, rows: n, cols: cols, bias: nil, activation: activation) }
}
