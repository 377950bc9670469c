#include "CKernels.h"

#include <float.h>
#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ZS_X86 1
#define AVX2 __attribute__((target("avx2,fma")))
#else
#define ZS_X86 0
#endif

#include <stdlib.h>
#include <strings.h>

// The instruction set the kernels use: the widest this CPU has (AVX-512F, AVX2 with FMA, or portable C), lowered
// by ZEROSHOT_KERNELS_ISA=avx2|portable or zs_kernels_limit_isa. -1 until first asked.
static int zs_isa_state = -1;
static int zs_isa_limit = ZS_ISA_AVX512;

static int zs_isa_detect(void) {
#if ZS_X86
    __builtin_cpu_init();
    int isa = ZS_ISA_PORTABLE;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isa = ZS_ISA_AVX2;
    if (isa == ZS_ISA_AVX2 && __builtin_cpu_supports("avx512f")) isa = ZS_ISA_AVX512;
    const char *env = getenv("ZEROSHOT_KERNELS_ISA");
    if (env && strcasecmp(env, "avx2") == 0 && isa > ZS_ISA_AVX2) isa = ZS_ISA_AVX2;
    if (env && strcasecmp(env, "portable") == 0) isa = ZS_ISA_PORTABLE;
    return isa;
#else
    return ZS_ISA_PORTABLE;
#endif
}

int zs_kernels_isa(void) {
    if (zs_isa_state < 0) zs_isa_state = zs_isa_detect();
    return zs_isa_state < zs_isa_limit ? zs_isa_state : zs_isa_limit;
}

int zs_kernels_limit_isa(int isa) {
    zs_isa_limit = isa;
    return zs_kernels_isa();
}

int zs_kernels_use_avx2(void) { return zs_kernels_isa() >= ZS_ISA_AVX2; }

static inline int use_avx512(void) { return zs_kernels_isa() >= ZS_ISA_AVX512; }

// ---------------------------------------------------------------------------------------------------------
// Scalar reference versions.

static inline float act_scalar(float x, int activation) {
    switch (activation) {
    case ZS_ACT_QUICK_GELU: return x / (1.0f + expf(-1.702f * x));
    case ZS_ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752440f));
    case ZS_ACT_GELU_TANH: return 0.5f * x * (1.0f + tanhf(0.79788456080286535588f * (x + 0.044715f * x * x * x)));
    case ZS_ACT_RELU: return x > 0 ? x : 0;
    default: return x;
    }
}

static void bias_activation_scalar(float *x, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, const float *bias,
                                   int activation) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *row = x + r * ld;
        for (ptrdiff_t c = 0; c < cols; c++) row[c] = act_scalar(row[c] + (bias ? bias[c] : 0.0f), activation);
    }
}

static void softmax_scalar(float *row, ptrdiff_t n) {
    float m = -INFINITY;
    for (ptrdiff_t i = 0; i < n; i++) m = row[i] > m ? row[i] : m;
    if (m == -INFINITY) {
        for (ptrdiff_t i = 0; i < n; i++) row[i] = 0;
        return;
    }
    float sum = 0;
    for (ptrdiff_t i = 0; i < n; i++) {
        row[i] = expf(row[i] - m);
        sum += row[i];
    }
    float inv = 1.0f / sum;
    for (ptrdiff_t i = 0; i < n; i++) row[i] *= inv;
}

static void layer_norm_scalar(const float *x, ptrdiff_t ldx, ptrdiff_t rows, ptrdiff_t dim, const float *w,
                              const float *b, float eps, float *y, ptrdiff_t ldy) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float *yr = y + r * ldy;
        double sum = 0;
        for (ptrdiff_t i = 0; i < dim; i++) sum += xr[i];
        float mean = (float)(sum / (double)dim);
        double sq = 0;
        for (ptrdiff_t i = 0; i < dim; i++) {
            double d = (double)xr[i] - (double)mean;
            sq += d * d;
        }
        float rstd = (float)(1.0 / sqrt(sq / (double)dim + (double)eps));
        for (ptrdiff_t i = 0; i < dim; i++) yr[i] = (xr[i] - mean) * rstd * w[i] + b[i];
    }
}

static void attention_scalar(const float *q, ptrdiff_t ldq, ptrdiff_t nq, ptrdiff_t q_start, const float *k,
                             const float *v, ptrdiff_t ldkv, ptrdiff_t nk, ptrdiff_t hd, float scale, int causal,
                             float *scores, float *out, ptrdiff_t ldo) {
    for (ptrdiff_t i = 0; i < nq; i++) {
        const float *qi = q + i * ldq;
        ptrdiff_t visible = causal ? q_start + i + 1 : nk;
        if (visible > nk) visible = nk;
        for (ptrdiff_t j = 0; j < visible; j++) {
            const float *kj = k + j * ldkv;
            float s = 0;
            for (ptrdiff_t d = 0; d < hd; d++) s += qi[d] * kj[d];
            scores[j] = s * scale;
        }
        softmax_scalar(scores, visible);
        float *oi = out + i * ldo;
        for (ptrdiff_t d = 0; d < hd; d++) oi[d] = 0;
        for (ptrdiff_t j = 0; j < visible; j++) {
            const float *vj = v + j * ldkv;
            float p = scores[j];
            for (ptrdiff_t d = 0; d < hd; d++) oi[d] += p * vj[d];
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// AVX2 + FMA versions.

#if ZS_X86
// exp(x) for 8 floats: range reduction x = n ln2 + r, |r| <= ln2/2, degree-6 polynomial (Cephes expf
// coefficients, about 1 ulp), scaled by 2^n through the exponent bits. Inputs below -87.3 give 0; inputs over
// 88.722832 (the largest float whose expf is finite) give +inf, as expf: QuickGELU of a large negative input is
// then -0, as in the portable path and torch, not a finite value.
AVX2 static inline __m256 exp8(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-87.3365478515625f);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    __m256 over = _mm256_cmp_ps(x, _mm256_set1_ps(88.72283172607421875f), _CMP_GT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500E-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i n = _mm256_cvtps_epi32(fx);
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23);
    __m256 result = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
    return _mm256_blendv_ps(_mm256_andnot_ps(under, result), _mm256_set1_ps(INFINITY), over);
}

// erf(x) for 8 floats: erfc(|x|) = t exp(-x² + P(t)), t = 1/(1 + |x|/2) (fractional error < 1.2e-7 of erfc,
// Numerical Recipes' Chebyshev fit), erf = sign(x) (1 - erfc(|x|)).
AVX2 static inline __m256 erf8(__m256 x) {
    const __m256 sign_mask = _mm256_set1_ps(-0.0f);
    __m256 sign = _mm256_and_ps(x, sign_mask);
    __m256 z = _mm256_andnot_ps(sign_mask, x);
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(z, _mm256_set1_ps(0.5f), _mm256_set1_ps(1.0f)));
    __m256 p = _mm256_set1_ps(0.17087277f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.82215223f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.48851587f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.13520398f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.27886807f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.18628806f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.09678418f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.37409196f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.00002368f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.26551223f));
    __m256 e = exp8(_mm256_sub_ps(p, _mm256_mul_ps(z, z)));
    __m256 erfc = _mm256_mul_ps(t, e);
    __m256 result = _mm256_sub_ps(_mm256_set1_ps(1.0f), erfc);
    return _mm256_or_ps(result, sign);
}

AVX2 static inline __m256 act8(__m256 x, int activation) {
    switch (activation) {
    case ZS_ACT_QUICK_GELU: {
        __m256 e = exp8(_mm256_mul_ps(x, _mm256_set1_ps(-1.702f)));
        return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    }
    case ZS_ACT_GELU: {
        __m256 e = erf8(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752440f)));
        return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    }
    case ZS_ACT_GELU_TANH: {
        // 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)), u = √(2/π) (x + 0.044715 x³): tanh through the polynomial exp.
        __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
        __m256 u = _mm256_mul_ps(_mm256_set1_ps(0.79788456080286535588f), _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
        __m256 e = exp8(_mm256_mul_ps(u, _mm256_set1_ps(-2.0f)));
        return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    }
    case ZS_ACT_RELU: return _mm256_max_ps(x, _mm256_setzero_ps());
    default: return x;
    }
}

AVX2 static void bias_activation_avx2(float *x, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, const float *bias,
                                      int activation) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *row = x + r * ld;
        ptrdiff_t c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256 v = _mm256_loadu_ps(row + c);
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + c));
            _mm256_storeu_ps(row + c, act8(v, activation));
        }
        for (; c < cols; c++) row[c] = act_scalar(row[c] + (bias ? bias[c] : 0.0f), activation);
    }
}

AVX2 static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static inline float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static void softmax_avx2(float *row, ptrdiff_t n) {
    __m256 vm = _mm256_set1_ps(-INFINITY);
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(row + i));
    float m = hmax8(vm);
    for (; i < n; i++) m = row[i] > m ? row[i] : m;
    if (m == -INFINITY) {
        for (i = 0; i < n; i++) row[i] = 0;
        return;
    }
    __m256 mv = _mm256_set1_ps(m), vs = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(row + i), mv));
        _mm256_storeu_ps(row + i, e);
        vs = _mm256_add_ps(vs, e);
    }
    float sum = hsum8(vs);
    for (; i < n; i++) {
        row[i] = expf(row[i] - m);
        sum += row[i];
    }
    __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(row + i, _mm256_mul_ps(_mm256_loadu_ps(row + i), inv));
    for (; i < n; i++) row[i] *= 1.0f / sum;
}

AVX2 static void layer_norm_avx2(const float *x, ptrdiff_t ldx, ptrdiff_t rows, ptrdiff_t dim, const float *w,
                                 const float *b, float eps, float *y, ptrdiff_t ldy) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float *yr = y + r * ldy;
        __m256 acc = _mm256_setzero_ps();
        ptrdiff_t i = 0;
        for (; i + 8 <= dim; i += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(xr + i));
        double sum = hsum8(acc);
        for (; i < dim; i++) sum += xr[i];
        float mean = (float)(sum / (double)dim);
        __m256 mv = _mm256_set1_ps(mean), sq = _mm256_setzero_ps();
        for (i = 0; i + 8 <= dim; i += 8) {
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(xr + i), mv);
            sq = _mm256_fmadd_ps(d, d, sq);
        }
        double var = hsum8(sq);
        for (; i < dim; i++) {
            double d = (double)xr[i] - (double)mean;
            var += d * d;
        }
        float rstd = (float)(1.0 / sqrt(var / (double)dim + (double)eps));
        __m256 rv = _mm256_set1_ps(rstd);
        for (i = 0; i + 8 <= dim; i += 8) {
            __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + i), mv), rv);
            _mm256_storeu_ps(yr + i, _mm256_fmadd_ps(d, _mm256_loadu_ps(w + i), _mm256_loadu_ps(b + i)));
        }
        for (; i < dim; i++) yr[i] = (xr[i] - mean) * rstd * w[i] + b[i];
    }
}

AVX2 static void attention_avx2(const float *q, ptrdiff_t ldq, ptrdiff_t nq, ptrdiff_t q_start, const float *k,
                                const float *v, ptrdiff_t ldkv, ptrdiff_t nk, ptrdiff_t hd, float scale, int causal,
                                float *scores, float *out, ptrdiff_t ldo) {
    if (hd % 8 != 0 || hd > 256) {
        attention_scalar(q, ldq, nq, q_start, k, v, ldkv, nk, hd, scale, causal, scores, out, ldo);
        return;
    }
    const ptrdiff_t blocks = hd / 8;
    for (ptrdiff_t i = 0; i < nq; i++) {
        const float *qi = q + i * ldq;
        ptrdiff_t visible = causal ? q_start + i + 1 : nk;
        if (visible > nk) visible = nk;
        __m256 qv[32];
        for (ptrdiff_t b = 0; b < blocks; b++) qv[b] = _mm256_loadu_ps(qi + 8 * b);
        // Four keys at a time, their four dot products reduced together by horizontal adds.
        const __m128 sv = _mm_set1_ps(scale);
        ptrdiff_t j = 0;
        for (; j + 4 <= visible; j += 4) {
            const float *k0 = k + j * ldkv, *k1 = k0 + ldkv, *k2 = k1 + ldkv, *k3 = k2 + ldkv;
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
            for (ptrdiff_t b = 0; b < blocks; b++) {
                a0 = _mm256_fmadd_ps(qv[b], _mm256_loadu_ps(k0 + 8 * b), a0);
                a1 = _mm256_fmadd_ps(qv[b], _mm256_loadu_ps(k1 + 8 * b), a1);
                a2 = _mm256_fmadd_ps(qv[b], _mm256_loadu_ps(k2 + 8 * b), a2);
                a3 = _mm256_fmadd_ps(qv[b], _mm256_loadu_ps(k3 + 8 * b), a3);
            }
            __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
            __m128 r = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
            _mm_storeu_ps(scores + j, _mm_mul_ps(r, sv));
        }
        for (; j < visible; j++) {
            const float *kj = k + j * ldkv;
            __m256 acc = _mm256_setzero_ps();
            for (ptrdiff_t b = 0; b < blocks; b++) acc = _mm256_fmadd_ps(qv[b], _mm256_loadu_ps(kj + 8 * b), acc);
            scores[j] = hsum8(acc) * scale;
        }
        softmax_avx2(scores, visible);
        __m256 ov[32];
        for (ptrdiff_t b = 0; b < blocks; b++) ov[b] = _mm256_setzero_ps();
        for (ptrdiff_t j = 0; j < visible; j++) {
            const float *vj = v + j * ldkv;
            __m256 p = _mm256_set1_ps(scores[j]);
            for (ptrdiff_t b = 0; b < blocks; b++) ov[b] = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + 8 * b), ov[b]);
        }
        float *oi = out + i * ldo;
        for (ptrdiff_t b = 0; b < blocks; b++) _mm256_storeu_ps(oi + 8 * b, ov[b]);
    }
}
#endif

// ---------------------------------------------------------------------------------------------------------
// Dispatch.

void zs_bias_activation(float *x, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, const float *bias, int activation) {
#if ZS_X86
    if (zs_kernels_use_avx2()) { bias_activation_avx2(x, rows, cols, ld, bias, activation); return; }
#endif
    bias_activation_scalar(x, rows, cols, ld, bias, activation);
}

void zs_layer_norm(const float *x, ptrdiff_t ldx, ptrdiff_t rows, ptrdiff_t dim, const float *weight,
                   const float *bias, float eps, float *y, ptrdiff_t ldy) {
#if ZS_X86
    if (zs_kernels_use_avx2()) { layer_norm_avx2(x, ldx, rows, dim, weight, bias, eps, y, ldy); return; }
#endif
    layer_norm_scalar(x, ldx, rows, dim, weight, bias, eps, y, ldy);
}

void zs_softmax(float *row, ptrdiff_t n) {
#if ZS_X86
    if (zs_kernels_use_avx2()) { softmax_avx2(row, n); return; }
#endif
    softmax_scalar(row, n);
}

void zs_attention_head(const float *q, ptrdiff_t ldq, ptrdiff_t nq, ptrdiff_t q_start, const float *k,
                       const float *v, ptrdiff_t ldkv, ptrdiff_t nk, ptrdiff_t head_dim, float scale, int causal,
                       float *scores, float *out, ptrdiff_t ldo) {
#if ZS_X86
    if (zs_kernels_use_avx2()) {
        attention_avx2(q, ldq, nq, q_start, k, v, ldkv, nk, head_dim, scale, causal, scores, out, ldo);
        return;
    }
#endif
    attention_scalar(q, ldq, nq, q_start, k, v, ldkv, nk, head_dim, scale, causal, scores, out, ldo);
}


static void dequantize_scalar(const int32_t *acc, ptrdiff_t rows, ptrdiff_t cols, float a_scale, const float *w_scale,
                              const float *bias, int accumulate, float *out, ptrdiff_t ldo) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const int32_t *ar = acc + r * cols;
        float *o = out + r * ldo;
        for (ptrdiff_t c = 0; c < cols; c++) {
            float v = (float)ar[c] * (a_scale * w_scale[c]) + (bias ? bias[c] : 0.0f);
            o[c] = accumulate ? o[c] + v : v;
        }
    }
}


void zs_transpose(const float *x, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ldx, float *out) {
    const ptrdiff_t B = 16;
    for (ptrdiff_t r0 = 0; r0 < rows; r0 += B) {
        ptrdiff_t r1 = r0 + B < rows ? r0 + B : rows;
        for (ptrdiff_t c0 = 0; c0 < cols; c0 += B) {
            ptrdiff_t c1 = c0 + B < cols ? c0 + B : cols;
            for (ptrdiff_t r = r0; r < r1; r++)
                for (ptrdiff_t c = c0; c < c1; c++) out[c * rows + r] = x[r * ldx + c];
        }
    }
}

static void min_max_scalar(const float *x, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float *lo, float *hi) {
    float l = *lo, h = *hi;
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *xr = x + r * ld;
        for (ptrdiff_t c = 0; c < cols; c++) {
            l = xr[c] < l ? xr[c] : l;
            h = xr[c] > h ? xr[c] : h;
        }
    }
    *lo = l;
    *hi = h;
}

// One activation to uint8: rounded, shifted by the zero point, clamped to 0-255; NaN (from infinite activations)
// to 0, as converting NaN is undefined.
static inline uint8_t quantize_u8(float x, float inv_scale, int32_t zero_point) {
    float v = rintf(x * inv_scale) + (float)zero_point;
    return (uint8_t)(v >= 0 ? (v > 255 ? 255 : v) : 0);
}

static void quantize_u8_scalar(const float *x, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float inv_scale,
                               int32_t zero_point, uint8_t *q) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *xr = x + r * ld;
        uint8_t *qr = q + r * cols;
        for (ptrdiff_t c = 0; c < cols; c++) {
            qr[c] = quantize_u8(xr[c], inv_scale, zero_point);
        }
    }
}

float zs_quantize_weight_row(const float *w, ptrdiff_t k, float levels, int8_t *q) {
    float m = 0;
    for (ptrdiff_t i = 0; i < k; i++) {
        float a = fabsf(w[i]);
        m = a > m ? a : m;
    }
    float scale = m > 0 ? m / levels : 1.0f;
    float inv = 1.0f / scale;
    for (ptrdiff_t i = 0; i < k; i++) {
        float v = rintf(w[i] * inv);
        q[i] = v == v ? (int8_t)v : 0;  // NaN (a NaN weight, or any weight of a row with an infinite one) to 0
    }
    return scale;
}

#if ZS_X86
AVX2 static void min_max_avx2(const float *x, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float *lo, float *hi) {
    __m256 vl = _mm256_set1_ps(*lo), vh = _mm256_set1_ps(*hi);
    float l = *lo, h = *hi;
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *xr = x + r * ld;
        ptrdiff_t c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256 v = _mm256_loadu_ps(xr + c);
            vl = _mm256_min_ps(vl, v);
            vh = _mm256_max_ps(vh, v);
        }
        for (; c < cols; c++) {
            l = xr[c] < l ? xr[c] : l;
            h = xr[c] > h ? xr[c] : h;
        }
    }
    float tl[8], th[8];
    _mm256_storeu_ps(tl, vl);
    _mm256_storeu_ps(th, vh);
    for (int i = 0; i < 8; i++) {
        l = tl[i] < l ? tl[i] : l;
        h = th[i] > h ? th[i] : h;
    }
    *lo = l;
    *hi = h;
}

AVX2 static void quantize_u8_avx2(const float *x, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float inv_scale,
                                  int32_t zero_point, uint8_t *q) {
    const __m256 inv = _mm256_set1_ps(inv_scale);
    const __m256i zp = _mm256_set1_epi32(zero_point);
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *xr = x + r * ld;
        uint8_t *qr = q + r * cols;
        ptrdiff_t c = 0;
        for (; c + 8 <= cols; c += 8) {
            // cvtps rounds half to even (default MXCSR), as rintf; packs saturate to 0...255.
            __m256i v = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xr + c), inv)), zp);
            __m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
            __m128i w = _mm_packs_epi32(lo, hi);
            __m128i b = _mm_packus_epi16(w, w);
            _mm_storel_epi64((__m128i *)(qr + c), b);
        }
        for (; c < cols; c++) {
            qr[c] = quantize_u8(xr[c], inv_scale, zero_point);
        }
    }
}

AVX2 static void dequantize_avx2(const int32_t *acc, ptrdiff_t rows, ptrdiff_t cols, float a_scale, const float *w_scale,
                                 const float *bias, int accumulate, float *out, ptrdiff_t ldo) {
    const __m256 as = _mm256_set1_ps(a_scale);
    for (ptrdiff_t r = 0; r < rows; r++) {
        const int32_t *ar = acc + r * cols;
        float *o = out + r * ldo;
        ptrdiff_t c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(ar + c))),
                                     _mm256_mul_ps(as, _mm256_loadu_ps(w_scale + c)));
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + c));
            if (accumulate) v = _mm256_add_ps(v, _mm256_loadu_ps(o + c));
            _mm256_storeu_ps(o + c, v);
        }
        for (; c < cols; c++) {
            float v = (float)ar[c] * (a_scale * w_scale[c]) + (bias ? bias[c] : 0.0f);
            o[c] = accumulate ? o[c] + v : v;
        }
    }
}
#endif

void zs_min_max(const float *x, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float *lo, float *hi) {
#if ZS_X86
    if (zs_kernels_use_avx2()) { min_max_avx2(x, rows, cols, ld, lo, hi); return; }
#endif
    min_max_scalar(x, rows, cols, ld, lo, hi);
}

void zs_quantize_u8_rows(const float *x, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float inv_scale,
                         int32_t zero_point, uint8_t *q) {
#if ZS_X86
    if (zs_kernels_use_avx2()) { quantize_u8_avx2(x, rows, cols, ld, inv_scale, zero_point, q); return; }
#endif
    quantize_u8_scalar(x, rows, cols, ld, inv_scale, zero_point, q);
}

void zs_dequantize_rows(const int32_t *acc, ptrdiff_t rows, ptrdiff_t cols, float a_scale, const float *w_scale,
                        const float *bias, int accumulate, float *out, ptrdiff_t ldo) {
#if ZS_X86
    if (zs_kernels_use_avx2()) { dequantize_avx2(acc, rows, cols, a_scale, w_scale, bias, accumulate, out, ldo); return; }
#endif
    dequantize_scalar(acc, rows, cols, a_scale, w_scale, bias, accumulate, out, ldo);
}

// ---------------------------------------------------------------------------------------------------------
// Column layout.

static void layer_norm_cols_scalar(const float *x, ptrdiff_t ldx, ptrdiff_t dim, ptrdiff_t c0, ptrdiff_t c1,
                                   const float *w, const float *b, float eps, float *y, ptrdiff_t ldy) {
    for (ptrdiff_t c = c0; c < c1; c++) {
        double sum = 0;
        for (ptrdiff_t f = 0; f < dim; f++) sum += x[f * ldx + c];
        float mean = (float)(sum / (double)dim);
        double sq = 0;
        for (ptrdiff_t f = 0; f < dim; f++) {
            double d = (double)x[f * ldx + c] - (double)mean;
            sq += d * d;
        }
        float rstd = (float)(1.0 / sqrt(sq / (double)dim + (double)eps));
        for (ptrdiff_t f = 0; f < dim; f++) y[f * ldy + c] = (x[f * ldx + c] - mean) * rstd * w[f] + b[f];
    }
}

#if ZS_X86
AVX2 static void layer_norm_cols_avx2(const float *x, ptrdiff_t ldx, ptrdiff_t dim, ptrdiff_t c0, ptrdiff_t c1,
                                      const float *w, const float *b, float eps, float *y, ptrdiff_t ldy) {
    // Sums in double (8 columns as two vectors of 4), as the row-layout kernel combines its partial sums.
    ptrdiff_t c = c0;
    const __m256d inv_dim = _mm256_set1_pd(1.0 / (double)dim);
    for (; c + 8 <= c1; c += 8) {
        __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
        for (ptrdiff_t f = 0; f < dim; f++) {
            __m256 v = _mm256_loadu_ps(x + f * ldx + c);
            s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
            s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
        }
        __m256 mean = _mm256_set_m128(_mm256_cvtpd_ps(_mm256_mul_pd(s1, inv_dim)), _mm256_cvtpd_ps(_mm256_mul_pd(s0, inv_dim)));
        __m256d m0 = _mm256_cvtps_pd(_mm256_castps256_ps128(mean)), m1 = _mm256_cvtps_pd(_mm256_extractf128_ps(mean, 1));
        __m256d q0 = _mm256_setzero_pd(), q1 = _mm256_setzero_pd();
        for (ptrdiff_t f = 0; f < dim; f++) {
            __m256 v = _mm256_loadu_ps(x + f * ldx + c);
            __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), m0);
            __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), m1);
            q0 = _mm256_fmadd_pd(d0, d0, q0);
            q1 = _mm256_fmadd_pd(d1, d1, q1);
        }
        const __m256d e = _mm256_set1_pd((double)eps), one = _mm256_set1_pd(1.0);
        __m256d r0 = _mm256_div_pd(one, _mm256_sqrt_pd(_mm256_add_pd(_mm256_mul_pd(q0, inv_dim), e)));
        __m256d r1 = _mm256_div_pd(one, _mm256_sqrt_pd(_mm256_add_pd(_mm256_mul_pd(q1, inv_dim), e)));
        __m256 rstd = _mm256_set_m128(_mm256_cvtpd_ps(r1), _mm256_cvtpd_ps(r0));
        for (ptrdiff_t f = 0; f < dim; f++) {
            __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + f * ldx + c), mean), rstd);
            _mm256_storeu_ps(y + f * ldy + c, _mm256_fmadd_ps(v, _mm256_set1_ps(w[f]), _mm256_set1_ps(b[f])));
        }
    }
    if (c < c1) layer_norm_cols_scalar(x, ldx, dim, c, c1, w, b, eps, y, ldy);
}

AVX2 static void row_bias_activation_avx2(float *y, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, const float *bias,
                                          int activation) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *row = y + r * ld;
        float bs = bias ? bias[r] : 0.0f;
        __m256 bv = _mm256_set1_ps(bs);
        ptrdiff_t c = 0;
        for (; c + 8 <= cols; c += 8) _mm256_storeu_ps(row + c, act8(_mm256_add_ps(_mm256_loadu_ps(row + c), bv), activation));
        for (; c < cols; c++) row[c] = act_scalar(row[c] + bs, activation);
    }
}
#endif

#if ZS_X86
// AVX-512 versions, below with the AVX-512 attention.
static void layer_norm_cols_avx512(const float *x, ptrdiff_t ldx, ptrdiff_t dim, ptrdiff_t c0, ptrdiff_t c1,
                                   const float *w, const float *b, float eps, float *y, ptrdiff_t ldy);
static void row_bias_activation_avx512(float *y, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, const float *bias,
                                       int activation);
#endif

void zs_layer_norm_cols(const float *x, ptrdiff_t ldx, ptrdiff_t dim, ptrdiff_t col_begin, ptrdiff_t col_end,
                        const float *weight, const float *bias, float eps, float *y, ptrdiff_t ldy) {
#if ZS_X86
    if (use_avx512()) {
        layer_norm_cols_avx512(x, ldx, dim, col_begin, col_end, weight, bias, eps, y, ldy);
        return;
    }
    if (zs_kernels_use_avx2()) {
        layer_norm_cols_avx2(x, ldx, dim, col_begin, col_end, weight, bias, eps, y, ldy);
        return;
    }
#endif
    layer_norm_cols_scalar(x, ldx, dim, col_begin, col_end, weight, bias, eps, y, ldy);
}

void zs_row_bias_activation(float *y, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, const float *bias, int activation) {
#if ZS_X86
    if (use_avx512()) {
        row_bias_activation_avx512(y, rows, cols, ld, bias, activation);
        return;
    }
    if (zs_kernels_use_avx2()) {
        row_bias_activation_avx2(y, rows, cols, ld, bias, activation);
        return;
    }
#endif
    for (ptrdiff_t r = 0; r < rows; r++)
        for (ptrdiff_t c = 0; c < cols; c++) y[r * ld + c] = act_scalar(y[r * ld + c] + (bias ? bias[r] : 0.0f), activation);
}

#if ZS_X86
// Column-layout attention for one head, without transposing anything: queries are taken in blocks of up to
// 24 columns (NV vectors of 8 lanes, one query per lane), so that both products are small matrix products with
// the queries across the lanes.
//   1. scoresT[j][lane] = scale · Σ_c kT[c][key j] · qT[c][query lane]   (3 keys × NV vectors per step)
//   2. softmax down each lane: max over the visible keys, e = exp(s − max), sum; masked keys give e = 0
//   3. outT[c][query] = Σ_j vT[c][key j] · e[j][lane] / sum[lane]          (3 features × NV vectors per step)
// Keys come from two column ranges (a shared prefix, then the segment's own columns), positions 0 ..< nk; they
// are copied to contiguous rows first.
#define ATT_BLOCK 24
// Tiles are ATT_ROWS keys (or features) by NV vectors: 3 x 3 keeps the 9 accumulators, 3 operands and a broadcast
// in the 16 AVX2 registers (4 x 3 spilled, and ran at half the speed, measured on ViT-L/14's 257 tokens).
#define ATT_ROWS 3
// The tile loops run ATT_ROWS or NV (1-3) times; unrolled, their accumulators stay in registers.
#if defined(__clang__)
#define ATT_UNROLL _Pragma("clang loop unroll(full)")
#else
#define ATT_UNROLL _Pragma("GCC unroll 4")
#endif

AVX2 static inline __attribute__((always_inline)) void att_scores(
    const float *qb, const float *kT, ptrdiff_t ldkv, ptrdiff_t col, ptrdiff_t count, ptrdiff_t hd, float scale,
    float *sb, const int NV) {
    const __m256 sv = _mm256_set1_ps(scale);
    ptrdiff_t j = 0;
    for (; j + ATT_ROWS <= count; j += ATT_ROWS) {
        __m256 acc[ATT_ROWS][3];
        ATT_UNROLL
        for (int a = 0; a < ATT_ROWS; a++)
            ATT_UNROLL
            for (int v = 0; v < NV; v++) acc[a][v] = _mm256_setzero_ps();
        const float *kp = kT + col + j;
        for (ptrdiff_t c = 0; c < hd; c++) {
            __m256 qv[3];
            ATT_UNROLL
            for (int v = 0; v < NV; v++) qv[v] = _mm256_loadu_ps(qb + c * ATT_BLOCK + 8 * v);
            const float *kr = kp + c * ldkv;
            ATT_UNROLL
            for (int a = 0; a < ATT_ROWS; a++) {
                __m256 kb = _mm256_broadcast_ss(kr + a);
                ATT_UNROLL
                for (int v = 0; v < NV; v++) acc[a][v] = _mm256_fmadd_ps(kb, qv[v], acc[a][v]);
            }
        }
        ATT_UNROLL
        for (int a = 0; a < ATT_ROWS; a++)
            ATT_UNROLL
            for (int v = 0; v < NV; v++) _mm256_storeu_ps(sb + (j + a) * ATT_BLOCK + 8 * v, _mm256_mul_ps(acc[a][v], sv));
    }
    for (; j < count; j++) {
        __m256 acc[3];
        ATT_UNROLL
        for (int v = 0; v < NV; v++) acc[v] = _mm256_setzero_ps();
        const float *kp = kT + col + j;
        for (ptrdiff_t c = 0; c < hd; c++) {
            __m256 kb = _mm256_broadcast_ss(kp + c * ldkv);
            ATT_UNROLL
            for (int v = 0; v < NV; v++) acc[v] = _mm256_fmadd_ps(kb, _mm256_loadu_ps(qb + c * ATT_BLOCK + 8 * v), acc[v]);
        }
        ATT_UNROLL
        for (int v = 0; v < NV; v++) _mm256_storeu_ps(sb + j * ATT_BLOCK + 8 * v, _mm256_mul_ps(acc[v], sv));
    }
}

// ob[c][lane] += Σ_j vT[c][col + j] · pb[j][lane] for j < count.
AVX2 static inline __attribute__((always_inline)) void att_values(
    const float *pb, const float *vT, ptrdiff_t ldkv, ptrdiff_t col, ptrdiff_t count, ptrdiff_t hd, float *ob,
    const int NV) {
    ptrdiff_t c = 0;
    for (; c + ATT_ROWS <= hd; c += ATT_ROWS) {
        __m256 acc[ATT_ROWS][3];
        ATT_UNROLL
        for (int a = 0; a < ATT_ROWS; a++)
            ATT_UNROLL
            for (int v = 0; v < NV; v++) acc[a][v] = _mm256_loadu_ps(ob + (c + a) * ATT_BLOCK + 8 * v);
        const float *vr = vT + c * ldkv + col;
        for (ptrdiff_t j = 0; j < count; j++) {
            __m256 pv[3];
            ATT_UNROLL
            for (int v = 0; v < NV; v++) pv[v] = _mm256_loadu_ps(pb + j * ATT_BLOCK + 8 * v);
            ATT_UNROLL
            for (int a = 0; a < ATT_ROWS; a++) {
                __m256 vb = _mm256_broadcast_ss(vr + a * ldkv + j);
                ATT_UNROLL
                for (int v = 0; v < NV; v++) acc[a][v] = _mm256_fmadd_ps(vb, pv[v], acc[a][v]);
            }
        }
        ATT_UNROLL
        for (int a = 0; a < ATT_ROWS; a++)
            ATT_UNROLL
            for (int v = 0; v < NV; v++) _mm256_storeu_ps(ob + (c + a) * ATT_BLOCK + 8 * v, acc[a][v]);
    }
    for (; c < hd; c++) {
        __m256 acc[3];
        ATT_UNROLL
        for (int v = 0; v < NV; v++) acc[v] = _mm256_loadu_ps(ob + c * ATT_BLOCK + 8 * v);
        const float *vr = vT + c * ldkv + col;
        for (ptrdiff_t j = 0; j < count; j++) {
            __m256 vb = _mm256_broadcast_ss(vr + j);
            ATT_UNROLL
            for (int v = 0; v < NV; v++) acc[v] = _mm256_fmadd_ps(vb, _mm256_loadu_ps(pb + j * ATT_BLOCK + 8 * v), acc[v]);
        }
        ATT_UNROLL
        for (int v = 0; v < NV; v++) _mm256_storeu_ps(ob + c * ATT_BLOCK + 8 * v, acc[v]);
    }
}

// One block of up to ATT_BLOCK queries (columns q_col ..< q_col + nb at positions pos0 ...).
AVX2 static inline __attribute__((always_inline)) void att_block(
    const float *qT, ptrdiff_t ldq, ptrdiff_t q_col, ptrdiff_t nb, ptrdiff_t pos0, const float *kb, const float *vb,
    ptrdiff_t nk, ptrdiff_t hd, float scale, int causal, float *scratch, float *outT, ptrdiff_t ldo, const int NV) {
    float *qb = scratch, *ob = qb + hd * ATT_BLOCK, *sb = ob + hd * ATT_BLOCK;
    const ptrdiff_t lanes = 8 * NV;
    for (ptrdiff_t c = 0; c < hd; c++) {
        const float *qr = qT + c * ldq + q_col;
        float *qd = qb + c * ATT_BLOCK, *od = ob + c * ATT_BLOCK;
        ptrdiff_t l = 0;
        for (; l < nb; l++) qd[l] = qr[l];
        for (; l < lanes; l++) qd[l] = 0.0f;
        for (l = 0; l < lanes; l++) od[l] = 0.0f;
    }
    // Keys no query of the block can see are skipped; the rest are masked per lane below.
    ptrdiff_t visible = nk;
    if (causal && pos0 + nb < visible) visible = pos0 + nb;
    att_scores(qb, kb, nk, 0, visible, hd, scale, sb, NV);
    __m256 inv[3];
    ATT_UNROLL
    for (int v = 0; v < NV; v++) {
        const __m256 minus_inf = _mm256_set1_ps(-INFINITY);
        __m256 pos = _mm256_add_ps(_mm256_set1_ps((float)(pos0 + 8 * v)),
                                   _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7));
        __m256 m = minus_inf;
        for (ptrdiff_t j = 0; j < visible; j++) {
            float *sp = sb + j * ATT_BLOCK + 8 * v;
            __m256 x = _mm256_loadu_ps(sp);
            if (causal && j > pos0 + 8 * v) {
                x = _mm256_blendv_ps(x, minus_inf, _mm256_cmp_ps(pos, _mm256_set1_ps((float)j), _CMP_LT_OQ));
                _mm256_storeu_ps(sp, x);
            }
            m = _mm256_max_ps(m, x);
        }
        __m256 sum = _mm256_setzero_ps();
        for (ptrdiff_t j = 0; j < visible; j++) {
            float *sp = sb + j * ATT_BLOCK + 8 * v;
            __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(sp), m));
            _mm256_storeu_ps(sp, e);
            sum = _mm256_add_ps(sum, e);
        }
        inv[v] = _mm256_div_ps(_mm256_set1_ps(1.0f), sum);
    }
    att_values(sb, vb, nk, 0, visible, hd, ob, NV);
    for (ptrdiff_t c = 0; c < hd; c++) {
        float *od = ob + c * ATT_BLOCK;
        ATT_UNROLL
        for (int v = 0; v < NV; v++) _mm256_storeu_ps(od + 8 * v, _mm256_mul_ps(_mm256_loadu_ps(od + 8 * v), inv[v]));
        float *orow = outT + c * ldo + q_col;
        for (ptrdiff_t l = 0; l < nb; l++) orow[l] = od[l];
    }
}

// The keys and values of one head as contiguous rows kb, vb [hd, nk0 + nk1]: the columns k_col0 ..< k_col0 + nk0, then
// k_col1 ..< k_col1 + nk1 of kT and vT (hd rows, stride ldkv).
static void stage_keys_values(const float *kT, const float *vT, ptrdiff_t ldkv, ptrdiff_t k_col0, ptrdiff_t nk0,
                              ptrdiff_t k_col1, ptrdiff_t nk1, ptrdiff_t hd, float *kb, float *vb) {
    const ptrdiff_t nk = nk0 + nk1;
    for (ptrdiff_t c = 0; c < hd; c++) {
        const float *kr = kT + c * ldkv, *vr = vT + c * ldkv;
        float *kd = kb + c * nk, *vd = vb + c * nk;
        for (ptrdiff_t j = 0; j < nk0; j++) { kd[j] = kr[k_col0 + j]; vd[j] = vr[k_col0 + j]; }
        for (ptrdiff_t j = 0; j < nk1; j++) { kd[nk0 + j] = kr[k_col1 + j]; vd[nk0 + j] = vr[k_col1 + j]; }
    }
}

AVX2 static void attention_cols_avx2(const float *qT, ptrdiff_t ldq, ptrdiff_t q_col, ptrdiff_t nq, ptrdiff_t q_start,
                                     const float *kT, const float *vT, ptrdiff_t ldkv, ptrdiff_t k_col0, ptrdiff_t nk0,
                                     ptrdiff_t k_col1, ptrdiff_t nk1, ptrdiff_t hd, float scale, int causal,
                                     float *scratch, float *outT, ptrdiff_t ldo) {
    // The keys and values first go to contiguous rows [hd, nk]: read in place, each feature row of a wide
    // batch lies in another page, and the products' strided reads thrash the TLB.
    const ptrdiff_t nk = nk0 + nk1;
    float *kb = scratch, *vb = kb + hd * nk, *rest = vb + hd * nk;
    stage_keys_values(kT, vT, ldkv, k_col0, nk0, k_col1, nk1, hd, kb, vb);
    for (ptrdiff_t i0 = 0; i0 < nq; i0 += ATT_BLOCK) {
        ptrdiff_t nb = nq - i0 < ATT_BLOCK ? nq - i0 : ATT_BLOCK;
        ptrdiff_t col = q_col + i0, pos0 = q_start + i0;
        switch ((nb + 7) / 8) {
        case 1: att_block(qT, ldq, col, nb, pos0, kb, vb, nk, hd, scale, causal, rest, outT, ldo, 1); break;
        case 2: att_block(qT, ldq, col, nb, pos0, kb, vb, nk, hd, scale, causal, rest, outT, ldo, 2); break;
        default: att_block(qT, ldq, col, nb, pos0, kb, vb, nk, hd, scale, causal, rest, outT, ldo, 3); break;
        }
    }
}
#endif

// ---------------------------------------------------------------------------------------------------------
// AVX-512 versions of the column-layout kernels: the AVX2 code on 16 lanes, the same operations in the same order
// per lane, so each value equals the AVX2 path's (masked vector tails instead of scalar ones).

#if ZS_X86
#define AVX512 __attribute__((target("avx512f,avx2,fma")))

// exp16, erf16, act16: exp8, erf8 and act8 on 16 lanes.
AVX512 static inline __m512 exp16(__m512 x) {
    const __m512 hi = _mm512_set1_ps(88.3762626647949f), lo = _mm512_set1_ps(-87.3365478515625f);
    __mmask16 under = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
    __mmask16 over = _mm512_cmp_ps_mask(x, _mm512_set1_ps(88.72283172607421875f), _CMP_GT_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
    __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500E-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i n = _mm512_cvtps_epi32(fx);
    __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(n, _mm512_set1_epi32(127)), 23);
    __m512 result = _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
    return _mm512_mask_mov_ps(_mm512_maskz_mov_ps((__mmask16)~under, result), over, _mm512_set1_ps(INFINITY));
}

AVX512 static inline __m512 erf16(__m512 x) {
    const __m512i sign_mask = _mm512_set1_epi32((int)0x80000000u);
    __m512i xi = _mm512_castps_si512(x);
    __m512i sign = _mm512_and_si512(xi, sign_mask);
    __m512 z = _mm512_castsi512_ps(_mm512_andnot_si512(sign_mask, xi));
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(z, _mm512_set1_ps(0.5f), _mm512_set1_ps(1.0f)));
    __m512 p = _mm512_set1_ps(0.17087277f);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.82215223f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.48851587f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.13520398f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.27886807f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.18628806f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.09678418f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.37409196f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.00002368f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.26551223f));
    __m512 e = exp16(_mm512_sub_ps(p, _mm512_mul_ps(z, z)));
    __m512 erfc = _mm512_mul_ps(t, e);
    __m512 result = _mm512_sub_ps(_mm512_set1_ps(1.0f), erfc);
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(result), sign));
}

AVX512 static inline __m512 act16(__m512 x, int activation) {
    switch (activation) {
    case ZS_ACT_QUICK_GELU: {
        __m512 e = exp16(_mm512_mul_ps(x, _mm512_set1_ps(-1.702f)));
        return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    }
    case ZS_ACT_GELU: {
        __m512 e = erf16(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752440f)));
        return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    }
    case ZS_ACT_GELU_TANH: {
        // As act8: x / (1 + exp(-2u)), u = √(2/π) (x + 0.044715 x³).
        __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
        __m512 u = _mm512_mul_ps(_mm512_set1_ps(0.79788456080286535588f), _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), x3, x));
        __m512 e = exp16(_mm512_mul_ps(u, _mm512_set1_ps(-2.0f)));
        return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    }
    case ZS_ACT_RELU: return _mm512_max_ps(x, _mm512_setzero_ps());
    default: return x;
    }
}

AVX512 static void row_bias_activation_avx512(float *y, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld,
                                              const float *bias, int activation) {
    const __mmask16 tail = (__mmask16)((1u << (cols % 16)) - 1u);
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *row = y + r * ld;
        __m512 bv = _mm512_set1_ps(bias ? bias[r] : 0.0f);
        ptrdiff_t c = 0;
        for (; c + 16 <= cols; c += 16) _mm512_storeu_ps(row + c, act16(_mm512_add_ps(_mm512_loadu_ps(row + c), bv), activation));
        if (tail) {
            __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(tail, row + c), bv);
            _mm512_mask_storeu_ps(row + c, tail, act16(v, activation));
        }
    }
}

// The two halves of 16 floats as doubles, and back.
AVX512 static inline __m512d lo_pd(__m512 v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
AVX512 static inline __m512d hi_pd(__m512 v) {
    return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}
AVX512 static inline __m512 join_ps(__m512d lo, __m512d hi) {
    __m512d joined = _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(_mm512_cvtpd_ps(lo))),
                                        _mm256_castps_pd(_mm512_cvtpd_ps(hi)), 1);
    return _mm512_castpd_ps(joined);
}

AVX512 static void layer_norm_cols_avx512(const float *x, ptrdiff_t ldx, ptrdiff_t dim, ptrdiff_t c0, ptrdiff_t c1,
                                          const float *w, const float *b, float eps, float *y, ptrdiff_t ldy) {
    // 16 columns at a time, sums in double as layer_norm_cols_avx2.
    ptrdiff_t c = c0;
    const __m512d inv_dim = _mm512_set1_pd(1.0 / (double)dim);
    for (; c + 16 <= c1; c += 16) {
        __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
        for (ptrdiff_t f = 0; f < dim; f++) {
            __m512 v = _mm512_loadu_ps(x + f * ldx + c);
            s0 = _mm512_add_pd(s0, lo_pd(v));
            s1 = _mm512_add_pd(s1, hi_pd(v));
        }
        __m512 mean = join_ps(_mm512_mul_pd(s0, inv_dim), _mm512_mul_pd(s1, inv_dim));
        __m512d m0 = lo_pd(mean), m1 = hi_pd(mean);
        __m512d q0 = _mm512_setzero_pd(), q1 = _mm512_setzero_pd();
        for (ptrdiff_t f = 0; f < dim; f++) {
            __m512 v = _mm512_loadu_ps(x + f * ldx + c);
            __m512d d0 = _mm512_sub_pd(lo_pd(v), m0), d1 = _mm512_sub_pd(hi_pd(v), m1);
            q0 = _mm512_fmadd_pd(d0, d0, q0);
            q1 = _mm512_fmadd_pd(d1, d1, q1);
        }
        const __m512d e = _mm512_set1_pd((double)eps), one = _mm512_set1_pd(1.0);
        __m512d r0 = _mm512_div_pd(one, _mm512_sqrt_pd(_mm512_add_pd(_mm512_mul_pd(q0, inv_dim), e)));
        __m512d r1 = _mm512_div_pd(one, _mm512_sqrt_pd(_mm512_add_pd(_mm512_mul_pd(q1, inv_dim), e)));
        __m512 rstd = join_ps(r0, r1);
        for (ptrdiff_t f = 0; f < dim; f++) {
            __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + f * ldx + c), mean), rstd);
            _mm512_storeu_ps(y + f * ldy + c, _mm512_fmadd_ps(v, _mm512_set1_ps(w[f]), _mm512_set1_ps(b[f])));
        }
    }
    if (c < c1) layer_norm_cols_avx2(x, ldx, dim, c, c1, w, b, eps, y, ldy);
}

// Column-layout attention as attention_cols_avx2, with queries in blocks of up to 48 (NV vectors of 16 lanes) and
// tiles of ATT512_ROWS keys (or features) by NV vectors: 6 x 3 accumulators, 3 operands and a broadcast use 22 of
// the 32 registers.
#define ATT512_BLOCK 48
#define ATT512_ROWS 6

AVX512 static inline __attribute__((always_inline)) void att512_scores(
    const float *qb, const float *kT, ptrdiff_t ldkv, ptrdiff_t count, ptrdiff_t hd, float scale, float *sb,
    const int NV) {
    const __m512 sv = _mm512_set1_ps(scale);
    ptrdiff_t j = 0;
    for (; j + ATT512_ROWS <= count; j += ATT512_ROWS) {
        __m512 acc[ATT512_ROWS][3];
        ATT_UNROLL
        for (int a = 0; a < ATT512_ROWS; a++)
            ATT_UNROLL
            for (int v = 0; v < NV; v++) acc[a][v] = _mm512_setzero_ps();
        const float *kp = kT + j;
        for (ptrdiff_t c = 0; c < hd; c++) {
            __m512 qv[3];
            ATT_UNROLL
            for (int v = 0; v < NV; v++) qv[v] = _mm512_loadu_ps(qb + c * ATT512_BLOCK + 16 * v);
            const float *kr = kp + c * ldkv;
            ATT_UNROLL
            for (int a = 0; a < ATT512_ROWS; a++) {
                __m512 kb = _mm512_set1_ps(kr[a]);
                ATT_UNROLL
                for (int v = 0; v < NV; v++) acc[a][v] = _mm512_fmadd_ps(kb, qv[v], acc[a][v]);
            }
        }
        ATT_UNROLL
        for (int a = 0; a < ATT512_ROWS; a++)
            ATT_UNROLL
            for (int v = 0; v < NV; v++)
                _mm512_storeu_ps(sb + (j + a) * ATT512_BLOCK + 16 * v, _mm512_mul_ps(acc[a][v], sv));
    }
    for (; j < count; j++) {
        __m512 acc[3];
        ATT_UNROLL
        for (int v = 0; v < NV; v++) acc[v] = _mm512_setzero_ps();
        const float *kp = kT + j;
        for (ptrdiff_t c = 0; c < hd; c++) {
            __m512 kb = _mm512_set1_ps(kp[c * ldkv]);
            ATT_UNROLL
            for (int v = 0; v < NV; v++)
                acc[v] = _mm512_fmadd_ps(kb, _mm512_loadu_ps(qb + c * ATT512_BLOCK + 16 * v), acc[v]);
        }
        ATT_UNROLL
        for (int v = 0; v < NV; v++) _mm512_storeu_ps(sb + j * ATT512_BLOCK + 16 * v, _mm512_mul_ps(acc[v], sv));
    }
}

// ob[c][lane] += Σ_j vT[c][j] · pb[j][lane] for j < count.
AVX512 static inline __attribute__((always_inline)) void att512_values(
    const float *pb, const float *vT, ptrdiff_t ldkv, ptrdiff_t count, ptrdiff_t hd, float *ob, const int NV) {
    ptrdiff_t c = 0;
    for (; c + ATT512_ROWS <= hd; c += ATT512_ROWS) {
        __m512 acc[ATT512_ROWS][3];
        ATT_UNROLL
        for (int a = 0; a < ATT512_ROWS; a++)
            ATT_UNROLL
            for (int v = 0; v < NV; v++) acc[a][v] = _mm512_loadu_ps(ob + (c + a) * ATT512_BLOCK + 16 * v);
        const float *vr = vT + c * ldkv;
        for (ptrdiff_t j = 0; j < count; j++) {
            __m512 pv[3];
            ATT_UNROLL
            for (int v = 0; v < NV; v++) pv[v] = _mm512_loadu_ps(pb + j * ATT512_BLOCK + 16 * v);
            ATT_UNROLL
            for (int a = 0; a < ATT512_ROWS; a++) {
                __m512 vb = _mm512_set1_ps(vr[a * ldkv + j]);
                ATT_UNROLL
                for (int v = 0; v < NV; v++) acc[a][v] = _mm512_fmadd_ps(vb, pv[v], acc[a][v]);
            }
        }
        ATT_UNROLL
        for (int a = 0; a < ATT512_ROWS; a++)
            ATT_UNROLL
            for (int v = 0; v < NV; v++) _mm512_storeu_ps(ob + (c + a) * ATT512_BLOCK + 16 * v, acc[a][v]);
    }
    for (; c < hd; c++) {
        __m512 acc[3];
        ATT_UNROLL
        for (int v = 0; v < NV; v++) acc[v] = _mm512_loadu_ps(ob + c * ATT512_BLOCK + 16 * v);
        const float *vr = vT + c * ldkv;
        for (ptrdiff_t j = 0; j < count; j++) {
            __m512 vb = _mm512_set1_ps(vr[j]);
            ATT_UNROLL
            for (int v = 0; v < NV; v++)
                acc[v] = _mm512_fmadd_ps(vb, _mm512_loadu_ps(pb + j * ATT512_BLOCK + 16 * v), acc[v]);
        }
        ATT_UNROLL
        for (int v = 0; v < NV; v++) _mm512_storeu_ps(ob + c * ATT512_BLOCK + 16 * v, acc[v]);
    }
}

// One block of up to ATT512_BLOCK queries (columns q_col ..< q_col + nb at positions pos0 ...), as att_block.
AVX512 static inline __attribute__((always_inline)) void att512_block(
    const float *qT, ptrdiff_t ldq, ptrdiff_t q_col, ptrdiff_t nb, ptrdiff_t pos0, const float *kb, const float *vb,
    ptrdiff_t nk, ptrdiff_t hd, float scale, int causal, float *scratch, float *outT, ptrdiff_t ldo, const int NV) {
    float *qb = scratch, *ob = qb + hd * ATT512_BLOCK, *sb = ob + hd * ATT512_BLOCK;
    const ptrdiff_t lanes = 16 * NV;
    for (ptrdiff_t c = 0; c < hd; c++) {
        const float *qr = qT + c * ldq + q_col;
        float *qd = qb + c * ATT512_BLOCK, *od = ob + c * ATT512_BLOCK;
        ptrdiff_t l = 0;
        for (; l < nb; l++) qd[l] = qr[l];
        for (; l < lanes; l++) qd[l] = 0.0f;
        for (l = 0; l < lanes; l++) od[l] = 0.0f;
    }
    ptrdiff_t visible = nk;
    if (causal && pos0 + nb < visible) visible = pos0 + nb;
    att512_scores(qb, kb, nk, visible, hd, scale, sb, NV);
    __m512 inv[3];
    ATT_UNROLL
    for (int v = 0; v < NV; v++) {
        const __m512 minus_inf = _mm512_set1_ps(-INFINITY);
        __m512 pos = _mm512_add_ps(_mm512_set1_ps((float)(pos0 + 16 * v)),
                                   _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
        __m512 m = minus_inf;
        for (ptrdiff_t j = 0; j < visible; j++) {
            float *sp = sb + j * ATT512_BLOCK + 16 * v;
            __m512 x = _mm512_loadu_ps(sp);
            if (causal && j > pos0 + 16 * v) {
                x = _mm512_mask_mov_ps(x, _mm512_cmp_ps_mask(pos, _mm512_set1_ps((float)j), _CMP_LT_OQ), minus_inf);
                _mm512_storeu_ps(sp, x);
            }
            m = _mm512_max_ps(m, x);
        }
        __m512 sum = _mm512_setzero_ps();
        for (ptrdiff_t j = 0; j < visible; j++) {
            float *sp = sb + j * ATT512_BLOCK + 16 * v;
            __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(sp), m));
            _mm512_storeu_ps(sp, e);
            sum = _mm512_add_ps(sum, e);
        }
        inv[v] = _mm512_div_ps(_mm512_set1_ps(1.0f), sum);
    }
    att512_values(sb, vb, nk, visible, hd, ob, NV);
    for (ptrdiff_t c = 0; c < hd; c++) {
        float *od = ob + c * ATT512_BLOCK;
        ATT_UNROLL
        for (int v = 0; v < NV; v++) _mm512_storeu_ps(od + 16 * v, _mm512_mul_ps(_mm512_loadu_ps(od + 16 * v), inv[v]));
        float *orow = outT + c * ldo + q_col;
        for (ptrdiff_t l = 0; l < nb; l++) orow[l] = od[l];
    }
}

AVX512 static void attention_cols_avx512(const float *qT, ptrdiff_t ldq, ptrdiff_t q_col, ptrdiff_t nq,
                                         ptrdiff_t q_start, const float *kT, const float *vT, ptrdiff_t ldkv,
                                         ptrdiff_t k_col0, ptrdiff_t nk0, ptrdiff_t k_col1, ptrdiff_t nk1, ptrdiff_t hd,
                                         float scale, int causal, float *scratch, float *outT, ptrdiff_t ldo) {
    const ptrdiff_t nk = nk0 + nk1;
    float *kb = scratch, *vb = kb + hd * nk, *rest = vb + hd * nk;
    stage_keys_values(kT, vT, ldkv, k_col0, nk0, k_col1, nk1, hd, kb, vb);
    for (ptrdiff_t i0 = 0; i0 < nq; i0 += ATT512_BLOCK) {
        ptrdiff_t nb = nq - i0 < ATT512_BLOCK ? nq - i0 : ATT512_BLOCK;
        ptrdiff_t col = q_col + i0, pos0 = q_start + i0;
        switch ((nb + 15) / 16) {
        case 1: att512_block(qT, ldq, col, nb, pos0, kb, vb, nk, hd, scale, causal, rest, outT, ldo, 1); break;
        case 2: att512_block(qT, ldq, col, nb, pos0, kb, vb, nk, hd, scale, causal, rest, outT, ldo, 2); break;
        default: att512_block(qT, ldq, col, nb, pos0, kb, vb, nk, hd, scale, causal, rest, outT, ldo, 3); break;
        }
    }
}
#endif

ptrdiff_t zs_attention_head_cols_scratch(ptrdiff_t nq, ptrdiff_t nk, ptrdiff_t head_dim) {
    ptrdiff_t rows = (2 * nq + 2 * nk) * head_dim + nk;
    ptrdiff_t blocked = 2 * head_dim * nk + 2 * head_dim * 48 + nk * 48;  // the AVX-512 path's blocks of 48
    return rows > blocked ? rows : blocked;
}

void zs_attention_head_cols(const float *qT, ptrdiff_t ldq, ptrdiff_t q_col, ptrdiff_t nq, ptrdiff_t q_start,
                            const float *kT, const float *vT, ptrdiff_t ldkv, ptrdiff_t k_col0, ptrdiff_t nk0,
                            ptrdiff_t k_col1, ptrdiff_t nk1, ptrdiff_t hd, float scale, int causal,
                            float *scratch, float *outT, ptrdiff_t ldo) {
    ptrdiff_t nk = nk0 + nk1;
#if ZS_X86
    if (use_avx512() && nq >= 12) {
        attention_cols_avx512(qT, ldq, q_col, nq, q_start, kT, vT, ldkv, k_col0, nk0, k_col1, nk1, hd, scale, causal,
                              scratch, outT, ldo);
        return;
    }
    if (zs_kernels_use_avx2() && nq >= 4) {
        attention_cols_avx2(qT, ldq, q_col, nq, q_start, kT, vT, ldkv, k_col0, nk0, k_col1, nk1, hd, scale, causal,
                            scratch, outT, ldo);
        return;
    }
#endif
    float *q = scratch, *k = q + nq * hd, *v = k + nk * hd, *o = v + nk * hd, *scores = o + nq * hd;
    for (ptrdiff_t c = 0; c < hd; c++) {
        const float *qr = qT + c * ldq + q_col;
        for (ptrdiff_t i = 0; i < nq; i++) q[i * hd + c] = qr[i];
        const float *kr = kT + c * ldkv, *vr = vT + c * ldkv;
        for (ptrdiff_t j = 0; j < nk0; j++) {
            k[j * hd + c] = kr[k_col0 + j];
            v[j * hd + c] = vr[k_col0 + j];
        }
        for (ptrdiff_t j = 0; j < nk1; j++) {
            k[(nk0 + j) * hd + c] = kr[k_col1 + j];
            v[(nk0 + j) * hd + c] = vr[k_col1 + j];
        }
    }
    zs_attention_head(q, hd, nq, q_start, k, v, hd, nk, hd, scale, causal, scores, o, hd);
    for (ptrdiff_t c = 0; c < hd; c++) {
        float *orow = outT + c * ldo + q_col;
        for (ptrdiff_t i = 0; i < nq; i++) orow[i] = o[i * hd + c];
    }
}

void zs_dequantize_transposed(const int32_t *acc, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t col_begin,
                              ptrdiff_t col_end, float a_scale, const float *w_scale, const float *bias,
                              int accumulate, float *out, ptrdiff_t ldo) {
    const ptrdiff_t B = 32;
    for (ptrdiff_t c0 = col_begin; c0 < col_end; c0 += B) {
        ptrdiff_t c1 = c0 + B < col_end ? c0 + B : col_end;
        for (ptrdiff_t r = 0; r < rows; r++) {
            const int32_t *ar = acc + r * cols;
            for (ptrdiff_t c = c0; c < c1; c++) {
                float v = (float)ar[c] * (a_scale * w_scale[c]) + (bias ? bias[c] : 0.0f);
                float *o = out + c * ldo + r;
                *o = accumulate ? *o + v : v;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Arithmetic peak probe: enough independent dependency chains to hide the multiply-add latency (4 cycles) on
// every FMA pipe: 12 for AVX2 (16 registers), 16 where there are 32 vector registers (AVX-512, NEON).

#define ZS_STEP4(FMA, x0, x1, x2, x3) x0 = FMA(x0); x1 = FMA(x1); x2 = FMA(x2); x3 = FMA(x3);
#define ZS_PROBE(T, SET1, FMA, ADD, LANES, CHAINS16)                                                            \
    T a0 = SET1(seed), a1 = SET1(seed + 1), a2 = SET1(seed + 2), a3 = SET1(seed + 3), a4 = SET1(seed + 4),    \
      a5 = SET1(seed + 5), a6 = SET1(seed + 6), a7 = SET1(seed + 7), a8 = SET1(seed + 8), a9 = SET1(seed + 9),  \
      a10 = SET1(seed + 10), a11 = SET1(seed + 11), a12 = SET1(seed + 12), a13 = SET1(seed + 13),              \
      a14 = SET1(seed + 14), a15 = SET1(seed + 15);                                                          \
    for (long r = 0; r < rounds; r++) {                                                                      \
        ZS_STEP4(FMA, a0, a1, a2, a3) ZS_STEP4(FMA, a4, a5, a6, a7) ZS_STEP4(FMA, a8, a9, a10, a11)          \
        if (CHAINS16) { ZS_STEP4(FMA, a12, a13, a14, a15) }                                                  \
    }                                                                                                        \
    T s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));                                  \
    s = ADD(s, ADD(ADD(a8, a9), ADD(a10, a11)));                                                             \
    if (CHAINS16) s = ADD(s, ADD(ADD(a12, a13), ADD(a14, a15)));                                             \
    *chains = (CHAINS16) ? 16 : 12;                                                                          \
    *flops = (double)rounds * *chains * (LANES) * 2;

static inline float scalar_step(float x) { return x * 0.99999f + 1e-6f; }
static inline float scalar_add(float x, float y) { return x + y; }
static inline float scalar_set1(float x) { return x; }

static float fma_probe_scalar(long rounds, float seed, double *flops, int *chains) {
    ZS_PROBE(float, scalar_set1, scalar_step, scalar_add, 1, 0)
    return s;
}

#if ZS_X86
#define ZS_FMA256(x) _mm256_fmadd_ps(x, _mm256_set1_ps(0.99999f), _mm256_set1_ps(1e-6f))
AVX2 static float fma_probe_avx2(long rounds, float seed, double *flops, int *chains) {
    ZS_PROBE(__m256, _mm256_set1_ps, ZS_FMA256, _mm256_add_ps, 8, 0)
    return _mm256_cvtss_f32(s);
}

#define ZS_FMA512(x) _mm512_fmadd_ps(x, _mm512_set1_ps(0.99999f), _mm512_set1_ps(1e-6f))
__attribute__((target("avx512f"))) static float fma_probe_avx512(long rounds, float seed, double *flops,
                                                                 int *chains) {
    ZS_PROBE(__m512, _mm512_set1_ps, ZS_FMA512, _mm512_add_ps, 16, 1)
    return _mm512_cvtss_f32(s);
}
#elif defined(__aarch64__)
#include <arm_neon.h>
#define ZS_FMANEON(x) vfmaq_f32(vdupq_n_f32(1e-6f), x, vdupq_n_f32(0.99999f))
static float fma_probe_neon(long rounds, float seed, double *flops, int *chains) {
    ZS_PROBE(float32x4_t, vdupq_n_f32, ZS_FMANEON, vaddq_f32, 4, 1)
    return vgetq_lane_f32(s, 0);
}
#endif

double zs_fma_probe(long rounds, float seed, float *sink, int *chains) {
    double flops;
#if ZS_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) { *sink = fma_probe_avx512(rounds, seed, &flops, chains); return flops; }
    if (zs_kernels_use_avx2()) { *sink = fma_probe_avx2(rounds, seed, &flops, chains); return flops; }
#elif defined(__aarch64__)
    *sink = fma_probe_neon(rounds, seed, &flops, chains);
    return flops;
#endif
    *sink = fma_probe_scalar(rounds, seed, &flops, chains);
    return flops;
}

// ---------------------------------------------------------------------------------------------------------
// Half-precision storage to float32 (checkpoint loading).

static inline float f16_to_f32_scalar(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
    uint32_t bits;
    if (exponent == 0x1fu) {
        // infinity; NaN with its payload, made quiet as F16C's vcvtph2ps does
        bits = sign | 0x7f800000u | (mantissa << 13) | (mantissa ? 0x400000u : 0);
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);  // normal: rebias 15 -> 127
    } else {
        // zero or subnormal: mantissa * 2^-24, exact in float32
        float value = (float)mantissa * 5.9604644775390625e-8f;
        memcpy(&bits, &value, 4);
        bits |= sign;
    }
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

static inline uint16_t load_u16(const unsigned char *p) {
    uint16_t v;
    memcpy(&v, p, 2);  // little-endian storage on every supported target; no alignment assumed
    return v;
}

#if ZS_X86
__attribute__((target("avx,f16c"))) static void f16_to_f32_f16c(const unsigned char *h, float *out, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + 2 * i))));
    for (; i < n; i++) out[i] = f16_to_f32_scalar(load_u16(h + 2 * i));
}
#endif

void zs_f16_to_f32(const void *h, float *out, ptrdiff_t n) {
    const unsigned char *bytes = (const unsigned char *)h;
#if ZS_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx")) {
        f16_to_f32_f16c(bytes, out, n);
        return;
    }
#endif
    for (ptrdiff_t i = 0; i < n; i++) out[i] = f16_to_f32_scalar(load_u16(bytes + 2 * i));
}

void zs_bf16_to_f32(const void *b, float *out, ptrdiff_t n) {
    const unsigned char *bytes = (const unsigned char *)b;
    for (ptrdiff_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)load_u16(bytes + 2 * i) << 16;
        memcpy(out + i, &bits, 4);
    }
}
