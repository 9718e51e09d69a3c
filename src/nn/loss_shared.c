/* Softmax cross-entropy over one candidate set shared by every row of a batch (the batch's
 * targets plus uniform samples): three products instead of a full-catalogue softmax. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/candidates.h"
#include "shopseq/nn.h"

void sq__cand_scores(float *Ec, float *lg, const float *h, const float *table,
                     const uint32_t *cand, int K, int N, int C) {
    for (int k = 0; k < K; k++)
        memcpy(Ec + (size_t)k * C, table + (size_t)cand[k] * C, (size_t)C * sizeof *Ec);
    sq_nn_linear_forward(lg, h, Ec, NULL, N, C, K);
}

double sq__cand_finish(float *dh, float *dtable, const float *h, const float *Ec, float *dEc,
                       const float *lg, const float *rowloss, const uint32_t *cand, int K,
                       int N, int C) {
    double total = 0.0;
    for (int i = 0; i < N; i++) total += rowloss[i];
    if (dh) {
        memset(dEc, 0, (size_t)K * C * sizeof *dEc);
        sq_nn_linear_backward(dh, dEc, NULL, lg, h, Ec, N, C, K);
        for (int k = 0; k < K; k++) { /* serial: candidates are distinct, order fixed */
            float *d = dtable + (size_t)cand[k] * C;
            const float *s = dEc + (size_t)k * C;
            for (int c = 0; c < C; c++) d[c] += s[c];
        }
    }
    return total / N;
}

size_t sq_nn_ce_shared_scratch_size(int N, int K, int C) {
    return (size_t)K * C * 2 + (size_t)N * K + (size_t)N;
}

double sq_nn_ce_shared(float *dh, float *dtable, const float *h, const float *table,
                       const uint32_t *cand, int K, const int *target_col, int N, int C,
                       float grad_scale, float *scratch) {
    return sq_nn_ce_shared_logq(dh, dtable, h, table, cand, K, target_col, N, C, NULL,
                                grad_scale, scratch);
}

double sq_nn_ce_shared_logq(float *dh, float *dtable, const float *h, const float *table,
                            const uint32_t *cand, int K, const int *target_col, int N, int C,
                            const float *col_logq, float grad_scale, float *scratch) {
    if (N <= 0 || K <= 0) return 0.0;
    float *Ec = scratch, *dEc = Ec + (size_t)K * C, *lg = dEc + (size_t)K * C,
          *rowloss = lg + (size_t)N * K;
    sq__cand_scores(Ec, lg, h, table, cand, K, N, C); /* (N, K) */
    const float g = grad_scale / (float)N;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        float *l = lg + (size_t)i * K;
        if (col_logq) /* a constant per column: the gradient wrt the logits keeps its form */
            for (int k = 0; k < K; k++) l[k] -= col_logq[k];
        float mx = -INFINITY;
        for (int k = 0; k < K; k++) mx = l[k] > mx ? l[k] : mx;
        double sum = 0.0;
        for (int k = 0; k < K; k++) sum += expf(l[k] - mx);
        const float lse = mx + (float)log(sum);
        rowloss[i] = lse - l[target_col[i]];
        if (dh) {
            for (int k = 0; k < K; k++) l[k] = expf(l[k] - lse) * g;
            l[target_col[i]] -= g;
        }
    }
    return sq__cand_finish(dh, dtable, h, Ec, dEc, lg, rowloss, cand, K, N, C);
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int sq_nn_shared_candidates(uint32_t *cand, int *target_col, const uint32_t *target, int N,
                            int n_samples, int V, uint64_t seed) {
    for (int s = 0; s < n_samples; s++) {
        uint32_t x = (uint32_t)(sq_nn_hash_uniform(seed, (uint64_t)s) * (float)V);
        cand[N + s] = x < (uint32_t)V ? x : (uint32_t)V - 1;
    }
    return sq_nn_shared_candidates_given(cand, target_col, target, N, cand + N, n_samples);
}

int sq_nn_shared_candidates_given(uint32_t *cand, int *target_col, const uint32_t *target, int N,
                                  const uint32_t *samples, int n_samples) {
    int K = N + n_samples;
    if (samples != cand + N) memmove(cand + N, samples, (size_t)n_samples * sizeof *cand);
    memcpy(cand, target, (size_t)N * sizeof *cand);
    qsort(cand, (size_t)K, sizeof *cand, cmp_u32);
    int u = 0;
    for (int k = 0; k < K; k++)
        if (!u || cand[k] != cand[u - 1]) cand[u++] = cand[k];
    for (int i = 0; i < N; i++) { /* binary search of each target's column */
        int lo = 0, hi = u - 1;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (cand[mid] < target[i]) lo = mid + 1;
            else hi = mid;
        }
        target_col[i] = lo;
    }
    return u;
}
