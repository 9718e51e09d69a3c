/* The shared-candidate softmax (nn.h sq_nn_ce_shared) with its buffers, for the models that
 * offer --loss shared. Internal to src/models. */
#ifndef SQ_MODELS_SHARED_LOSS_H
#define SQ_MODELS_SHARED_LOSS_H

#include <stdint.h>

#include "shopseq/model.h"

typedef struct sq__shared_buf {
    uint32_t *cand;
    int *col;
    float *scratch;
    float *colq; /* (cap_rows) logQ per candidate column */
    sq_nn_ws ws; /* BPR-max's per-thread rows */
    size_t cap_rows, cap_scratch;
} sq__shared_buf;

/* Mean loss over N rows against the targets plus n_samples items drawn from `seed` (the
 * same candidates for the same arguments, so forward and backward agree); with dh, also
 * the gradient into dh and dtable. Returns NAN when out of memory. */
double sq__shared_loss(sq__shared_buf *sb, float *dh, float *dtable, const float *h,
                       const float *table, const uint32_t *target, int N, int C, int V,
                       int n_samples, uint64_t seed);
/* The candidate losses of one batch for cfg->loss (shared: softmax, bpr-max: BPR-max with
 * cfg->bpreg and cfg->final_elu): the targets plus b->shared_neg when the trainer drew them,
 * else cfg->negatives uniform items from `seed`. NAN when out of memory. */
double sq__cand_loss(sq__shared_buf *sb, const sq_model_config *cfg, const sq_batch *b,
                     float *dh, float *dtable, const float *h, const float *table, int N,
                     uint64_t seed);
void sq__shared_free(sq__shared_buf *sb);

#endif
