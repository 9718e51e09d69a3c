/* The side embeddings every neural model adds to its input rows (model.h "side features"):
 * behaviour, category, price bucket, time gap. Internal to src/models. */
#ifndef SQ_MODELS_FEATURES_H
#define SQ_MODELS_FEATURES_H

#include <stdint.h>

#include "shopseq/model.h"

/* Parameter indices of the enabled tables, -2 when off. */
typedef struct sq__side {
    int beh, cat, price, gap;
} sq__side;

/* Registers "beh_emb.weight" (SQ_BEHAVIOR_COUNT, C), "cat_emb.weight" (n_categories + 1, C),
 * "price_emb.weight" (SQ_PRICE_BUCKETS + 1, C), "gap_emb.weight" (SQ_GAP_BUCKETS, C) for the
 * enabled features, in that order. Fails when out of memory, or use_category with
 * n_categories < 1. */
sq_status sq__side_add(sq__side *s, sq_nn_params *p, const sq_model_config *cfg, sq_error *err);

/* The rows' inputs: item (N) ids (rows whose id is >= n_items, BERT4Rec's [mask], get no
 * side embedding), beh and gap (N) or NULL (that embedding left out). */
typedef struct sq__side_in {
    const uint32_t *item;
    const uint8_t *beh, *gap;
} sq__side_in;

static inline sq__side_in sq__side_of(const sq_batch *b) {
    return (sq__side_in){b->item, b->behavior, b->gap};
}

/* x (C) += the side embeddings of row r */
void sq__side_row(const sq__side *s, const sq_model *m, const sq__side_in *in, int r, float *x);
/* their gradients += g (C) (sparse rows into the dense gradient buffers) */
void sq__side_row_backward(const sq__side *s, const sq_model *m, const sq__side_in *in, int r,
                           const float *g);
/* x (N, C) += the side embeddings of every row; backward: the tables' gradients += dx rows */
void sq__side_forward(const sq__side *s, const sq_model *m, const sq__side_in *in, int N,
                      float *x);
void sq__side_backward(const sq__side *s, const sq_model *m, const sq__side_in *in, int N,
                       const float *dx);

#endif
