/* The two implementations behind sq_nn_ce_full (nn.h), exposed so tests can hold them to
 * each other. Internal to the library. ws: as sq_nn_ce_full's (NULL: allocated per call). */
#ifndef SQ_NN_CE_FULL_H
#define SQ_NN_CE_FULL_H

#include <stdint.h>

#include "shopseq/nn.h"

/* rows per block: the per-row state (log-sum-exp, target logit, loss) lives in scratch */
#define SQ_CE_ROWS 1024

/* any C: sgemm per tile (OpenBLAS), the vexp.c kernels for the softmax (ce_full.c) */
double sq__ce_full_blas(float *dh, float *dtable, float *dbias, const float *h,
                        const float *table, const float *bias, const uint32_t *target, int N,
                        int V, int C, float grad_scale, float *scratch, sq_nn_ws *ws);
/* AVX-512F, C a multiple of 16: own kernels with the logits item-major, so the softmax
 * runs down columns, 16 rows per vector (ce_full_avx512.c). Returns NAN for other C. */
double sq__ce_full_avx512(float *dh, float *dtable, float *dbias, const float *h,
                          const float *table, const float *bias, const uint32_t *target, int N,
                          int V, int C, float grad_scale, float *scratch, sq_nn_ws *ws);
/* whether this CPU and C can take the AVX-512 path */
int sq__ce_full_avx512_ok(int C);

#endif
