/* Full softmax cross-entropy over the whole catalogue, forward and backward fused.
 *
 * The (N, V) logits are never stored: with V = 54,542 even one 128-row block of them is
 * 28 MB, and the old loop (one sgemm into that block, then max, exp, scale, two sgemms)
 * streamed it through memory six times. Instead, per block of CE_ROWS rows, each thread
 * owns a contiguous range of item tiles (CE_TILE items, so the tile's logits stay in L2):
 *   pass 1: logits of a tile (sgemm), running max and sum of exp per row (online softmax,
 *           vectorised exp of src/nn/vexp.c); then the threads' (max, sum) pairs are merged
 *           in thread order into each row's log-sum-exp;
 *   pass 2 (gradient only): the same tile's logits again, turned in place into
 *           g * (softmax - onehot), then dtable[tile] += P^T h and dh += P E[tile] into a
 *           per-thread buffer, added to dh in thread order at the end of the block.
 * The logits are computed twice (4 products instead of 3), which costs less than the
 * memory traffic it saves. The loss does not depend on whether a gradient is asked for,
 * and results depend only on the inputs and the thread count (fixed partition, fixed
 * merge order): training stays reproducible for a given seed and --threads.
 *
 * With AVX-512 and C a multiple of 16, ce_full_avx512.c does the same with its own
 * kernels (1.25x faster on one core at V = 54,542, C = 64: no packing, no horizontal
 * reductions); this file is the path for every other CPU and width. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "nn/ce_full.h"
#include "nn/ce_full_tiles.h"
#include "nn/vexp.h"
#include "shopseq/nn.h"

#define CE_ROWS SQ_CE_ROWS
#define CE_TILE 128

/* thread u's running max per row (its running sums, as doubles, follow) */
static inline float *part_max(float *work, size_t per, int C, int u) {
    return work + (size_t)u * per + (size_t)CE_ROWS * CE_TILE + (size_t)CE_ROWS * C;
}

/* per row of a block: the log-sum-exp, the target's logit, the row loss */
size_t sq_nn_ce_scratch_size(int V) {
    (void)V;
    return (size_t)CE_ROWS * 3;
}

double sq_nn_ce_full(float *dh, float *dtable, const float *h, const float *table,
                    const uint32_t *target, int N, int V, int C, float grad_scale, float *scratch,
                    sq_nn_ws *ws) {
    return sq_nn_ce_full_bias(dh, dtable, NULL, h, table, NULL, target, N, V, C, grad_scale,
                              scratch, ws);
}

double sq_nn_ce_full_bias(float *dh, float *dtable, float *dbias, const float *h,
                         const float *table, const float *bias, const uint32_t *target, int N,
                         int V, int C, float grad_scale, float *scratch, sq_nn_ws *ws) {
    if (sq__ce_full_avx512_ok(C))
        return sq__ce_full_avx512(dh, dtable, dbias, h, table, bias, target, N, V, C, grad_scale,
                                  scratch, ws);
    return sq__ce_full_blas(dh, dtable, dbias, h, table, bias, target, N, V, C, grad_scale,
                            scratch, ws);
}

/* the per-item output bias onto the logits S (R, w) of the tile at item v0 */
static void add_bias(float *S, int R, int w, const float *bias) {
    for (int r = 0; r < R; r++)
        for (int j = 0; j < w; j++) S[(size_t)r * w + j] += bias[j];
}

double sq__ce_full_blas(float *dh, float *dtable, float *dbias, const float *h,
                        const float *table, const float *bias, const uint32_t *target, int N,
                        int V, int C, float grad_scale, float *scratch, sq_nn_ws *ws) {
    if (N <= 0 || V <= 0) return 0.0;
    const sq__vexp_ops *vx = sq__vexp_best();
    const float g = grad_scale / (float)N;
    const int ntiles = (V + CE_TILE - 1) / CE_TILE;
    const int nt = omp_get_max_threads();
    /* per thread: logits tile (CE_ROWS, CE_TILE), dh part (CE_ROWS, C), max, sum (double) */
    const size_t per = (size_t)CE_ROWS * CE_TILE + (size_t)CE_ROWS * C + (size_t)CE_ROWS * 3;
    sq_nn_ws own = {0};
    float *work = sq_nn_ws_get(ws ? ws : &own, (size_t)nt * per * sizeof *work);
    if (!work) return NAN;
    float *lse = scratch, *lt = lse + CE_ROWS, *rowloss = lt + CE_ROWS;
    double total = 0.0;
#pragma omp parallel num_threads(nt)
    {
        const int T = omp_get_num_threads(), t = omp_get_thread_num();
        float *S = work + (size_t)t * per, *dhp = S + (size_t)CE_ROWS * CE_TILE;
        float *mx = part_max(work, per, C, t);
        double *sm = (double *)(mx + CE_ROWS); /* 2 floats per double; per is a multiple of 2 */
        int tb, te;
        sq__ce_chunk(ntiles, T, t, &tb, &te);
        for (int r0 = 0; r0 < N; r0 += CE_ROWS) {
            const int R = r0 + CE_ROWS < N ? CE_ROWS : N - r0;
            const float *hb = h + (size_t)r0 * C;
            const uint32_t *tg = target + r0;
            for (int r = 0; r < R; r++) mx[r] = -INFINITY, sm[r] = 0.0;
            for (int k = tb; k < te; k++) {
                const int v0 = k * CE_TILE, w = v0 + CE_TILE < V ? CE_TILE : V - v0;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, R, w, C, 1.0f, hb, C,
                            table + (size_t)v0 * C, C, 0.0f, S, w);
                if (bias) add_bias(S, R, w, bias + v0);
                for (int r = 0; r < R; r++) {
                    const float *l = S + (size_t)r * w;
                    const float m = vx->max(l, w);
                    if (m > mx[r]) { /* rescale the running sum to the new max */
                        sm[r] = sm[r] * exp((double)mx[r] - m) + vx->sum_exp(l, w, m);
                        mx[r] = m;
                    } else if (m > -INFINITY) {
                        sm[r] += vx->sum_exp(l, w, mx[r]);
                    }
                    if (tg[r] >= (uint32_t)v0 && tg[r] < (uint32_t)(v0 + w)) lt[r] = l[tg[r] - v0];
                }
            }
#pragma omp barrier
            { /* merge the threads' (max, sum) in thread order, rows split among threads */
                int rb, re;
                sq__ce_chunk(R, T, t, &rb, &re);
                for (int r = rb; r < re; r++) {
                    lse[r] = sq__ce_lse_merge(part_max(work, per, C, 0), per, CE_ROWS, T, r);
                    rowloss[r] = lse[r] - lt[r];
                }
            }
#pragma omp barrier
            if (dh) {
                memset(dhp, 0, (size_t)R * C * sizeof *dhp);
                for (int k = tb; k < te; k++) {
                    const int v0 = k * CE_TILE, w = v0 + CE_TILE < V ? CE_TILE : V - v0;
                    const float *Et = table + (size_t)v0 * C;
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, R, w, C, 1.0f, hb, C, Et,
                                C, 0.0f, S, w);
                    if (bias) add_bias(S, R, w, bias + v0);
                    for (int r = 0; r < R; r++) {
                        float *l = S + (size_t)r * w;
                        vx->exp_scale(l, l, w, lse[r], g);
                        if (tg[r] >= (uint32_t)v0 && tg[r] < (uint32_t)(v0 + w)) l[tg[r] - v0] -= g;
                    }
                    if (dbias) /* this thread's own items: the column sums of P */
                        for (int j = 0; j < w; j++) {
                            float sum = 0.0f;
                            for (int r = 0; r < R; r++) sum += S[(size_t)r * w + j];
                            dbias[v0 + j] += sum;
                        }
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, w, C, R, 1.0f, S, w, hb,
                                C, 1.0f, dtable + (size_t)v0 * C, C);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, C, w, 1.0f, S, w, Et,
                                C, 1.0f, dhp, C);
                }
#pragma omp barrier
                int rb, re;
                sq__ce_chunk(R, T, t, &rb, &re);
                for (int u = 0; u < T; u++) {
                    const float *p = work + (size_t)u * per + (size_t)CE_ROWS * CE_TILE;
                    for (int r = rb; r < re; r++) {
                        float *d = dh + (size_t)(r0 + r) * C;
                        const float *s = p + (size_t)r * C;
                        for (int c = 0; c < C; c++) d[c] += s[c];
                    }
                }
            }
#pragma omp barrier
#pragma omp master
            for (int r = 0; r < R; r++) total += rowloss[r];
#pragma omp barrier
        }
    }
    sq_nn_ws_free(&own);
    return total / N;
}
