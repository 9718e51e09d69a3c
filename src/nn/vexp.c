/* exp(x) = 2^n * e^r with n = round(x / ln 2) and r = x - n ln 2 (ln 2 split in two, so r
 * is exact to a few ulp), e^r by the Cephes expf polynomial on |r| <= ln2/2. 2^n is built
 * from exponent bits in two halves (AVX2, C) or by vscalefps (AVX-512), so results that
 * overflow go to +inf and results in the denormal range are rounded once, not flushed.
 * x is clamped to [-110, 100] first: far enough out that the result is already 0 or inf. */
#include <math.h>

#include "nn/vexp.h"
#include "nn/vexp_simd.h"

/* ---- portable C ---- */
static float max_c(const float *x, int n) {
    float m = -INFINITY;
    for (int i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

static double sum_exp_c(const float *x, int n, float shift) {
    double s = 0.0;
    for (int i = 0; i < n; i++) s += sq__exp1(x[i] - shift);
    return s;
}

static void exp_scale_c(float *y, const float *x, int n, float shift, float scale) {
    for (int i = 0; i < n; i++) y[i] = sq__exp1(x[i] - shift) * scale;
}

/* ---- AVX2 + FMA ---- */
SQ_T2 static inline __m256 load8(const float *x, int n, __m256 fill) { /* n < 8 lanes */
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
    return _mm256_blendv_ps(fill, _mm256_maskload_ps(x, m), _mm256_castsi256_ps(m));
}

SQ_T2 static inline float hmax8(__m256 v) {
    __m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_max_ps(a, _mm_movehl_ps(a, a));
    a = _mm_max_ss(a, _mm_shuffle_ps(a, a, 1));
    return _mm_cvtss_f32(a);
}

SQ_T2 static inline double hsum8(__m256 v) {
    __m256d d = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)),
                              _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    __m128d a = _mm_add_pd(_mm256_castpd256_pd128(d), _mm256_extractf128_pd(d, 1));
    return _mm_cvtsd_f64(_mm_add_sd(a, _mm_unpackhi_pd(a, a)));
}

SQ_T2 static float max_avx2(const float *x, int n) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 8 <= n; i += 8) m = _mm256_max_ps(_mm256_loadu_ps(x + i), m);
    if (i < n) m = _mm256_max_ps(load8(x + i, n - i, m), m);
    return hmax8(m);
}

/* float lanes summed into a double every 1024 elements: one exp of ~1 per element, so a
 * lane's partial sum stays small enough that float rounding does not matter */
SQ_T2 static double sum_exp_avx2(const float *x, int n, float shift) {
    const __m256 sh = _mm256_set1_ps(shift);
    double total = 0.0;
    int i = 0;
    while (i < n) {
        const int end = n - i > 1024 ? i + 1024 : n;
        __m256 s = _mm256_setzero_ps();
        for (; i + 8 <= end; i += 8) s = _mm256_add_ps(s, sq__exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), sh)));
        if (i < end) { /* padding lanes: -inf - shift gives exp 0 */
            s = _mm256_add_ps(s, sq__exp8(_mm256_sub_ps(load8(x + i, end - i, _mm256_set1_ps(-INFINITY)), sh)));
            i = end;
        }
        total += hsum8(s);
    }
    return total;
}

SQ_T2 static void exp_scale_avx2(float *y, const float *x, int n, float shift, float scale) {
    const __m256 sh = _mm256_set1_ps(shift), sc = _mm256_set1_ps(scale);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(sq__exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), sh)), sc));
    for (; i < n; i++) y[i] = sq__exp1(x[i] - shift) * scale;
}

/* ---- AVX-512F ---- */
SQ_T5 static float max_avx512(const float *x, int n) {
    __m512 m = _mm512_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 16 <= n; i += 16) m = _mm512_max_ps(_mm512_loadu_ps(x + i), m);
    if (i < n)
        m = _mm512_max_ps(_mm512_mask_loadu_ps(m, (__mmask16)((1u << (n - i)) - 1), x + i), m);
    return _mm512_reduce_max_ps(m);
}

SQ_T5 static double sum_exp_avx512(const float *x, int n, float shift) {
    const __m512 sh = _mm512_set1_ps(shift);
    double total = 0.0;
    int i = 0;
    while (i < n) {
        const int end = n - i > 1024 ? i + 1024 : n;
        __m512 s = _mm512_setzero_ps();
        for (; i + 16 <= end; i += 16)
            s = _mm512_add_ps(s, sq__exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), sh)));
        if (i < end) {
            const __mmask16 k = (__mmask16)((1u << (end - i)) - 1);
            s = _mm512_mask_add_ps(s, k, s, sq__exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), sh)));
            i = end;
        }
        total += (double)_mm512_reduce_add_ps(s);
    }
    return total;
}

SQ_T5 static void exp_scale_avx512(float *y, const float *x, int n, float shift, float scale) {
    const __m512 sh = _mm512_set1_ps(shift), sc = _mm512_set1_ps(scale);
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_mul_ps(sq__exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), sh)), sc));
    if (i < n) {
        const __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(sq__exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), sh)), sc));
    }
}

static const sq__vexp_ops OPS[SQ_VEXP_NISA] = {
    {"c", max_c, sum_exp_c, exp_scale_c},
    {"avx2", max_avx2, sum_exp_avx2, exp_scale_avx2},
    {"avx512", max_avx512, sum_exp_avx512, exp_scale_avx512},
};

const sq__vexp_ops *sq__vexp_ops_for(int isa) {
    switch (isa) {
    case SQ_VEXP_C: return &OPS[0];
    case SQ_VEXP_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &OPS[1] : NULL;
    case SQ_VEXP_AVX512: return __builtin_cpu_supports("avx512f") ? &OPS[2] : NULL;
    default: return NULL;
    }
}

const sq__vexp_ops *sq__vexp_best(void) {
    for (int isa = SQ_VEXP_NISA - 1; isa > 0; isa--)
        if (sq__vexp_ops_for(isa)) return sq__vexp_ops_for(isa);
    return &OPS[0];
}
