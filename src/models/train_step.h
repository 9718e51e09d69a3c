/* The pieces of sq_train (train.c) that every batching scheme shares: the training span of
 * a sequence, one optimisation step, the epoch's progress bar. Internal to src/models. */
#ifndef SQ_MODELS_TRAIN_STEP_H
#define SQ_MODELS_TRAIN_STEP_H

#include "shopseq/train.h"

/* The training span [b, e) of sequence u, as sq_train's padded batches use it; 0 if u has
 * nothing to train on. */
int sq__train_span(const sq_dataset *ds, uint32_t u, int all_events, uint64_t *b, uint64_t *e);

/* One step on batch b: gradients zeroed, forward, backward, one AdamW update; returns the
 * batch's mean loss. A counting model (ops->fit_batch) takes the batch's statistics
 * instead and returns 0. */
double sq__train_step(sq_model *m, const sq_batch *b, const sq_nn_adamw *opt);

/* Redraws the bar of epoch `epoch` (1-based) on o->log: frac of the epoch done, the mean
 * loss so far, events/s since t0. Nothing unless o->log and o->progress. */
void sq__train_progress(const sq_train_opts *o, int epoch, double frac, double loss, double rows,
                        double t0);

#endif
