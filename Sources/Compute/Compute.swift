// Compute: the float32 building blocks of a transformer encoder. Matrices are row-major and passed as raw
// pointers with explicit sizes; callers own (and preallocate) every buffer, so nothing here allocates per token.
import CKernels
import Foundation

/// Elementwise activation applied after a bias add (`hidden_act` in Hugging Face configs).
public enum Activation: String, Sendable, CaseIterable {
    /// Identity.
    case none
    /// `x · sigmoid(1.702 · x)`, transformers' `quick_gelu` (OpenAI CLIP).
    case quickGELU = "quick_gelu"
    /// `0.5 · x · (1 + erf(x / √2))`, the exact GELU of `torch.nn.functional.gelu` (transformers' `gelu`).
    case gelu = "gelu"
    /// `0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))`, transformers' `gelu_new` / `gelu_pytorch_tanh`.
    case geluTanh = "gelu_pytorch_tanh"
    /// `max(x, 0)`.
    case relu = "relu"

    /// Maps a Hugging Face `hidden_act` name (`quick_gelu`, `gelu`, `gelu_new`, `gelu_pytorch_tanh`, `relu`).
    public init?(huggingFaceName name: String) {
        switch name {
        case "quick_gelu": self = .quickGELU
        case "gelu": self = .gelu
        case "gelu_new", "gelu_pytorch_tanh": self = .geluTanh
        case "relu": self = .relu
        default: return nil
        }
    }

    /// The activation's code in the C kernels.
    @usableFromInline
    var kernelCode: Int32 {
        switch self {
        case .none: return Int32(ZS_ACT_NONE.rawValue)
        case .quickGELU: return Int32(ZS_ACT_QUICK_GELU.rawValue)
        case .gelu: return Int32(ZS_ACT_GELU.rawValue)
        case .geluTanh: return Int32(ZS_ACT_GELU_TANH.rawValue)
        case .relu: return Int32(ZS_ACT_RELU.rawValue)
        }
    }

    @inlinable
    public func apply(_ x: Float) -> Float {
        switch self {
        case .none: return x
        case .quickGELU: return x * (1 / (1 + Foundation.exp(-1.702 * x)))
        case .gelu: return x * 0.5 * (1 + Foundation.erf(x * Float(0.70710678118654752440)))
        case .geluTanh:
            let inner = Float(0.79788456080286535588) * (x + 0.044715 * x * x * x)
            return 0.5 * x * (1 + Foundation.tanh(inner))
        case .relu: return max(x, 0)
        }
    }
}

/// `out[r, c] = activation(out[r, c] + bias[c])` for `rows × cols` values (row stride `ld`), fused in one pass
/// (AVX2/FMA kernels where the CPU has them; `exp` and `erf` by polynomial, within a few float ulps).
@inlinable
public func addBiasActivation(
    _ out: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int? = nil,
    bias: UnsafePointer<Float>?, activation: Activation
) {
    if bias == nil && activation == .none { return }
    zs_bias_activation(out, rows, cols, ld ?? cols, bias, activation.kernelCode)
}

/// A PyTorch `nn.Linear` in row layout (one row per token; the encoders use `linearColumns`):
/// `output[rows, outFeatures] = activation(input[rows, inFeatures] · weightᵀ + bias)`,
/// with `weight` stored `[outFeatures, inFeatures]`. With `accumulate`, the product is added to `output`
/// (residual connection: `output += input · weightᵀ + bias`; the activation must then be `.none`).
public func linear(
    _ input: UnsafePointer<Float>, rows: Int, inFeatures: Int,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int,
    activation: Activation = .none, accumulate: Bool = false,
    output: UnsafeMutablePointer<Float>
) throws {
    try sgemm(transA: false, transB: true, m: rows, n: outFeatures, k: inFeatures,
              a: input, lda: inFeatures, b: weight, ldb: inFeatures,
              beta: accumulate ? 1 : 0, c: output, ldc: outFeatures)
    addBiasActivation(output, rows: rows, cols: outFeatures, bias: bias, activation: activation)
}

/// `nn.LayerNorm` over the last dimension: each of `rows` rows of `dim` values is normalised with its biased
/// variance, `y = (x - mean) / √(var + eps) · weight + bias`. `input` and `output` may be the same buffer.
@inlinable
public func layerNorm(
    _ input: UnsafePointer<Float>, rows: Int, dim: Int,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float,
    output: UnsafeMutablePointer<Float>
) {
    guard dim > 0, rows > 0 else { return }
    zs_layer_norm(input, dim, rows, dim, weight, bias, eps, output, dim)
}

/// Softmax over the first `count` values of a row, in place (max-subtracted). Entries equal to `-infinity`
/// get probability 0; a row with no finite entry becomes all zeros.
@inlinable
public func softmaxInPlace(_ row: UnsafeMutablePointer<Float>, count: Int) {
    guard count > 0 else { return }
    zs_softmax(row, count)
}

/// Softmax over each row of a `[rows, cols]` matrix, in place.
@inlinable
public func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
    for r in 0..<rows { softmaxInPlace(x + r * cols, count: cols) }
}

/// Scaled dot-product attention of one head over a key/value block:
/// `nq` query rows at sequence positions `qStart ..< qStart + nq` against `nk` key/value rows at positions
/// `0 ..< nk` (row strides `ldq`, `ldkv`, `ldo`; the head's `headDim` columns start at each pointer).
/// With `causal`, the query at position p sees keys `0...p`. `scores` is workspace of `nk` floats.
@inlinable
public func attentionHead(
    q: UnsafePointer<Float>, ldq: Int, nq: Int, qStart: Int,
    k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldkv: Int, nk: Int, headDim: Int,
    scale: Float, causal: Bool, scores: UnsafeMutablePointer<Float>,
    output: UnsafeMutablePointer<Float>, ldo: Int
) {
    zs_attention_head(q, ldq, nq, qStart, k, v, ldkv, nk, headDim, scale, causal ? 1 : 0, scores, output, ldo)
}

/// Multi-head scaled dot-product attention for one sequence.
///
/// `q`, `k`, `v` hold `[seqLength, numHeads · headDim]` (row stride `ld`, heads side by side as after a
/// Linear projection); `output` receives `[seqLength, numHeads · headDim]` (row stride `ldOutput`).
/// Scores are `scale · q·kᵀ` (`scale` defaults to `1/√headDim`); with `causal`, query `i` sees keys `≤ i`;
/// `keyPaddingMask[j] == false` hides key `j`. A query that sees no key gets a zero output.
/// `scores` is caller-provided workspace of at least `seqLength²` floats.
public func attention(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int,
    seqLength: Int, numHeads: Int, headDim: Int, scale: Float? = nil,
    causal: Bool = false, keyPaddingMask: UnsafePointer<Bool>? = nil,
    scores: UnsafeMutablePointer<Float>,
    output: UnsafeMutablePointer<Float>, ldOutput: Int
) throws {
    let n = seqLength
    guard n > 0, numHeads > 0, headDim > 0 else { return }
    let scale = scale ?? 1 / Float(headDim).squareRoot()
    guard let keyPaddingMask else {
        for h in 0..<numHeads {
            let offset = h * headDim
            attentionHead(q: q + offset, ldq: ld, nq: n, qStart: 0, k: k + offset, v: v + offset, ldkv: ld, nk: n,
                          headDim: headDim, scale: scale, causal: causal, scores: scores,
                          output: output + offset, ldo: ldOutput)
        }
        return
    }
    for h in 0..<numHeads {
        let offset = h * headDim
        try sgemm(transA: false, transB: true, m: n, n: n, k: headDim, alpha: scale,
                  a: q + offset, lda: ld, b: k + offset, ldb: ld, beta: 0, c: scores, ldc: n)
        for i in 0..<n {
            let row = scores + i * n
            if causal, i + 1 < n {
                for j in (i + 1)..<n { row[j] = -.infinity }
            }
            for j in 0..<n where !keyPaddingMask[j] { row[j] = -.infinity }
            softmaxInPlace(row, count: n)
        }
        try sgemm(transA: false, transB: false, m: n, n: headDim, k: n,
                  a: scores, lda: n, b: v + offset, ldb: ld, beta: 0, c: output + offset, ldc: ldOutput)
    }
}

/// Scales `x` to unit Euclidean norm (`x / ‖x‖`, as transformers' `_get_vector_norm` division); a zero
/// vector stays zero.
public func l2Normalized(_ x: [Float]) -> [Float] {
    var sum: Double = 0
    for v in x { sum += Double(v) * Double(v) }
    let norm = Float(sum.squareRoot())
    guard norm > 0 else { return x }
    return x.map { $0 / norm }
}

/// Dot product of two equal-length vectors (accumulated in Double).
public func dot(_ a: [Float], _ b: [Float]) -> Float {
    var sum: Double = 0
    for i in 0..<min(a.count, b.count) { sum += Double(a[i]) * Double(b[i]) }
    return Float(sum)
}
