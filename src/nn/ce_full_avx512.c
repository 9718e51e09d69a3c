/* Full softmax cross-entropy with AVX-512 kernels (the blocking is ce_full.c's: row blocks,
 * item tiles, pass 1 for the log-sum-exp, pass 2 for the gradient; here the tiles go out in
 * groups, see GROUPS).
 *
 * The logits of a tile are computed item-major, S^T (w items, RP rows), so all the softmax
 * does per row -- running max, sum of exp, the probabilities -- is vertical work, 16 rows
 * per vector, with no horizontal reductions. The three products are one register-blocked
 * micro-kernel,
 *     out[a][0..16 NB) (+)= sum_k x[a*xa + k*xk] * Y[k][0..16 NB)    (a < NA <= 6, NB <= 4)
 * 24 accumulators, NB loads and NA broadcasts per k:
 *     S^T[j][r]  = sum_c E[j][c] h^T[c][r]       (h^T: the row block transposed once)
 *     dE[j][c]  += sum_r P^T[j][r] h[r][c]
 *     dh[r][c]  += sum_j P^T[j][r] E[j][c]
 * which is what OpenBLAS spends on packing and its small-matrix paths saved, and no
 * (rows x tile) logits ever leave L2. */
#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <string.h>

#include "nn/ce_full.h"
#include "nn/ce_full_tiles.h"
#include "nn/vexp_simd.h"

#define TILE 128 /* items per tile: S^T (TILE, RP) is 512 KB at 1024 rows, in L2 */
#define KCH 128  /* rows per chunk of dE's sum: the chunk of h (32 KB at C = 64) stays in L1 */
/* The item tiles are dealt out in GROUPS fixed groups, taken by the threads as they come
 * free (on a shared machine one thread is often descheduled mid-pass: a static split left
 * the other waiting at the barrier). Each group keeps its own partial results, merged in
 * group order, so results do not depend on which thread ran what -- nor on the thread
 * count. */
#define GROUPS 16

typedef void (*mk_fn)(int K, const float *x, ptrdiff_t xa, ptrdiff_t xk, const float *Y,
                      ptrdiff_t ys, float *out, ptrdiff_t os, int acc);

SQ_T5 static inline __attribute__((always_inline)) void mk(const int NA, const int NB, int K,
                                                           const float *x, ptrdiff_t xa,
                                                           ptrdiff_t xk, const float *Y,
                                                           ptrdiff_t ys, float *out,
                                                           ptrdiff_t os, int acc) {
    __m512 c[6][4];
#pragma GCC unroll 6
    for (int a = 0; a < NA; a++)
#pragma GCC unroll 4
        for (int b = 0; b < NB; b++)
            c[a][b] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        const float *y = Y + k * ys, *xr = x + k * xk;
        __m512 yv[4];
#pragma GCC unroll 4
        for (int b = 0; b < NB; b++) yv[b] = _mm512_loadu_ps(y + 16 * b);
#pragma GCC unroll 6
        for (int a = 0; a < NA; a++) {
            const __m512 xb = _mm512_set1_ps(xr[a * xa]);
#pragma GCC unroll 4
            for (int b = 0; b < NB; b++) c[a][b] = _mm512_fmadd_ps(xb, yv[b], c[a][b]);
        }
    }
    /* the sum is added to out at the end, not accumulated onto it: out may be much larger
     * than the terms (BLAS's beta = 1 does the same) */
#pragma GCC unroll 6
    for (int a = 0; a < NA; a++)
#pragma GCC unroll 4
        for (int b = 0; b < NB; b++) {
            float *o = out + a * os + 16 * b;
            _mm512_storeu_ps(o, acc ? _mm512_add_ps(_mm512_loadu_ps(o), c[a][b]) : c[a][b]);
        }
}

#define MK(na, nb)                                                                              \
    SQ_T5 static void mk_##na##_##nb(int K, const float *x, ptrdiff_t xa, ptrdiff_t xk,          \
                                     const float *Y, ptrdiff_t ys, float *out, ptrdiff_t os,   \
                                     int acc) {                                                \
        mk(na, nb, K, x, xa, xk, Y, ys, out, os, acc);                                         \
    }
#define MK4(na) MK(na, 1) MK(na, 2) MK(na, 3) MK(na, 4)
MK4(1) MK4(2) MK4(3) MK4(4) MK4(5) MK4(6)
#define ROW(na) {mk_##na##_1, mk_##na##_2, mk_##na##_3, mk_##na##_4}
static const mk_fn MKS[6][4] = {ROW(1), ROW(2), ROW(3), ROW(4), ROW(5), ROW(6)};

/* out (A, L) (+)= x (A, K) Y (K, L), L a multiple of 16; x[a][k] at x[a*xa + k*xk] */
static void gemm(int A, int K, const float *x, ptrdiff_t xa, ptrdiff_t xk, const float *Y,
                 ptrdiff_t ys, float *out, ptrdiff_t os, int L, int acc) {
    for (int l0 = 0; l0 < L; l0 += 64) {
        const int nb = L - l0 >= 64 ? 4 : (L - l0) / 16;
        for (int a0 = 0; a0 < A; a0 += 6) {
            const int na = A - a0 >= 6 ? 6 : A - a0;
            MKS[na - 1][nb - 1](K, x + a0 * xa, xa, xk, Y + l0, ys, out + a0 * os + l0, os, acc);
        }
    }
}

int sq__ce_full_avx512_ok(int C) {
    return C > 0 && C % 16 == 0 && __builtin_cpu_supports("avx512f");
}

static inline size_t up16(size_t n) { return (n + 15) / 16 * 16; }

SQ_T5 static inline __m256 hi8(__m512 v) {
    return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
}

/* pass 1 over one tile: fold S^T (w, RP) into the running max mx and sum sm of each row */
SQ_T5 static void fold_tile(const float *S, int w, int RP, float *mx, double *sm, float *tmp) {
    /* tmp: 3 RP floats */
    float *tm = tmp, *ts = tmp + RP;
    for (int q = 0; q < RP; q += 16) _mm512_storeu_ps(tm + q, _mm512_loadu_ps(mx + q));
    for (int j = 0; j < w; j++) /* NaN logits are skipped by the max, as in vexp.c */
        for (int q = 0; q < RP; q += 16)
            _mm512_storeu_ps(tm + q, _mm512_max_ps(_mm512_loadu_ps(S + (size_t)j * RP + q),
                                                   _mm512_loadu_ps(tm + q)));
    /* tm is now the new running max M; the shifts use M, or 0 where M = -inf (every logit
     * so far -inf: then both exps below are exp(-inf) = 0, not NaN) */
    float *sh = ts + RP;
    for (int q = 0; q < RP; q += 16) {
        const __m512 m = _mm512_loadu_ps(tm + q);
        const __mmask16 fin = _mm512_cmp_ps_mask(m, _mm512_set1_ps(-INFINITY), _CMP_NEQ_OQ);
        _mm512_storeu_ps(sh + q, _mm512_maskz_mov_ps(fin, m));
        _mm512_storeu_ps(ts + q, _mm512_setzero_ps());
    }
    for (int j = 0; j < w; j++)
        for (int q = 0; q < RP; q += 16) {
            const __m512 e = sq__exp16(_mm512_sub_ps(_mm512_loadu_ps(S + (size_t)j * RP + q),
                                                     _mm512_loadu_ps(sh + q)));
            _mm512_storeu_ps(ts + q, _mm512_add_ps(_mm512_loadu_ps(ts + q), e));
        }
    for (int q = 0; q < RP; q += 16) {
        const __m512 sc = sq__exp16(_mm512_sub_ps(_mm512_loadu_ps(mx + q), _mm512_loadu_ps(sh + q)));
        const __m512 t = _mm512_loadu_ps(ts + q);
        for (int half = 0; half < 2; half++) {
            const __m256 sc8 = half ? hi8(sc) : _mm512_castps512_ps256(sc);
            const __m256 t8 = half ? hi8(t) : _mm512_castps512_ps256(t);
            const __m512d s = _mm512_loadu_pd(sm + q + 8 * half);
            _mm512_storeu_pd(sm + q + 8 * half,
                             _mm512_fmadd_pd(s, _mm512_cvtps_pd(sc8), _mm512_cvtps_pd(t8)));
        }
        _mm512_storeu_ps(mx + q, _mm512_loadu_ps(tm + q));
    }
}

/* pass 2 over one tile: S^T becomes P^T = g * softmax in place (rows past R: lse = +inf,
 * so 0), minus g at each target in the tile */
SQ_T5 static void probs_tile(float *S, int w, int RP, const float *lse, float g,
                             const uint32_t *tg, int R, uint32_t v0) {
    const __m512 gv = _mm512_set1_ps(g);
    for (int j = 0; j < w; j++) {
        float *s = S + (size_t)j * RP;
        for (int q = 0; q < RP; q += 16)
            _mm512_storeu_ps(s + q, _mm512_mul_ps(sq__exp16(_mm512_sub_ps(_mm512_loadu_ps(s + q),
                                                                          _mm512_loadu_ps(lse + q))),
                                                  gv));
    }
    for (int r = 0; r < R; r++)
        if (tg[r] - v0 < (uint32_t)w) S[(size_t)(tg[r] - v0) * RP + r] -= g;
}

/* the per-item output bias onto S^T (w, RP) of the tile at item v0 (padded rows too: they
 * are dropped by lse = +inf) */
SQ_T5 static void add_bias(float *S, int w, int RP, const float *bias) {
    for (int j = 0; j < w; j++) {
        const __m512 b = _mm512_set1_ps(bias[j]);
        float *s = S + (size_t)j * RP;
        for (int q = 0; q < RP; q += 16) _mm512_storeu_ps(s + q, _mm512_add_ps(_mm512_loadu_ps(s + q), b));
    }
}

/* dbias[j] += sum over the R rows of P^T[j] */
static void bias_grad(const float *S, int w, int RP, int R, float *dbias) {
    for (int j = 0; j < w; j++) {
        const float *s = S + (size_t)j * RP;
        float sum = 0.0f;
        for (int r = 0; r < R; r++) sum += s[r];
        dbias[j] += sum;
    }
}

double sq__ce_full_avx512(float *dh, float *dtable, float *dbias, const float *h,
                          const float *table, const float *bias, const uint32_t *target, int N,
                          int V, int C, float grad_scale, float *scratch, sq_nn_ws *ws) {
    if (!sq__ce_full_avx512_ok(C)) return NAN;
    if (N <= 0 || V <= 0) return 0.0;
    const float g = grad_scale / (float)N;
    const int ntiles = (V + TILE - 1) / TILE, G = ntiles < GROUPS ? ntiles : GROUPS;
    const int nt = omp_get_max_threads();
    const int RB = N < SQ_CE_ROWS ? N : SQ_CE_ROWS, RP = (RB + 15) / 16 * 16;
    /* shared: h^T (C, RP), lse (RP); per group: running max (RP), running sum (RP doubles),
     * dh part (RB, C); per thread: S^T (TILE, RP), 3 RP temporaries. Offsets are multiples
     * of 16 floats. */
    const size_t shared = up16((size_t)C * RP + RP), pg = up16((size_t)RP * 3 + (size_t)RB * C);
    const size_t pt = up16((size_t)TILE * RP + (size_t)RP * 3);
    sq_nn_ws own = {0};
    float *work = sq_nn_ws_get(ws ? ws : &own, (shared + (size_t)G * pg + (size_t)nt * pt) * sizeof *work);
    if (!work) return NAN;
    float *hT = work, *lse = hT + (size_t)C * RP, *grp = work + shared;
    float *lt = scratch, *rowloss = lt + SQ_CE_ROWS;
    double total = 0.0;
#pragma omp parallel num_threads(nt)
    {
        float *S = grp + (size_t)G * pg + (size_t)omp_get_thread_num() * pt;
        float *tmp = S + (size_t)TILE * RP;
        for (int r0 = 0; r0 < N; r0 += RB) {
            const int R = r0 + RB < N ? RB : N - r0;
            const float *hb = h + (size_t)r0 * C;
            const uint32_t *tg = target + r0;
#pragma omp for schedule(static)
            for (int c = 0; c < C; c++) {
                float *d = hT + (size_t)c * RP;
                for (int r = 0; r < R; r++) d[r] = hb[(size_t)r * C + c];
                for (int r = R; r < RP; r++) d[r] = 0.0f;
            }
            /* pass 1: each group of tiles folds into its own (max, sum) per row */
#pragma omp for schedule(dynamic, 1)
            for (int gi = 0; gi < G; gi++) {
                float *mx = grp + (size_t)gi * pg;
                double *sm = (double *)(mx + RP);
                int tb, te;
                sq__ce_chunk(ntiles, G, gi, &tb, &te);
                for (int q = 0; q < RP; q++) mx[q] = -INFINITY, sm[q] = 0.0;
                for (int k = tb; k < te; k++) {
                    const int v0 = k * TILE, w = v0 + TILE < V ? TILE : V - v0;
                    gemm(w, C, table + (size_t)v0 * C, C, 1, hT, RP, S, RP, RP, 0);
                    if (bias) add_bias(S, w, RP, bias + v0);
                    fold_tile(S, w, RP, mx, sm, tmp);
                    for (int r = 0; r < R; r++)
                        if (tg[r] - (uint32_t)v0 < (uint32_t)w) lt[r] = S[(size_t)(tg[r] - v0) * RP + r];
                }
            }
            /* merge the groups in group order */
#pragma omp for schedule(static)
            for (int r = 0; r < RP; r++) {
                if (r >= R) {
                    lse[r] = INFINITY;
                    continue;
                }
                lse[r] = sq__ce_lse_merge(grp, pg, (size_t)RP, G, r);
                rowloss[r] = lse[r] - lt[r];
            }
            if (dh) {
                /* pass 2: dtable rows are the group's own; dh goes to the group's part */
#pragma omp for schedule(dynamic, 1)
                for (int gi = 0; gi < G; gi++) {
                    float *dhp = grp + (size_t)gi * pg + (size_t)RP * 3;
                    int tb, te;
                    sq__ce_chunk(ntiles, G, gi, &tb, &te);
                    memset(dhp, 0, (size_t)R * C * sizeof *dhp);
                    for (int k = tb; k < te; k++) {
                        const int v0 = k * TILE, w = v0 + TILE < V ? TILE : V - v0;
                        const float *Et = table + (size_t)v0 * C;
                        gemm(w, C, Et, C, 1, hT, RP, S, RP, RP, 0);
                        if (bias) add_bias(S, w, RP, bias + v0);
                        probs_tile(S, w, RP, lse, g, tg, R, (uint32_t)v0);
                        if (dbias) bias_grad(S, w, RP, R, dbias + v0); /* the group's own items */
                        for (int k0 = 0; k0 < R; k0 += KCH)
                            gemm(w, R - k0 < KCH ? R - k0 : KCH, S + k0, RP, 1, hb + (size_t)k0 * C,
                                 C, dtable + (size_t)v0 * C, C, C, 1);
                        gemm(R, w, S, 1, RP, Et, C, dhp, C, C, 1);
                    }
                }
#pragma omp for schedule(static)
                for (int r = 0; r < R; r++) {
                    float *d = dh + (size_t)(r0 + r) * C;
                    for (int gi = 0; gi < G; gi++) {
                        const float *p = grp + (size_t)gi * pg + (size_t)RP * 3 + (size_t)r * C;
                        for (int c = 0; c < C; c++) d[c] += p[c];
                    }
                }
            }
#pragma omp single
            for (int r = 0; r < R; r++) total += rowloss[r];
        }
    }
    sq_nn_ws_free(&own);
    return total / N;
}
