/* Model comparison: train several models on one split, evaluate them with one protocol,
 * one table (HR/NDCG/MRR@10 and @20, catalogue coverage of the top-10 lists, training time,
 * training events/s, peak RSS, parameters). `shopseq compare` and the compare stage of
 * `shopseq run` are both this; the report reads its JSON back (sq_compare_load_json).
 *
 * Each model trains in a child process (fork), so that its peak RSS is its own (wait4's
 * ru_maxrss) and a model that fails or crashes does not stop the others; opts.jobs of them
 * at once. Fork from a
 * process that has not run an OpenMP parallel region yet: libgomp's thread pool does not
 * survive fork, and the child's first parallel region hangs. */
#ifndef SHOPSEQ_COMPARE_H
#define SHOPSEQ_COMPARE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "shopseq/dataset.h"
#include "shopseq/status.h"
#include "shopseq/train.h"

enum { SQ_COMPARE_MAX_MODELS = 32 };

typedef struct sq_compare_opts {
    int epochs;          /* neural models; the counting baselines take one pass (20) */
    int eval_every;      /* validate every N epochs (0 = max(1, epochs/5)) */
    int patience;        /* early stop after N validations without improvement (3) */
    float lr_drop;       /* reduce on plateau (sq_train_opts.lr_drop; 0 = stop at once) */
    int lr_drops;        /* at most this many drops (2) */
    uint32_t eval_users; /* validation users (0 = all) */
    uint32_t test_users; /* test users (0 = all) */
    int maxlen, batch;   /* > 0 overrides every model's (maxlen: neural models only) */
    int dim;             /* > 0 overrides the neural models' hidden size */
    int loss;            /* sq_loss_kind overriding the neural models' where they have it; -1 */
    int negatives;       /* > 0: negatives per row, with the overridden loss */
    double dropout;      /* >= 0 overrides the neural models' dropout; -1 */
    int features;        /* side embeddings in every neural model (SQ_FEAT_* mask) */
    double bpreg, final_elu; /* >= 0 overrides bpr-max's (gru4rec, lstm); -1 */
    double sample_alpha; /* > 0: shared/bpr-max samples by popularity^alpha (sq_train_opts) */
    double logq;         /* > 0: shared softmax logQ correction (sq_train_opts) */
    int batching;        /* sq_batching for gru4rec (the others keep padded batches) */
    double max_seconds;  /* training time limit per model (0 = none) */
    float lr;            /* AdamW (0.001) */
    uint64_t seed;       /* (42) */
    const sq_dataset *test; /* session protocol (GRU4Rec's) on this test set when set */
    int keep_history;    /* 1: rank the items the user already had too, in validation and
                            test (shops where re-buying is normal); 0: masked */
    int jobs;            /* models trained at once, each on one thread (0, 1: one at a time,
                            on all threads); more than one keeps small models from idling
                            cores, and makes results independent of the core count */
    FILE *log;           /* "compare: NAME ..." lines; NULL = quiet */
    int log_training;    /* also each model's epoch and validation lines to log */
} sq_compare_opts;

/* The defaults of `shopseq compare` (see its --help). */
void sq_compare_opts_init(sq_compare_opts *o);

typedef struct sq_compare_row {
    char model[32];
    int ok;
    char error[512];   /* when !ok */
    sq_eval_result ev; /* n_users: test users, or predictions under the session protocol */
    double train_s, events_per_s, coverage10;
    int epochs_run, best_epoch; /* best_epoch 0: no validation */
    size_t params;
    long peak_rss_kb;
} sq_compare_row;

typedef struct sq_compare_result {
    char dataset[1024]; /* the name it was run on (a path) */
    uint32_t users, items;
    uint64_t events;
    int session;        /* 1: session protocol on a test set (HR = Recall) */
    int keep_history;   /* 1: leave-one-out with the history not masked */
    int features;       /* the neural models' side features (SQ_FEAT_* mask) */
    int n_models;
    sq_compare_row rows[SQ_COMPARE_MAX_MODELS];
} sq_compare_result;

/* Trains and evaluates models[0..n) (registered names) on ds, one row each in the given
 * order. Fails (SQ_ERR_USAGE) only on a bad model list; a model that fails gets ok = 0 and
 * its error, and the others still run. r is caller-owned (large: allocate it). */
sq_status sq_compare_run(const sq_dataset *ds, const char *dataset_name,
                         const char *const *models, int n_models, const sq_compare_opts *o,
                         sq_compare_result *r, sq_error *err);

/* Rows with ok == 0. */
int sq_compare_failed(const sq_compare_result *r);
/* One line describing the evaluation protocol. */
const char *sq_compare_protocol(const sq_compare_result *r);
/* 1 for the counting baselines (pop, markov, itemknn): the bar neural models must clear. */
int sq_compare_is_baseline(const char *model);

/* One JSON object and a newline (the format of `shopseq compare --json`). */
void sq_compare_write_json(FILE *fp, const sq_compare_result *r);
/* The text table of `shopseq compare`. */
void sq_compare_write_table(FILE *fp, const sq_compare_result *r);
/* sq_compare_write_json into path, atomically. */
sq_status sq_compare_save_json(const sq_compare_result *r, const char *path, sq_error *err);
/* Reads what sq_compare_write_json wrote (peak RSS to 0.1 MB). */
sq_status sq_compare_load_json(sq_compare_result *r, const char *path, sq_error *err);

/* The one-line reading of a comparison, e.g. "sasrec leads NDCG@10 by 23% over the best
 * baseline (markov)". Empty when no model succeeded. */
void sq_compare_reading(const sq_compare_result *r, char *buf, size_t cap);

#endif
