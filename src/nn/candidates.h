/* The two ends shared by the losses over one candidate set (sq_nn_ce_shared,
 * sq_nn_bprmax_shared): gathering the candidates' rows and scoring them, and the backward
 * products with the scatter of the candidates' gradient back into the table. */
#ifndef SQ_NN_CANDIDATES_H
#define SQ_NN_CANDIDATES_H

#include <stdint.h>

/* Ec (K, C) = table[cand]; lg (N, K) = h Ecᵀ. */
void sq__cand_scores(float *Ec, float *lg, const float *h, const float *table,
                     const uint32_t *cand, int K, int N, int C);

/* Mean of rowloss; when dh is set, lg holds dL/dlogits: dh = lg Ec, and dEc = lgᵀ h is
 * added to the candidates' rows of dtable. */
double sq__cand_finish(float *dh, float *dtable, const float *h, const float *Ec, float *dEc,
                       const float *lg, const float *rowloss, const uint32_t *cand, int K,
                       int N, int C);

#endif
