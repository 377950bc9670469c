#ifndef CKERNELS_H
#define CKERNELS_H
// Element-wise and attention kernels of the compute layer, in C so that AVX2/FMA code paths can be selected at
// run time (function-level target attributes, no special build flags). Every function has a portable fallback.
// Matrices are row-major float32; `ld` arguments are row strides in elements.
#include <stddef.h>
#include <stdint.h>

enum zs_activation { ZS_ACT_NONE = 0, ZS_ACT_QUICK_GELU = 1, ZS_ACT_GELU = 2, ZS_ACT_GELU_TANH = 3, ZS_ACT_RELU = 4 };

/// x[r, c] = act(x[r, c] + bias[c]) for rows x cols (bias may be NULL).
void zs_bias_activation(float *x, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, const float *bias, int activation);

/// y = (x - mean) / sqrt(var + eps) * weight + bias per row of `dim` values (biased variance); x may equal y.
void zs_layer_norm(const float *x, ptrdiff_t ldx, ptrdiff_t rows, ptrdiff_t dim, const float *weight,
                   const float *bias, float eps, float *y, ptrdiff_t ldy);

/// In-place softmax over n values (max-subtracted; -inf entries get 0; a row with no finite entry becomes 0).
void zs_softmax(float *row, ptrdiff_t n);

/// Scaled dot-product attention of one head.
/// Queries: nq rows of q (stride ldq) at sequence positions q_start ..< q_start + nq.
/// Keys/values: nk rows of k and v (stride ldkv) at positions 0 ..< nk. With `causal`, the query at position p
/// sees keys 0...p. `scores` is workspace of nk floats. out: nq rows of head_dim (stride ldo).
void zs_attention_head(const float *q, ptrdiff_t ldq, ptrdiff_t nq, ptrdiff_t q_start,
                       const float *k, const float *v, ptrdiff_t ldkv, ptrdiff_t nk, ptrdiff_t head_dim,
                       float scale, int causal, float *scores, float *out, ptrdiff_t ldo);

/// Dynamic asymmetric quantization of rows x cols floats to uint8: q = round(x / scale) + zero_point, with one
/// (scale, zero_point) for the whole matrix from its min and max (min <= 0 <= max), as ONNX Runtime's
/// DynamicQuantizeLinear. Returns scale; writes zero_point.
float zs_quantize_u8(const float *x, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, uint8_t *q, int32_t *zero_point);

/// out[r, c] (=|+=) a_scale * w_scale[c] * acc[r, c] + bias[c] (bias may be NULL; accumulate adds to out).
void zs_dequantize_rows(const int32_t *acc, ptrdiff_t rows, ptrdiff_t cols, float a_scale, const float *w_scale,
                        const float *bias, int accumulate, float *out, ptrdiff_t ldo);

/// out[m, n] (=|+=) act(t[n, m] + bias[n]) for m < rows, n < cols: writes the transpose of a `[cols, rows]`
/// product back in row-major order, with the bias and activation fused (accumulate: add, activation must be none).
void zs_transpose_bias_activation(const float *t, ptrdiff_t rows, ptrdiff_t cols, const float *bias, int activation,
                                  int accumulate, float *out, ptrdiff_t ldo);

/// 1 when the AVX2+FMA paths are in use.
int zs_kernels_use_avx2(void);

#endif
