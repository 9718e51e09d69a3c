/* Session-parallel training (sq_train_opts.batching = SQ_BATCHING_SESSION), driven by
 * sq_train. Internal to src/models. */
#ifndef SQ_MODELS_SESSION_TRAIN_H
#define SQ_MODELS_SESSION_TRAIN_H

#include "models/item_sampler.h"
#include "models/session_batcher.h"
#include "shopseq/train.h"

/* What every epoch reuses: the sequences' training spans in the official order (by their
 * first event's time, ties in dataset order; the data does not change between epochs, so
 * they are sorted once) and the step buffers. */
typedef struct sq__session_train {
    uint64_t *beg, *end; /* (n) spans [beg, end) in taking order */
    uint32_t n;
    uint64_t rows;       /* training rows per epoch */
    int n_neg;           /* shared samples drawn per step (0: none) */
    int *pos;
    uint8_t *beh, *gap;
    uint32_t *neg;
    sq__session_batcher sb;
} sq__session_train;

/* For model m on ds: cfg.batch slots; n_neg popularity samples per step. */
sq_status sq__session_init(sq__session_train *s, const sq_model *m, const sq_dataset *ds,
                           int all_events, int n_neg, sq_error *err);
void sq__session_free(sq__session_train *s);

/* Trains m for one epoch: every step one sq__train_step over cfg.batch slots, dropout and
 * sample streams from (seed, epoch) only, so resume is exact. smp: shared/bpr-max samples
 * by popularity when smp->cdf (else the model's uniform draws) and the logQ table when
 * smp->logq_pop; NULL: neither. The bar (sq__train_progress) counts rows since t0.
 * Adds the steps' mean losses to *loss_sum, their rows to *rows, their count to *steps. */
void sq__session_epoch(sq__session_train *s, sq_model *m, const sq_dataset *ds,
                       const sq_train_opts *o, const sq_nn_adamw *opt, int epoch,
                       const sq__item_sampler *smp, double t0, double *loss_sum, double *rows,
                       int *steps);

#endif
