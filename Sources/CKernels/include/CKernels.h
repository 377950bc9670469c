#ifndef CKERNELS_H
#define CKERNELS_H
// Element-wise and attention kernels of the compute layer, in C so that AVX-512 and AVX2/FMA code paths can be
// selected at run time (function-level target attributes, no special build flags). Every function has a portable fallback.
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


/// Smallest and largest of rows x cols values (row stride ld), merged into *lo and *hi.
void zs_min_max(const float *x, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float *lo, float *hi);

/// q[r, c] = clamp(round_half_even(x[r, c] * inv_scale) + zero_point, 0, 255) (q has row stride cols).
void zs_quantize_u8_rows(const float *x, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float inv_scale,
                         int32_t zero_point, uint8_t *q);

/// Per-row symmetric int8 quantization of a weight row: q[k] = round_half_even(w[k] / scale) with
/// scale = max|w| / levels (1 when the row is zero). Returns scale.
float zs_quantize_weight_row(const float *w, ptrdiff_t k, float levels, int8_t *q);

/// out[r, c] (=|+=) a_scale * w_scale[c] * acc[r, c] + bias[c] (bias may be NULL; accumulate adds to out).
void zs_dequantize_rows(const int32_t *acc, ptrdiff_t rows, ptrdiff_t cols, float a_scale, const float *w_scale,
                        const float *bias, int accumulate, float *out, ptrdiff_t ldo);

/// out[c, r] = x[r, c] for a rows x cols matrix (row stride ldx); out has row stride `rows`.
void zs_transpose(const float *x, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ldx, float *out);

// Feature-major ("column") layout: a matrix of `cols` tokens with `rows` features is stored [rows, cols], one
// feature per row, so that a Linear layer is outputᵀ = weight · inputᵀ with no transposition.

/// Layer norm of each column of x [dim, cols] (row stride ldx) over its `dim` values, for the columns
/// col_begin ..< col_end; y may equal x.
void zs_layer_norm_cols(const float *x, ptrdiff_t ldx, ptrdiff_t dim, ptrdiff_t col_begin, ptrdiff_t col_end,
                        const float *weight, const float *bias, float eps, float *y, ptrdiff_t ldy);

/// y[r, c] = act(y[r, c] + bias[r]) for rows x cols (row stride ld; bias may be NULL).
void zs_row_bias_activation(float *y, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, const float *bias, int activation);

/// One attention head in column layout. qT: head_dim rows (stride ldq) whose columns q_col ..< q_col + nq are the
/// queries, at sequence positions q_start ... . kT, vT: head_dim rows (stride ldkv); the keys are the columns
/// k_col0 ..< k_col0 + nk0 followed by k_col1 ..< k_col1 + nk1 (positions 0 ..< nk0 + nk1). Output: the columns
/// q_col ..< q_col + nq of outT (head_dim rows, stride ldo). scratch: zs_attention_head_cols_scratch(nq, nk0 + nk1,
/// head_dim) floats.
/// Floats of scratch zs_attention_head_cols needs for nq queries and nk keys.
ptrdiff_t zs_attention_head_cols_scratch(ptrdiff_t nq, ptrdiff_t nk, ptrdiff_t head_dim);

void zs_attention_head_cols(const float *qT, ptrdiff_t ldq, ptrdiff_t q_col, ptrdiff_t nq, ptrdiff_t q_start,
                            const float *kT, const float *vT, ptrdiff_t ldkv, ptrdiff_t k_col0, ptrdiff_t nk0,
                            ptrdiff_t k_col1, ptrdiff_t nk1, ptrdiff_t head_dim, float scale, int causal,
                            float *scratch, float *outT, ptrdiff_t ldo);

/// out[c, r] (=|+=) a_scale * w_scale[c] * acc[r, c] + bias[c] for c in col_begin ..< col_end, r < rows:
/// rescales an int32 product [rows, cols] into the transposed float layout [cols, rows] (row stride ldo).
void zs_dequantize_transposed(const int32_t *acc, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t col_begin,
                              ptrdiff_t col_end, float a_scale, const float *w_scale, const float *bias,
                              int accumulate, float *out, ptrdiff_t ldo);

/// Runs `rounds` steps of independent chains of vector multiply-adds on the widest float32 FMA instructions this
/// CPU has (AVX-512F, else AVX2+FMA, NEON on arm64, else scalar) and returns the floating-point operations done
/// (2 per multiply-add per lane): a probe of one core's arithmetic peak. Chain i starts at seed + i and steps
/// a = a * 0.99999 + 1e-6; *sink receives the sum of the chains' last values (lane 0), so no work is optimised
/// away, and *chains their number (12 with AVX2's 16 registers, 16 with 32 registers, 12 scalar).
double zs_fma_probe(long rounds, float seed, float *sink, int *chains);

/// out[i] = the i-th IEEE half-precision value stored little-endian at h (2 bytes each, any alignment) as float32,
/// exactly (subnormals and infinities included; NaNs keep sign and payload and are made quiet, as F16C does), for i < n; F16C instructions where the CPU has them.
void zs_f16_to_f32(const void *h, float *out, ptrdiff_t n);

/// out[i] = the i-th bfloat16 value stored little-endian at b (any alignment) as float32: its 16 bits become the
/// high half.
void zs_bf16_to_f32(const void *b, float *out, ptrdiff_t n);

/// Instruction sets of the kernels' code paths.
enum zs_isa { ZS_ISA_PORTABLE = 0, ZS_ISA_AVX2 = 1, ZS_ISA_AVX512 = 2 };

/// The code path in use: the widest this CPU has (AVX-512F; AVX2 with FMA; portable C), lowered by the environment
/// variable ZEROSHOT_KERNELS_ISA=avx2|portable (any case; read once) and by zs_kernels_limit_isa.
int zs_kernels_isa(void);

/// Uses no wider path than `isa` from now on (ZS_ISA_AVX512 lifts the limit); returns the path now in use. For
/// comparing the paths on one machine; not to be called while kernels run on other threads.
int zs_kernels_limit_isa(int isa);

/// 1 when the AVX2+FMA (or AVX-512) paths are in use.
int zs_kernels_use_avx2(void);

#endif
