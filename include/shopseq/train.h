/* Training and evaluation of next-item models on a .sqd dataset.
 *
 * Split: leave-one-out per user, as in the SASRec paper. A user with n >= 3 events trains
 * on events [0, n-2), validates on event n-2 (input: events before it) and is tested on
 * event n-1 (input: all events before it). Users with fewer than 3 events only train.
 * Within a sequence, row j's input is event j and its target event j+1; only the last
 * maxlen events of an input are used. */
#ifndef SHOPSEQ_TRAIN_H
#define SHOPSEQ_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "shopseq/dataset.h"
#include "shopseq/model.h"

typedef enum { SQ_SPLIT_VALID = 0, SQ_SPLIT_TEST = 1, SQ_SPLIT_ALL = 2 } sq_split;
typedef enum { SQ_PROTOCOL_FULL = 0, SQ_PROTOCOL_SAMPLED100 = 1 } sq_protocol;

enum { SQ_EVAL_NK = 4 };
extern const int sq_eval_ks[SQ_EVAL_NK]; /* 1, 5, 10, 20 */

typedef struct sq_eval_result {
    uint32_t n_users;
    double hr[SQ_EVAL_NK], ndcg[SQ_EVAL_NK], mrr[SQ_EVAL_NK];
    double seconds;
} sq_eval_result;

typedef struct sq_eval_opts {
    sq_split split;          /* VALID or TEST */
    sq_protocol protocol;
    int mask_history;        /* exclude items the user already has (except the target) */
    uint64_t seed;           /* sampled negatives of the sampled protocol */
    uint32_t max_users;      /* 0 = all */
} sq_eval_opts;

sq_status sq_evaluate(sq_model *m, const sq_dataset *ds, const sq_eval_opts *o,
                      sq_eval_result *r, sq_error *err);

/* Top-k items after user u's events [begin, end) of the split (SQ_SPLIT_ALL: full history).
 * items/scores receive k entries, best first. */
sq_status sq_recommend(sq_model *m, const sq_dataset *ds, const uint32_t *users, int n_users,
                       int k, int mask_history, uint32_t *items, float *scores, sq_error *err);

/* How training sequences become mini-batches. PADDED: batch whole sequences (the last
 * maxlen events each, packed, full BPTT), shuffled per epoch. SESSION: session-parallel
 * (the official GRU4Rec's; gru4rec only): batch slots each walk one sequence an event per
 * step, carrying the recurrent state between steps and resetting it when a slot starts a
 * new sequence; sequences in the order of their first event's time; one-step truncated
 * BPTT, one update per step. */
typedef enum { SQ_BATCHING_PADDED = 0, SQ_BATCHING_SESSION = 1 } sq_batching;
const char *sq_batching_name(sq_batching b);   /* "padded", "session-parallel" */
int sq_batching_from_name(const char *s);      /* -1 if unknown */

typedef struct sq_train_opts {
    int epochs;
    float lr, weight_decay;
    int eval_every;  /* validation every N epochs (0 = never) */
    int patience;    /* stop after this many validations without improvement (0 = never) */
    uint32_t eval_users; /* validation on the first N users (0 = all) */
    int keep_history;    /* 1: validation ranks the items the user already had too (re-buying
                            shops); 0: masked, as the common protocol */
    int progress;    /* 1 = bar on stderr (a terminal), 0 = plain lines */
    FILE *log;       /* progress and validation lines; NULL = quiet */
    const char *out; /* checkpoint path (written after each improving validation) */
    const char *resume; /* checkpoint to resume from (config, weights, optimizer, epoch) */
    double max_seconds; /* stop after this much training time (0 = no limit) */
    int all_events;  /* train on every event of every sequence (data with a separate test
                        file, e.g. sessions): no leave-one-out hold-out; set eval_every 0 */
    sq_batching batching;
    float sample_alpha; /* > 0: the shared / bpr-max losses' cfg.negatives samples are drawn
                           by the trainer from training popularity^alpha (the official
                           GRU4Rec's); 0: uniform, drawn by the model */
    float logq;         /* > 0, shared loss: logQ correction of the sampled softmax, the
                           official GRU4Rec's logq (target columns lowered by logq*log(count),
                           sampled-only ones by sample_alpha times that) */
    float lr_drop;      /* in (0, 1): when validation has not improved for `patience`
                           validations, go back to the best weights and optimizer state and
                           multiply the learning rate by lr_drop instead of stopping, at most
                           lr_drops times (reduce on plateau); 0 = stop at once */
    int lr_drops;
} sq_train_opts;

typedef struct sq_train_result {
    int epochs_run, best_epoch;
    int lr_drops_done; /* learning-rate drops taken (lr_drop), including a resumed run's */
    double best_ndcg10, seconds_per_epoch, events_per_second, last_loss;
} sq_train_result;

/* Trains m on ds. m may come from sq_model_load (resume). Saves to o->out. */
sq_status sq_train(sq_model *m, const sq_dataset *ds, const sq_train_opts *o,
                   sq_train_result *res, sq_error *err);

/* Session-based next-event evaluation on a separate test dataset (the GRU4Rec protocol):
 * the model was trained on `train` (item ids are matched by their original id strings;
 * test events whose item is unknown to train are dropped, sessions left with < 2 events are
 * skipped). For every test sequence and every position j >= 1, the model scores all items
 * after events [0, j) and the rank of event j's item is 1 + the number of other items
 * scoring at least as high (ties count against the model: the official GRU4Rec
 * evaluation's default "conservative" mode, and leave-one-out's rule); nothing is masked. Results use the
 * same fields: hr = Recall@K, mrr = MRR@K, ndcg = NDCG@K; n_users counts predictions. */
sq_status sq_evaluate_next(sq_model *m, const sq_dataset *train, const sq_dataset *test,
                           uint32_t max_sequences, sq_eval_result *r, sq_error *err);

/* Fingerprints stored in checkpoints: item dictionary, and the whole event data. */
uint64_t sq_dataset_item_fingerprint(const sq_dataset *ds);
uint64_t sq_dataset_data_fingerprint(const sq_dataset *ds);
/* Checks a checkpoint's item fingerprint against ds; SQ_ERR_USAGE with a message if not. */
sq_status sq_check_fingerprint(const char *ckpt_path, const sq_dataset *ds, sq_error *err);
/* The same for a fingerprint already read from the checkpoint's metadata (NULL: the
 * checkpoint has none, accepted as above); ckpt_path names it in the message. */
sq_status sq_check_item_fingerprint(const char *ckpt_path, const char *fp, const sq_dataset *ds,
                                    sq_error *err);

#endif
