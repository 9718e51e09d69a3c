/* A small MLP task head on a sequence encoder's representation (model.h encode), for the
 * predictions of `shopseq predict` (purchase, churn: one logit; next behaviour: K logits).
 *
 *   x = [rep (R), feat (F)]                 (N, R + F)   feat optional (F = 0)
 *   a = relu(W1 x + b1)                     (N, hidden)
 *   logits = W2 drop(a) + b2                (N, out)
 *
 * Parameters live in their own sq_nn_params (w1, b1, w2, b2), so the engine's AdamW steps
 * them; the encoder's parameters stay in the model's buffer. Losses:
 *   binary (out = 1): weighted BCE with logits, sum_i w_i l_i / sum_i w_i, w_i = w_pos for
 *                     y = 1 and w_neg for y = 0 (class weights for imbalance);
 *   softmax (out = K): weighted CE, w_i = class_w[y_i] (NULL = 1).
 * Both write d loss / d logits (OVERWRITTEN) for sq_mlp_head_backward. */
#ifndef SHOPSEQ_HEAD_H
#define SHOPSEQ_HEAD_H

#include <stdint.h>

#include "shopseq/nn.h"
#include "shopseq/status.h"

typedef struct sq_mlp_head {
    int rep_dim, feat_dim, in_dim, hidden, out, max_rows;
    float dropout;
    sq_nn_params params;
    int w1, b1, w2, b2;
    float *arena;
    float *x;      /* (max_rows, in_dim) */
    float *a;      /* (max_rows, hidden) relu output */
    float *ad;     /* (max_rows, hidden) after dropout */
    float *logits; /* (max_rows, out) */
    float *da, *dx;
    int n;         /* rows of the last forward */
    float pd;      /* dropout of the last forward */
    uint64_t seed;
} sq_mlp_head;

/* Builds the head for up to max_rows rows per call; weights from `seed` (PyTorch nn.Linear
 * init). hidden > 0, out >= 1, 0 <= dropout < 1. Free with sq_mlp_head_free. */
sq_status sq_mlp_head_init(sq_mlp_head *h, int rep_dim, int feat_dim, int hidden, int out,
                           float dropout, int max_rows, uint64_t seed, sq_error *err);
void sq_mlp_head_free(sq_mlp_head *h); /* zeroed or NULL ok */

/* logits (n, out), valid until the next call. rep (n, rep_dim); feat (n, feat_dim) or NULL
 * when feat_dim = 0. train = 1 applies dropout (stream seed) and keeps activations for
 * backward. n <= max_rows. */
const float *sq_mlp_head_forward(sq_mlp_head *h, const float *rep, const float *feat, int n,
                                 int train, uint64_t seed);
/* Accumulates the parameter gradients of the last forward into params.grad; drep
 * (n, rep_dim), when not NULL, is OVERWRITTEN with d loss / d rep (for the encoder). */
void sq_mlp_head_backward(sq_mlp_head *h, const float *dlogits, float *drep);

/* y (n) in {0, 1}; returns the weighted mean loss; dlogits (n) when not NULL. */
double sq_head_bce(const float *logits, const uint8_t *y, int n, float w_pos, float w_neg,
                   float *dlogits);
/* y (n) in [0, K); class_w (K) or NULL; dlogits (n, K) when not NULL. */
double sq_head_softmax_ce(const float *logits, const int *y, int n, int K, const float *class_w,
                          float *dlogits);

#endif
