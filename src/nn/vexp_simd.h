/* The exp kernels of vexp.c, one vector at a time, for loops that fuse exp with other work
 * (ce_full_avx512.c). Internal to src/nn. */
#ifndef SQ_NN_VEXP_SIMD_H
#define SQ_NN_VEXP_SIMD_H

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define SQ_VX_LO (-110.0f)
#define SQ_VX_HI 100.0f
#define SQ_VX_LOG2E 1.44269504088896341f
#define SQ_VX_C1 0.693359375f /* ln 2 = C1 + C2, C1 with few bits so n * C1 is exact */
#define SQ_VX_C2 (-2.12194440e-4f)
#define SQ_VX_P0 1.9875691500e-4f
#define SQ_VX_P1 1.3981999507e-3f
#define SQ_VX_P2 8.3334519073e-3f
#define SQ_VX_P3 4.1665795894e-2f
#define SQ_VX_P4 1.6666665459e-1f
#define SQ_VX_P5 5.0000001201e-1f

/* ---- portable C: one float ---- */
static inline float sq__pow2i(int n) { /* 2^n for -126 <= n <= 127 */
    uint32_t u = (uint32_t)(n + 127) << 23;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline float sq__exp1(float x) {
    if (!(x >= SQ_VX_LO)) x = x != x ? x : SQ_VX_LO; /* NaN stays, -inf and below clamp */
    if (x > SQ_VX_HI) x = SQ_VX_HI;
    if (x != x) return x;
    const float n = floorf(x * SQ_VX_LOG2E + 0.5f);
    float r = x - n * SQ_VX_C1;
    r = r - n * SQ_VX_C2;
    float p = SQ_VX_P0;
    p = p * r + SQ_VX_P1;
    p = p * r + SQ_VX_P2;
    p = p * r + SQ_VX_P3;
    p = p * r + SQ_VX_P4;
    p = p * r + SQ_VX_P5;
    p = p * r * r + r + 1.0f;
    const int ni = (int)n, n1 = ni >> 1;
    return p * sq__pow2i(n1) * sq__pow2i(ni - n1);
}

/* ---- AVX2 + FMA: 8 floats ---- */
#define SQ_T2 __attribute__((target("avx2,fma")))

SQ_T2 static inline __m256 sq__exp8(__m256 x) {
    x = _mm256_max_ps(_mm256_set1_ps(SQ_VX_LO), x); /* the second operand is returned for NaN */
    x = _mm256_min_ps(_mm256_set1_ps(SQ_VX_HI), x);
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(SQ_VX_LOG2E)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(SQ_VX_C1), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(SQ_VX_C2), r);
    __m256 p = _mm256_set1_ps(SQ_VX_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(SQ_VX_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(SQ_VX_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(SQ_VX_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(SQ_VX_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(SQ_VX_P5));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i ni = _mm256_cvtps_epi32(n), n1 = _mm256_srai_epi32(ni, 1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const __m256 s2 = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, n1), bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

/* ---- AVX-512F: 16 floats ---- */
#define SQ_T5 __attribute__((target("avx512f")))

SQ_T5 static inline __m512 sq__exp16(__m512 x) {
    x = _mm512_max_ps(_mm512_set1_ps(SQ_VX_LO), x);
    x = _mm512_min_ps(_mm512_set1_ps(SQ_VX_HI), x);
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(SQ_VX_LOG2E)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(SQ_VX_C1), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(SQ_VX_C2), r);
    __m512 p = _mm512_set1_ps(SQ_VX_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(SQ_VX_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(SQ_VX_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(SQ_VX_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(SQ_VX_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(SQ_VX_P5));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n); /* p * 2^n, rounded once into the denormal range */
}

#endif
