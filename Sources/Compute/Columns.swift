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
    try weightTimesColumns(weight, rows: outFeatures, inner: inFeatures, input, cols: cols,
                           accumulate: accumulate, output: output)
    rowBiasActivation(output, rows: outFeatures, cols: cols, bias: bias, activation: activation)
}

/// `output[rows, cols] (+)= weight[rows, inner] · input[inner, cols]`, all row-major and dense, through oneDNN's
/// sgemm; with `inputByColumn`, `input` is stored transposed, `[cols, inner]` (one row per column, e.g. image
/// patches).
///
/// oneDNN's sgemm takes these columns 16 at a time, and a last block of only 1-4 columns costs about as much as a
/// full one (its AVX-512 kernels; measured with oneDNN 2.6 on 2 cores: 12 layers of ViT-B/32's products take
/// 60 ms at 50 columns, 40 ms at 48). Such leftover columns are computed apart, as one transposed product
/// (`inputᵀ · weightᵀ`, a few rows), which brings the 50 columns to 49 ms and the text tower's 35 to 17 (from 19),
/// and ViT-B/32's patch embedding (49 patches) from 1.9 to 1.5 ms. With AVX2 kernels the split measured neutral to
/// 6% faster; past 128 columns (ViT-L/14's 257) it no longer pays. Each column's values are the same dot products
/// either way, up to float rounding.
/// - Throws: `ComputeError.gemmFailed` when oneDNN rejects a product.
public func weightTimesColumns(
    _ weight: UnsafePointer<Float>, rows: Int, inner: Int, _ input: UnsafePointer<Float>, cols: Int,
    inputByColumn: Bool = false, accumulate: Bool = false, output: UnsafeMutablePointer<Float>
) throws {
    let tail = cols % 16
    let head = cols - tail
    let ldInput = inputByColumn ? inner : cols
    guard head > 0, head <= 128, (1...4).contains(tail) else {
        try sgemm(transA: false, transB: inputByColumn, m: rows, n: cols, k: inner, a: weight, lda: inner,
                  b: input, ldb: ldInput, beta: accumulate ? 1 : 0, c: output, ldc: cols)
        return
    }
    try sgemm(transA: false, transB: inputByColumn, m: rows, n: head, k: inner, a: weight, lda: inner,
              b: input, ldb: ldInput, beta: accumulate ? 1 : 0, c: output, ldc: cols)
    // The leftover columns as rows: inputᵀ [tail, inner] · weightᵀ -> [tail, rows].
    let outputT = UnsafeMutablePointer<Float>.allocate(capacity: tail * rows)
    defer { outputT.deallocate() }
    if inputByColumn {
        try sgemm(transA: false, transB: true, m: tail, n: rows, k: inner, a: input + head * inner, lda: inner,
                  b: weight, ldb: inner, c: outputT, ldc: rows)
    } else {
        let inputT = UnsafeMutablePointer<Float>.allocate(capacity: tail * inner)
        defer { inputT.deallocate() }
        zs_transpose(input + head, inner, tail, cols, inputT)
        try sgemm(transA: false, transB: true, m: tail, n: rows, k: inner, a: inputT, lda: inner,
                  b: weight, ldb: inner, c: outputT, ldc: rows)
    }
    for r in 0..<rows {
        let dst = output + r * cols + head
        for c in 0..<tail { dst[c] = accumulate ? dst[c] + outputT[c * rows + r] : outputT[c * rows + r] }
    }
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
