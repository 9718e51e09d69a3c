/* What the two full-softmax CE paths (ce_full.c, ce_full_avx512.c) share: the split of the
 * item tiles (and rows) into parts, and the merge of the parts' online log-sum-exp.
 * Internal to src/nn. */
#ifndef SQ_NN_CE_FULL_TILES_H
#define SQ_NN_CE_FULL_TILES_H

#include <math.h>
#include <stddef.h>

/* part idx of n items split into `parts` contiguous parts, sizes differing by at most 1 */
static inline void sq__ce_chunk(int n, int parts, int idx, int *b, int *e) {
    int q = n / parts, r = n % parts;
    *b = idx * q + (idx < r ? idx : r);
    *e = *b + q + (idx < r);
}

/* Row r's log-sum-exp from n parts' running (max, sum of exp(logit - max)) pairs, merged
 * in part order, so the result depends only on the partition: part u's max of row r is
 * part0[u * stride + r], its sum the double at ((double *)(part0 + u * stride + sums))[r].
 * A part that saw no finite logit (max -inf) adds nothing. */
static inline float sq__ce_lse_merge(const float *part0, size_t stride, size_t sums, int n,
                                     int r) {
    float m = -INFINITY;
    for (int u = 0; u < n; u++) m = fmaxf(m, part0[(size_t)u * stride + r]);
    double s = 0.0;
    for (int u = 0; u < n; u++) {
        const float *mx = part0 + (size_t)u * stride;
        if (mx[r] > -INFINITY) s += ((const double *)(mx + sums))[r] * exp((double)mx[r] - m);
    }
    return m + (float)log(s);
}

#endif
