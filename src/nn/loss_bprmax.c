/* BPR-max (Hidasi & Karatzoglou 2018, "Recurrent Neural Networks with Top-k Gains") over the
 * shared candidate set of sq_nn_ce_shared: each row's negatives are every candidate except
 * its own target, weighted by their softmax, so the loss focuses on the negatives that
 * score highest; the bpreg term keeps those scores near zero. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "nn/vexp.h"
#include "nn/candidates.h"
#include "shopseq/nn.h"

double sq_nn_bprmax_shared(float *dh, float *dtable, const float *h, const float *table,
                           const uint32_t *cand, int K, const int *target_col, int N, int C,
                           float bpreg, float elu, float grad_scale, float *scratch, sq_nn_ws *ws) {
    if (N <= 0 || K <= 0) return 0.0;
    float *Ec = scratch, *dEc = Ec + (size_t)K * C, *lg = dEc + (size_t)K * C,
          *rowloss = lg + (size_t)N * K;
    sq__cand_scores(Ec, lg, h, table, cand, K, N, C); /* (N, K) raw scores */
    const float g = grad_scale / (float)N;
    const sq__vexp_ops *vx = sq__vexp_best();
    const int nt = omp_get_max_threads();
    sq_nn_ws own = {0};
    float *rows = sq_nn_ws_get(ws ? ws : &own, (size_t)nt * K * 2 * sizeof *rows);
#pragma omp parallel num_threads(nt)
    {
        /* per row: e = exp(o - max over negatives) (0 at the target), sg = sigmoid(o_t - o) */
        float *e = rows ? rows + (size_t)omp_get_thread_num() * K * 2 : NULL, *sg = e ? e + K : NULL;
#pragma omp for schedule(static)
        for (int i = 0; i < N; i++) {
            float *l = lg + (size_t)i * K;
            const int t = target_col[i];
            if (K < 2 || !e) { /* no negative: nothing to rank against */
                rowloss[i] = e ? 0.0f : NAN;
                for (int k = 0; k < K; k++) l[k] = 0.0f;
                continue;
            }
            if (elu > 0.0f) { /* o = ELU(x), the official final activation, kept in l */
                vx->exp_scale(e, l, K, 0.0f, 1.0f);
                for (int k = 0; k < K; k++) l[k] = l[k] > 0.0f ? l[k] : elu * (e[k] - 1.0f);
            }
            const float ot = l[t];
            l[t] = -INFINITY;
            const float mx = vx->max(l, K);
            vx->exp_scale(e, l, K, mx, 1.0f);
            l[t] = ot;
            vx->exp_scale(sg, l, K, ot, 1.0f);
            double Z = 0.0;
#pragma omp simd reduction(+ : Z)
            for (int k = 0; k < K; k++) {
                Z += e[k];
                sg[k] = 1.0f / (1.0f + sg[k]);
            }
            const float iz = (float)(1.0 / Z);
            double P = 0.0, R = 0.0, dPt = 0.0;
#pragma omp simd reduction(+ : P, R, dPt)
            for (int k = 0; k < K; k++) {
                const float sk = e[k] * iz, q = sk * sg[k];
                P += q;
                R += sk * l[k] * l[k];
                dPt += q * (1.0f - sg[k]);
            }
            const double Pe = P + 1e-24;
            rowloss[i] = (float)(-log(Pe) + (double)bpreg * R);
            if (!dh) continue;
            /* d/do_j (j negative) = -s_j (sg_j^2 - P) / P + bpreg s_j (o_j^2 - R + 2 o_j);
             * d/do_t = -sum_k s_k sg_k (1 - sg_k) / P; then the ELU's slope, recovered from
             * o: 1 where o > 0, else o + elu */
            const float a = (float)(-1.0 / Pe) * g, Pf = (float)P, Rf = (float)R, bg = bpreg * g;
#pragma omp simd
            for (int k = 0; k < K; k++) {
                const float o = l[k], sk = e[k] * iz;
                float d = a * sk * (sg[k] * sg[k] - Pf) + bg * sk * (o * o - Rf + 2.0f * o);
                if (elu > 0.0f && o <= 0.0f) d *= o + elu;
                l[k] = d;
            }
            float dt = (float)(-dPt / Pe) * g;
            if (elu > 0.0f && ot <= 0.0f) dt *= ot + elu;
            l[t] = dt;
        }
    }
    sq_nn_ws_free(&own);
    return sq__cand_finish(dh, dtable, h, Ec, dEc, lg, rowloss, cand, K, N, C);
}
