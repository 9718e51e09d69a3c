/* One epoch of session-parallel training (sq_train_opts.batching = SQ_BATCHING_SESSION),
 * called by sq_train. Internal to src/models. */
#ifndef SQ_MODELS_SESSION_TRAIN_H
#define SQ_MODELS_SESSION_TRAIN_H

#include "models/item_sampler.h"
#include "shopseq/train.h"

/* The training span [b, e) of sequence u, as sq_train's padded batches use it; 0 if u has
 * nothing to train on (defined in train.c). */
int sq__train_span(const sq_dataset *ds, uint32_t u, int all_events, uint64_t *b, uint64_t *e);

/* Trains m for one epoch on session-parallel steps of cfg.batch slots: the sequences in
 * the order of their first event's time (the official code's), every step one AdamW
 * update. smp: shared/bpr-max samples by popularity when smp->cdf (else the model's
 * uniform draws) and the logQ table when smp->logq_pop; NULL: neither.
 * Adds the steps' mean losses to *loss_sum, their rows to *rows, their count to *steps. */
sq_status sq__session_epoch(sq_model *m, const sq_dataset *ds, const sq_train_opts *o,
                            const sq_nn_adamw *opt, int epoch, const sq__item_sampler *smp,
                            double *loss_sum, double *rows, int *steps, sq_error *err);

#endif
