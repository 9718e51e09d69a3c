/* Output losses over an item-embedding table with a few classes per row: sampled softmax,
 * binary cross-entropy with sampled negatives (the full softmax is in ce_full.c). */
#include <math.h>
#include <stdlib.h>

#include "shopseq/nn.h"

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
