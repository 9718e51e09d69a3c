/* Negative items drawn by popularity^alpha (the official GRU4Rec's sample_alpha; alpha 0 is
 * uniform over the items seen, 1 is plain popularity). Internal to src/models. */
#ifndef SQ_MODELS_ITEM_SAMPLER_H
#define SQ_MODELS_ITEM_SAMPLER_H

#include <stdint.h>

#include "shopseq/nn.h"

typedef struct sq__item_sampler {
    float *cdf; /* (n_items) cumulative count^alpha / total; NULL when not in use */
    uint32_t n_items;
    float *logq_pop;   /* (n_items) logq * log(count) for the softmax's logQ correction, or NULL */
    float logq_alpha;  /* the correction's factor for sampled-only columns */
} sq__item_sampler;

/* counts: (n_items) occurrences in the training data. 0 on success, -1 when out of
 * memory or when no item occurs. */
int sq__sampler_init(sq__item_sampler *s, const uint32_t *counts, uint32_t n_items, float alpha);
void sq__sampler_draw(const sq__item_sampler *s, sq_nn_rng *r, uint32_t *out, int n);
void sq__sampler_free(sq__item_sampler *s);

#endif
