/* The neural scorer (neural.c), internal to src/predict and its tests. */
#ifndef SQ_PREDICT_NEURAL_H
#define SQ_PREDICT_NEURAL_H

#include "shopseq/predict.h"

extern const sq_pred_scorer_ops sq_pred_neural_ops;

/* The events example i feeds the encoder: [*b, *e), the last maxlen of the example's
 * [seq_begin, seq_end) (all before its cut). One function, so the leak test checks what
 * the scorer reads. */
void sq__neural_span(const sq_pred_examples *ex, size_t i, int maxlen, uint64_t *b,
                     uint64_t *e);

#endif
