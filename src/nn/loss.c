/* Output losses over an item-embedding table: full softmax cross-entropy, sampled softmax,
 * binary cross-entropy with sampled negatives. Forward and backward are fused: the logits
 * of the full softmax (N x V) are never stored whole, only CE_ROWS rows at a time. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "shopseq/nn.h"

#define CE_ROWS 128

static inline void chunk(int n, int parts, int idx, int *b, int *e) {
    int q = n / parts, r = n % parts;
    *b = idx * q + (idx < r ? idx : r);
    *e = *b + q + (idx < r);
}

size_t sq_nn_ce_scratch_size(int V) { return (size_t)CE_ROWS * (size_t)V + CE_ROWS; }

double sq_nn_ce_full(float *dh, float *dtable, const float *h, const float *table,
                    const uint32_t *target, int N, int V, int C, float grad_scale, float *scratch) {
    double total = 0.0;
    const float g = N > 0 ? grad_scale / (float)N : 0.0f;
    float *rowloss = scratch + (size_t)CE_ROWS * V;
    for (int c0 = 0; c0 < N; c0 += CE_ROWS) {
        const int R = c0 + CE_ROWS < N ? CE_ROWS : N - c0;
        const float *hc = h + (size_t)c0 * C;
        float *lg = scratch; /* (R, V) */
#pragma omp parallel
        {
            const int nt = omp_get_num_threads(), t = omp_get_thread_num();
            int v0, v1, r0, r1;
            chunk(V, nt, t, &v0, &v1);
            chunk(R, nt, t, &r0, &r1);
            if (v1 > v0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, R, v1 - v0, C, 1.0f, hc, C,
                            table + (size_t)v0 * C, C, 0.0f, lg + v0, V);
#pragma omp barrier
            for (int r = r0; r < r1; r++) {
                float *l = lg + (size_t)r * V;
                float mx = -INFINITY;
                for (int v = 0; v < V; v++) mx = l[v] > mx ? l[v] : mx;
                /* one exp per logit (it dominates the epoch with a big catalogue): the
                 * exponentials stay in place and are scaled into the gradient */
                const float lt = l[target[c0 + r]];
                double sum = 0.0;
                for (int v = 0; v < V; v++) {
                    l[v] = expf(l[v] - mx);
                    sum += l[v];
                }
                rowloss[r] = mx + (float)log(sum) - lt;
                if (dh) {
                    const float k = (float)((double)g / sum);
                    for (int v = 0; v < V; v++) l[v] *= k;
                    l[target[c0 + r]] -= g;
                }
            }
            if (dh) {
#pragma omp barrier
                if (r1 > r0)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, C, V, 1.0f,
                                lg + (size_t)r0 * V, V, table, C, 1.0f,
                                dh + (size_t)(c0 + r0) * C, C);
                if (v1 > v0)
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, v1 - v0, C, R, 1.0f,
                                lg + v0, V, hc, C, 1.0f, dtable + (size_t)v0 * C, C);
            }
        }
        for (int r = 0; r < R; r++) total += rowloss[r];
    }
    return N > 0 ? total / N : 0.0;
}

static inline float dot(const float *a, const float *b, int C) {
    float s = 0.0f;
    for (int c = 0; c < C; c++) s += a[c] * b[c];
    return s;
}

static inline float softplus(float x) { return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x))); }
static inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* Shared driver: row i has classes cls(i, 0..K) (0 = target). The kind decides the loss
 * and the logit gradients. Row-parallel for loss and dh; dtable serially in row order. */
static double sampled_common(int bce, float *dh, float *dtable, const float *h,
                            const float *table, const uint32_t *target, const uint32_t *neg,
                            int N, int K, int C, float grad_scale) {
    if (N <= 0) return 0.0f;
    const int K1 = K + 1;
    float *dl = malloc((size_t)N * K1 * sizeof(float) + (size_t)N * sizeof(float));
    if (!dl) return NAN;
    float *rl = dl + (size_t)N * K1;
    const float g = grad_scale / (float)N;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const float *hi = h + (size_t)i * C;
        float *d = dl + (size_t)i * K1;
        for (int j = 0; j < K1; j++) {
            uint32_t c = j == 0 ? target[i] : neg[(size_t)i * K + j - 1];
            d[j] = dot(hi, table + (size_t)c * C, C);
        }
        if (bce) {
            float l = softplus(-d[0]);
            d[0] = (sigmoid(d[0]) - 1.0f) * g;
            for (int j = 1; j < K1; j++) {
                l += softplus(d[j]);
                d[j] = sigmoid(d[j]) * g;
            }
            rl[i] = l;
        } else {
            float mx = -INFINITY;
            for (int j = 0; j < K1; j++) mx = d[j] > mx ? d[j] : mx;
            float sum = 0.0f;
            for (int j = 0; j < K1; j++) sum += expf(d[j] - mx);
            const float lse = mx + logf(sum);
            rl[i] = lse - d[0];
            for (int j = 0; j < K1; j++) d[j] = expf(d[j] - lse) * g;
            d[0] -= g;
        }
        if (dh) {
            float *dhi = dh + (size_t)i * C;
            for (int j = 0; j < K1; j++) {
                uint32_t c = j == 0 ? target[i] : neg[(size_t)i * K + j - 1];
                const float *e = table + (size_t)c * C;
                for (int cc = 0; cc < C; cc++) dhi[cc] += d[j] * e[cc];
            }
        }
    }
    double total = 0.0;
    for (int i = 0; i < N; i++) total += rl[i];
    if (dh) {
        for (int i = 0; i < N; i++) {
            const float *hi = h + (size_t)i * C, *d = dl + (size_t)i * K1;
            for (int j = 0; j < K1; j++) {
                uint32_t c = j == 0 ? target[i] : neg[(size_t)i * K + j - 1];
                float *e = dtable + (size_t)c * C;
                for (int cc = 0; cc < C; cc++) e[cc] += d[j] * hi[cc];
            }
        }
    }
    free(dl);
    return total / N;
}

double sq_nn_sampled_softmax(float *dh, float *dtable, const float *h, const float *table,
                            const uint32_t *target, const uint32_t *neg, int N, int K, int C,
                            float grad_scale) {
    return sampled_common(0, dh, dtable, h, table, target, neg, N, K, C, grad_scale);
}

double sq_nn_bce_neg(float *dh, float *dtable, const float *h, const float *table,
                    const uint32_t *target, const uint32_t *neg, int N, int K, int C,
                    float grad_scale) {
    return sampled_common(1, dh, dtable, h, table, target, neg, N, K, C, grad_scale);
}
