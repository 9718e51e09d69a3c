/* A trained prediction scorer saved to a file and loaded again, so that the online service
 * answers the task heads (purchase, churn, next-behavior) with the very scorer `shopseq
 * predict` fitted, on features computed by the same code.
 *
 * File: safetensors (include/shopseq/safetensors.h), written atomically. Tensors:
 *   mean, std   F64 (n_features)             the standardisation of the fit part
 *   weight      F64 (k, n_features + 1)      logistic only: the regression, bias last (k = 1 binary,
 *                                            k = classes for next-behavior, softmax)
 *   base_rate   F64 (k)                      share of positives (of each class) in training
 * A neural scorer (an encoder + MLP head, `predict --model`) also has
 *   head.w1.weight (hidden, in), head.w1.bias, head.w2.weight (k, hidden), head.w2.bias  F32
 * instead of weight (mean and std are kept: the standardised features feed its head) and
 * its encoder, a checkpoint written beside the file as FILE.encoder.safetensors.
 * __metadata__ (all strings): format "shopseq-predict/1", scorer "logistic" or "neural", task, horizon_ms,
 * active_ms, lookback_ms, category (original id, "" = any), threshold (%.17g), features
 * (comma-separated names, checked against this build's), classes (comma-separated
 * behaviour names), cut_ms (the cut its scores were written at), data_end_ms (the end of the
 * training data, `predict`'s default scoring cut), train_cut_ms, data_xxh64 and
 * item_dict_xxh64 (the dataset it was trained on), label, encoder (file name, neural),
 * encoder_xxh64 (its sq_data_xxh64), head (hidden,in,out,features,with_features,
 * finetune_all; neural), and predict_meta_xxh64 (a
 * checksum of every other metadata value; the tensor bytes carry sq_data_xxh64), so a
 * truncated or edited file is refused on load.
 *
 *   sq_pred_model m;
 *   sq_pred_model_load(&m, "purchase.safetensors", &err);
 *   sq_pred_model_check_data(&m, &ds, &err);      // same dataset, category resolved
 *   float row[SQ_PRED_MODEL_MAX_FEATURES], p[16];
 *   sq_pred_model_score(&m, &ds, b, e, cut, row, p);
 *   sq_pred_model_free(&m); */
#ifndef SHOPSEQ_PREDICT_MODEL_H
#define SHOPSEQ_PREDICT_MODEL_H

#include <stdint.h>

#include "shopseq/dataset.h"
#include "shopseq/predict.h"
#include "shopseq/status.h"

enum { SQ_PRED_MODEL_MAX_FEATURES = 64 };

typedef struct sq_pred_model {
    sq_pred_config cfg;     /* task, horizon, active, lookback; category is a dense id of the
                               dataset given to sq_pred_model_check_data (SQ_NONE = any) */
    int n_features, n_outputs, n_classes;
    uint8_t class_behavior[16]; /* next-behavior: class k is this behaviour */
    double *mean, *std;     /* (n_features) */
    sq_logreg lr;           /* (n_outputs, n_features + 1) */
    double *base_rate;      /* (n_outputs) */
    double threshold;       /* binary tasks: label = probability >= threshold */
    int64_t cut_ms, data_end_ms, train_cut_ms;
    uint64_t data_fp, item_fp; /* sq_dataset_data_fingerprint / sq_dataset_item_fingerprint */
    char category_id[256];  /* original category id, "" = any */
    char label[96];
    char path[512];
    char scorer[16];        /* "logistic" or "neural" */
    sq_pred_scorer *neural; /* the neural scorer (NULL for the logistic one) */
    int owns_neural;        /* loaded (freed with m) rather than borrowed from a run */
    void *lock_;            /* serialises the neural scorer's buffers */
    char encoder_path[1024]; /* neural: the encoder checkpoint */
    char encoder_item_fp[64]; /* neural: its item_dict_xxh64, read with it at load */
    int has_encoder_item_fp;
    uint32_t n_items;        /* neural: items the encoder knows (dense ids below) */
} sq_pred_model;

/* Everything sq_pred_run learnt, gathered for saving: the fitted scorer (logistic, or
 * neural: borrowed, s must outlive m), the standardisation, the threshold, the base
 * rates of d->fit, and the dataset's fingerprints. category_id: original id or NULL. */
sq_status sq_pred_model_from_run(sq_pred_model *m, const sq_dataset *ds,
                                 const sq_pred_config *cfg, const sq_pred_data *d,
                                 const sq_pred_scorer *s, const sq_pred_result *r,
                                 int64_t data_end_ms, const char *category_id, sq_error *err);
/* Writes atomically (temporary file, fsync, rename); a neural scorer's encoder first, to
 * path + ".encoder.safetensors". */
sq_status sq_pred_model_save(const sq_pred_model *m, const char *path, sq_error *err);
/* Reads and validates: refuses truncated, edited or foreign files and feature sets that
 * differ from this build's, with a message naming the file and the problem. */
sq_status sq_pred_model_load(sq_pred_model *m, const char *path, sq_error *err);
/* SQ_ERR_USAGE unless ds is the dataset m was trained on; resolves m's category in ds. */
sq_status sq_pred_model_check_data(sq_pred_model *m, const sq_dataset *ds, sq_error *err);
void sq_pred_model_free(sq_pred_model *m); /* accepts a zeroed m */

/* Scores one user's events [b, e) of ds at cut_ms (events at or after the cut are ignored):
 * the features sq_pred_build computes, standardised, then the scorer. row: scratch of
 * n_features floats; probs: n_outputs values. Returns the number of events used (0: no
 * history before the cut, or no item a neural encoder knows; probs then hold the base
 * rates). Thread-safe. */
uint64_t sq_pred_model_score(const sq_pred_model *m, const sq_dataset *ds, uint64_t b,
                             uint64_t e, int64_t cut_ms, float *row, float *probs);
/* 1 when events [b, p) (all before cut_ms) make the user an example of m's task offline
 * (churn: an event in [cut - active, cut); other tasks: within the lookback, if any). */
int sq_pred_model_eligible(const sq_pred_model *m, const sq_dataset *ds, uint64_t b, uint64_t p,
                           int64_t cut_ms);

#endif
