/* BPR-max (Hidasi & Karatzoglou 2018, "Recurrent Neural Networks with Top-k Gains") over the
 * shared candidate set of sq_nn_ce_shared: each row's negatives are every candidate except
 * its own target, weighted by their softmax, so the loss focuses on the negatives that
 * score highest; the bpreg term keeps those scores near zero. */
#include <math.h>
#include <string.h>

#include "shopseq/nn.h"

static inline float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

double sq_nn_bprmax_shared(float *dh, float *dtable, const float *h, const float *table,
                           const uint32_t *cand, int K, const int *target_col, int N, int C,
                           float bpreg, float elu, float grad_scale, float *scratch) {
    if (N <= 0 || K <= 0) return 0.0;
    float *Ec = scratch, *dEc = Ec + (size_t)K * C, *lg = dEc + (size_t)K * C,
          *rowloss = lg + (size_t)N * K;
    for (int k = 0; k < K; k++)
        memcpy(Ec + (size_t)k * C, table + (size_t)cand[k] * C, (size_t)C * sizeof *Ec);
    sq_nn_linear_forward(lg, h, Ec, NULL, N, C, K); /* (N, K) raw scores */
    const float g = grad_scale / (float)N;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        float *l = lg + (size_t)i * K;
        const int t = target_col[i];
        if (K < 2) { /* no negative: nothing to rank against */
            rowloss[i] = 0.0f;
            l[0] = 0.0f;
            continue;
        }
        /* o = elu(x) (the official final activation), kept in l; the ELU's slope is
         * recovered from o: 1 where x > 0, else o + elu */
        if (elu > 0.0f)
            for (int k = 0; k < K; k++) l[k] = l[k] > 0.0f ? l[k] : elu * expm1f(l[k]);
        float mx = -INFINITY;
        for (int k = 0; k < K; k++)
            if (k != t && l[k] > mx) mx = l[k];
        double Z = 0.0;
        for (int k = 0; k < K; k++)
            if (k != t) Z += exp((double)(l[k] - mx));
        const float ot = l[t];
        double P = 0.0, R = 0.0, dPt = 0.0;
        for (int k = 0; k < K; k++) {
            if (k == t) continue;
            const double s = exp((double)(l[k] - mx)) / Z, sg = sigm(ot - l[k]);
            P += s * sg;
            R += s * (double)l[k] * l[k];
            dPt += s * sg * (1.0 - sg);
        }
        const double Pe = P + 1e-24;
        rowloss[i] = (float)(-log(Pe) + (double)bpreg * R);
        if (!dh) continue;
        /* d/do_j (j negative) = -s_j (sg_j^2 - P) / P + bpreg s_j (o_j^2 - R + 2 o_j);
         * d/do_t = -sum_k s_k sg_k (1 - sg_k) / P */
        for (int k = 0; k < K; k++) {
            double d;
            const float o = l[k];
            if (k == t) d = -dPt / Pe;
            else {
                const double s = exp((double)(o - mx)) / Z, sg = sigm(ot - o);
                d = -s * (sg * sg - P) / Pe + (double)bpreg * s * ((double)o * o - R + 2.0 * o);
            }
            if (elu > 0.0f && o <= 0.0f) d *= (double)(o + elu);
            l[k] = (float)d * g;
        }
    }
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
