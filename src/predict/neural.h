/* The neural scorer (neural.c), internal to src/predict and its tests. */
#ifndef SQ_PREDICT_NEURAL_H
#define SQ_PREDICT_NEURAL_H

#include "shopseq/model.h"
#include "shopseq/predict.h"

extern const sq_pred_scorer_ops sq_pred_neural_ops;

/* The events example i feeds the encoder: [*b, *e), the last maxlen of the example's
 * [seq_begin, seq_end) (all before its cut). One function, so the leak test checks what
 * the scorer reads. */
void sq__neural_span(const sq_pred_examples *ex, size_t i, int maxlen, uint64_t *b,
                     uint64_t *e);

/* A fitted scorer's head, as saved beside its encoder: w = head.w1.weight (hidden, in_dim),
 * head.w1.bias (hidden), head.w2.weight (out, hidden), head.w2.bias (out). */
typedef struct sq__neural_head {
    int hidden, in_dim, out, n_features, with_features, finetune_all;
    const float *w[4];
} sq__neural_head;

int sq__neural_is(const sq_pred_scorer *s);
/* Writes the fitted scorer's encoder to enc_path (a checkpoint with enc_meta) and points h
 * at its head (valid while s lives). Not for the item task. */
sq_status sq__neural_export(const sq_pred_scorer *s, const char *enc_path,
                            const char *const *enc_meta, sq__neural_head *h, sq_error *err);
/* A scorer that predicts as the exported one did: the encoder enc (loaded from enc_path, which
 * names it in messages; taken over, freed on failure too), the head h. */
sq_status sq__neural_restore(sq_pred_scorer **s, sq_model *enc, const char *enc_path,
                             const sq__neural_head *h, sq_pred_task task, int n_features,
                             sq_error *err);
size_t sq__neural_head_numel(const sq__neural_head *h, int i); /* floats of h->w[i] */

#endif
