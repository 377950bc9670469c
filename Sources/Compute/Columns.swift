// Column ("feature-major") layout: `cols` tokens with `rows` features stored as `[rows, cols]`, one feature per
// row. A Linear layer is then outputᵀ = weight · inputᵀ, the operand layout oneDNN's sgemm runs fastest on these
// shapes (measured on 2 AVX2 cores: 146 against 80 GFLOP/s for 50 tokens, 215 against 188 for 800), and one
// layer's output is the next layer's input with no transposition.
import CKernels
import Foundation

/// `output[outFeatures, cols] = activation(weight · input + bias)` for `input` `[inFeatures, cols]` (a PyTorch
/// `nn.Linear` in column layout; `weight` `[outFeatures, inFeatures]` as stored). With `accumulate`, the result is
/// added to `output` (residual connection; the activation must then be `.none`).
public func linearColumns(
    _ input: UnsafePointer<Float>, cols: Int, inFeatures: Int,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int,
    activation: Activation = .none, accumulate: Bool = false,
    output: UnsafeMutablePointer<Float>
) throws {
    try sgemm(transA: false, transB: false, m: outFeatures, n: cols, k: inFeatures,
              a: weight, lda: inFeatures, b: input, ldb: cols,
              beta: accumulate ? 1 : 0, c: output, ldc: cols)
    rowBiasActivation(output, rows: outFeatures, cols: cols, bias: bias, activation: activation)
}

/// `y[r, c] = activation(y[r, c] + bias[r])` over `[rows, cols]`, split over the compute threads.
public func rowBiasActivation(
    _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>?, activation: Activation
) {
    if bias == nil && activation == .none { return }
    let chunks = min(ComputeThreads.count, rows)
    let code = activation.kernelCode
    let target = UncheckedSendable(y)
    ComputeThreads.parallelFor(chunks) { t, _ in
        let r0 = rows * t / chunks, r1 = rows * (t + 1) / chunks
        zs_row_bias_activation(target.value + r0 * cols, r1 - r0, cols, cols, bias.map { $0 + r0 }, code)
    }
}

/// `nn.LayerNorm` over the features of each column of `input` `[dim, cols]` (biased variance); `input` may be
/// `output`.
public func layerNormColumns(
    _ input: UnsafePointer<Float>, dim: Int, cols: Int,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float,
    output: UnsafeMutablePointer<Float>
) {
    guard dim > 0, cols > 0 else { return }
    let blocks = (cols + 7) / 8
    let chunks = min(ComputeThreads.count, blocks)
    let target = UncheckedSendable(output)
    ComputeThreads.parallelFor(chunks) { t, _ in
        let c0 = min(cols, 8 * (blocks * t / chunks)), c1 = min(cols, 8 * (blocks * (t + 1) / chunks))
        zs_layer_norm_cols(input, cols, dim, c0, c1, weight, bias, eps, target.value, cols)
    }
}

/// Transposes `input` `[rows, cols]` into `output` `[cols, rows]`.
public func transpose(_ input: UnsafePointer<Float>, rows: Int, cols: Int, output: UnsafeMutablePointer<Float>) {
    zs_transpose(input, rows, cols, cols, output)
}

/// Floats of scratch `attentionHeadColumns` needs for `queries` queries over `keys` keys.
public func attentionHeadColumnsScratch(queries: Int, keys: Int, headDim: Int) -> Int {
    zs_attention_head_cols_scratch(queries, keys, headDim)
}

/// One attention head in column layout (see `zs_attention_head_cols`): queries are columns
/// `qCol ..< qCol + nq` of `q` (`headDim` rows, stride `ldq`) at positions `qStart...`; keys and values are the
/// columns of `keyRanges` in order (positions `0...`); the result goes to the same columns of `output`.
/// `scratch` holds `attentionHeadColumnsScratch(queries: nq, keys: nk, headDim:)` floats.
@inlinable
public func attentionHeadColumns(
    q: UnsafePointer<Float>, ldq: Int, qCol: Int, nq: Int, qStart: Int,
    k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldkv: Int,
    keyRanges: (Range<Int>, Range<Int>), headDim: Int, scale: Float, causal: Bool,
    scratch: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, ldo: Int
) {
    zs_attention_head_cols(q, ldq, qCol, nq, qStart, k, v, ldkv,
                           keyRanges.0.lowerBound, keyRanges.0.count, keyRanges.1.lowerBound, keyRanges.1.count,
                           headDim, scale, causal ? 1 : 0, scratch, output, ldo)
}
