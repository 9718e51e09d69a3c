/* Predictions the business acts on, honestly evaluated: will this user buy within h, will
 * an active user go silent for h (churn), what will the next event's behaviour be, will the
 * user interact with a candidate item.
 *
 * Everything is built at a global time cut C. Inputs (features, sequences) come from events
 * with time < C only; labels come from [C, C+h). Evaluation uses the test cut T; the
 * scorers learn from examples built at the training cut T - h (labels in [T-h, T), so no
 * label at or after T is ever seen), split by user into fit and validation parts (the
 * validation part chooses thresholds and early stopping). See docs/predict.md.
 *
 *   sq_pred_config cfg; sq_pred_config_default(&cfg);
 *   cfg.task = SQ_PRED_PURCHASE; cfg.horizon_ms = 86400000;
 *   sq_pred_examples train, test;
 *   sq_pred_build(&ds, &cfg, T - cfg.horizon_ms, 1, &train, &err);
 *   sq_pred_build(&ds, &cfg, T, 1, &test, &err);
 *   ... sq_pred_norm_fit / sq_pred_norm_apply, sq_pred_split, a scorer, the metrics.
 *
 * Adding a scorer: implement sq_pred_scorer_ops and add one line to the table in
 * src/predict/scorer.c. */
#ifndef SHOPSEQ_PREDICT_H
#define SHOPSEQ_PREDICT_H

#include <stddef.h>
#include <stdint.h>

#include "shopseq/dataset.h"
#include "shopseq/status.h"

typedef enum {
    SQ_PRED_PURCHASE = 0,      /* binary: any buy (of cfg.category, if set) in [C, C+h) */
    SQ_PRED_CHURN = 1,         /* binary: active before C, no event at all in [C, C+h) */
    SQ_PRED_NEXT_BEHAVIOR = 2, /* multi-class: behaviour of the first event in [C, C+h) */
    SQ_PRED_ITEM = 3,          /* binary per (user, candidate item): interacted in [C, C+h) */
    SQ_PRED_TASK_COUNT
} sq_pred_task;

const char *sq_pred_task_name(int task); /* "purchase", "churn", "next-behavior", "item" */
int sq_pred_task_from_name(const char *s); /* -1 if unknown */

typedef struct sq_pred_config {
    sq_pred_task task;
    int64_t horizon_ms;  /* h: labels from [C, C+h) */
    int64_t active_ms;   /* churn: "active" = an event in [C - active_ms, C); 0 = h */
    int64_t lookback_ms; /* other tasks: a user is an example when it has an event in
                            [C - lookback_ms, C); 0 = any event before C */
    uint32_t category;   /* purchase: dense category id, or SQ_NONE for any purchase */
    int item_negatives;  /* item task: negatives per positive, by popularity (4) */
    int item_max_pos;    /* item task: most positives per user (the earliest; 20) */
    int item_candidates; /* item task, scoring (no labels): candidates per user (20: the
                            user's most recent distinct items, then popular items) */
    uint64_t seed;       /* negative sampling, fit/validation split (42) */
    int train_cuts;      /* sq_pred_prepare: training examples from the cuts C - h,
                            C - 2h, ..., C - train_cuts*h (labels all before C), stacked;
                            0 = 1; default 4. More cuts, more examples; stacking stops
                            once SQ_PRED_STACK_ENOUGH examples are reached. */
} sq_pred_config;

enum { SQ_PRED_STACK_ENOUGH = 200000 };

void sq_pred_config_default(sq_pred_config *c);

/* Default cuts from the data's span. The end E is the latest event time after dropping
 * the latest 0.1% of events as strays, rounded up to a whole hour. Evaluation: T = E - h.
 * Scoring (no labels): C = E. Fails when the span cannot hold the cuts the task needs
 * (T - h must be after the first event). */
sq_status sq_pred_data_end(const sq_dataset *ds, int64_t *end_ms, sq_error *err);
/* A horizon that fits: 7 days when the span holds 8 of them, else span/8 rounded down to a
 * whole day (or hour when under a day), at least one hour. */
int64_t sq_pred_default_horizon(const sq_dataset *ds);

/* Examples built at one cut. Row i of every array is example i. Examples are in user
 * order (then candidate order for the item task). All arrays are owned. */
typedef struct sq_pred_examples {
    const sq_dataset *ds; /* the events seq_begin/seq_end index into */
    sq_pred_task task;
    size_t n;
    int n_features;
    int n_classes;        /* 2 for the binary tasks; K >= 2 for next-behavior (multi-class
                             even when K = 2: one output per class) */
    int has_labels;       /* 0 when built for scoring (label[] all -1) */
    int64_t horizon_ms;
    uint32_t *user;       /* (n) dense user id */
    uint32_t *item;       /* (n) candidate item (item task), else SQ_NONE */
    int64_t *cut_ms;      /* (n) the cut of this example (all equal today) */
    int32_t *label;       /* (n) 0/1, or class index 0..K-1, or -1 (no label) */
    uint64_t *seq_begin;  /* (n) the user's events before the cut are */
    uint64_t *seq_end;    /* (n)   ds columns [seq_begin, seq_end); every time < cut */
    float *x;             /* (n, n_features) row-major features (raw, or standardised by
                             sq_pred_norm_apply) */
    const char *const *feature_names; /* (n_features), static strings */
    uint8_t class_behavior[16]; /* next-behavior: class k is behaviour class_behavior[k] */
} sq_pred_examples;

/* Builds the examples of cfg->task at cut_ms. with_labels = 1 labels them from
 * [cut, cut + h) (and keeps only users that can carry the label: next-behavior needs an
 * event in the window, the item task a positive); 0 builds scoring examples (every
 * eligible user, label -1). Next-behavior classes are the behaviours present in the whole
 * dataset, in enum order (a property of the vocabulary, not of events after the cut). */
sq_status sq_pred_build(const sq_dataset *ds, const sq_pred_config *cfg, int64_t cut_ms,
                        int with_labels, sq_pred_examples *ex, sq_error *err);
void sq_pred_examples_free(sq_pred_examples *ex); /* accepts a zeroed struct */

/* Splits ex by a hash of (user, seed) into fit (about 1 - valid_share) and valid parts.
 * Both are deep copies. */
sq_status sq_pred_split(const sq_pred_examples *ex, double valid_share, uint64_t seed,
                        sq_pred_examples *fit, sq_pred_examples *valid, sq_error *err);

/* Feature standardisation; means and stds come from training examples only. */
typedef struct sq_pred_norm {
    int n_features;
    double *mean, *std; /* (n_features); std 1 for constant columns */
} sq_pred_norm;
sq_status sq_pred_norm_fit(sq_pred_norm *nm, const sq_pred_examples *ex, sq_error *err);
void sq_pred_norm_apply(const sq_pred_norm *nm, sq_pred_examples *ex);
void sq_pred_norm_free(sq_pred_norm *nm);

/* ---- scorers: anything that turns examples into probabilities ----
 * Outputs per example: 1 column (P(label = 1)) for the binary tasks (sq_pred_is_binary),
 * n_classes columns for next-behavior. */
static inline int sq_pred_is_binary(const sq_pred_examples *ex) {
    return ex->task != SQ_PRED_NEXT_BEHAVIOR;
}
static inline int sq_pred_n_outputs(const sq_pred_examples *ex) {
    return sq_pred_is_binary(ex) ? 1 : ex->n_classes;
}

typedef struct sq_pred_scorer_opts {
    double l2;           /* logistic: L2 strength on weights, not the bias (1e-3) */
    int class_weight;    /* 1 = weight classes inversely to their frequency (0) */
    int max_iter;        /* optimiser iterations (200) */
    int threads;         /* 0 = default */
    uint64_t seed;
    int verbose;         /* progress lines on stderr */
    /* sequence scorers */
    const char *checkpoint; /* pre-trained encoder (.safetensors), or NULL */
    const char *encoder;    /* model name when training from scratch (e.g. "sasrec") */
    int finetune_all;       /* 0 = train the head only, 1 = the whole model */
    int epochs;             /* 0 = the scorer's default */
    float lr;               /* 0 = the scorer's default */
    int hidden;             /* MLP head width; 0 = the scorer's default */
    int with_features;      /* 1 = concatenate the tabular features to the encoding */
    int pretrain_epochs;    /* new encoder (no checkpoint): first pre-train it with its
                               next-item objective on the events before the training cut
                               for this many epochs (0 = none: from scratch) */
} sq_pred_scorer_opts;

void sq_pred_scorer_opts_default(sq_pred_scorer_opts *o);

typedef struct sq_pred_scorer sq_pred_scorer;

typedef struct sq_pred_scorer_ops {
    const char *name; /* registry name: "logistic", "neural" */
    sq_status (*create)(sq_pred_scorer **s, const sq_pred_scorer_opts *o, sq_error *err);
    /* Learns from train; valid (may have n = 0) is for early stopping and the like. Both
     * carry standardised features and labels. */
    sq_status (*fit)(sq_pred_scorer *s, const sq_pred_examples *train,
                     const sq_pred_examples *valid, sq_error *err);
    /* probs (ex->n, sq_pred_n_outputs(ex)). */
    sq_status (*predict)(sq_pred_scorer *s, const sq_pred_examples *ex, float *probs,
                         sq_error *err);
    void (*destroy)(sq_pred_scorer *s);
} sq_pred_scorer_ops;

/* Implementations embed this as their first member. */
struct sq_pred_scorer {
    const sq_pred_scorer_ops *ops;
    char label[96]; /* shown in tables: "logistic (RFM)", "sasrec + MLP (fine-tuned)" */
};

/* Looks the scorer up by name; SQ_ERR_NOT_FOUND when this build has no such scorer. */
sq_status sq_pred_scorer_create(sq_pred_scorer **s, const char *name,
                                const sq_pred_scorer_opts *o, sq_error *err);
void sq_pred_scorer_free(sq_pred_scorer *s); /* NULL ok */
int sq_pred_scorer_known(const char *name);
static inline sq_status sq_pred_scorer_fit(sq_pred_scorer *s, const sq_pred_examples *train,
                                           const sq_pred_examples *valid, sq_error *err) {
    return s->ops->fit(s, train, valid, err);
}
static inline sq_status sq_pred_scorer_predict(sq_pred_scorer *s, const sq_pred_examples *ex,
                                               float *probs, sq_error *err) {
    return s->ops->predict(s, ex, probs, err);
}

extern const sq_pred_scorer_ops sq_pred_logistic_ops;

/* ---- logistic regression (logistic.c), usable on its own ----
 * Binary (K = 1 weight row, sigmoid) or multinomial (K rows, softmax); L2 on the weights;
 * optional per-example weights; L-BFGS, deterministic. w: (K, d + 1), bias last. */
typedef struct sq_logreg {
    int k, d;
    double *w;
} sq_logreg;

/* x (n, d) row-major; y: 0/1 when k == 1, else class 0..k-1; sw per-example weight or
 * NULL. Minimises sum_i sw_i * loss_i / sum_i sw_i + l2/2 |W|^2. */
sq_status sq_logreg_fit(sq_logreg *m, const float *x, const int32_t *y, const double *sw,
                        size_t n, int d, int k, double l2, int max_iter, sq_error *err);
/* probs (n, k) (k == 1: P(y = 1)). */
void sq_logreg_predict(const sq_logreg *m, const float *x, size_t n, float *probs);
void sq_logreg_free(sq_logreg *m);
/* The fitted regression of a logistic scorer; NULL for another scorer or before fit. */
const sq_logreg *sq_pred_logistic_model(const sq_pred_scorer *s);

/* ---- metrics (metrics.c) ---- */
enum { SQ_PRED_CALIB_BINS = 10 };

typedef struct sq_pred_calib_bin {
    uint64_t count;          /* predictions in [b/10, (b+1)/10) (the last bin includes 1) */
    double mean_pred, observed; /* mean prediction, share of positives (NaN when empty) */
} sq_pred_calib_bin;

typedef struct sq_pred_binary_metrics {
    uint64_t n, n_pos;
    double auc, ap, logloss;   /* NaN when undefined (one class only) */
    double threshold;          /* the threshold below is applied as p >= threshold */
    double accuracy, precision, recall, f1;
    sq_pred_calib_bin calib[SQ_PRED_CALIB_BINS];
} sq_pred_binary_metrics;

/* ROC-AUC, ties counted as half (average ranks). */
double sq_pred_auc(const float *p, const int32_t *y, size_t n);
/* Average precision: sum over distinct thresholds of (recall step) x precision, tied
 * scores forming one threshold (as scikit-learn). */
double sq_pred_average_precision(const float *p, const int32_t *y, size_t n);
/* Mean binary cross-entropy, p clipped to [1e-7, 1 - 1e-7]. */
double sq_pred_logloss(const float *p, const int32_t *y, size_t n);
/* The threshold (one of the scores) that maximises F1 of p >= threshold; 0.5 when y has no
 * positive. */
double sq_pred_best_f1_threshold(const float *p, const int32_t *y, size_t n);
void sq_pred_binary_eval(const float *p, const int32_t *y, size_t n, double threshold,
                         sq_pred_binary_metrics *m);
/* The ROC curve for drawing: points (fpr, tpr) from (0, 0) to (1, 1), one per distinct
 * threshold, thinned to at most max_points (>= 2) evenly along the curve's vertices.
 * Returns the number written; 0 when y has a single class. */
int sq_pred_roc_curve(const float *p, const int32_t *y, size_t n, int max_points, double *fpr,
                      double *tpr);

typedef struct sq_pred_multi_metrics {
    uint64_t n;
    int k;
    double accuracy, macro_f1, logloss;
    double auc[16];         /* one-vs-rest ROC-AUC per class (NaN if undefined) */
    uint64_t support[16];   /* examples of each class */
    double f1[16];
} sq_pred_multi_metrics;

/* probs (n, k), y in 0..k-1; prediction = arg max. */
void sq_pred_multi_eval(const float *probs, const int32_t *y, size_t n, int k,
                        sq_pred_multi_metrics *m);

/* ---- the whole protocol in two calls (pipeline.c) ----
 * sq_pred_prepare builds the training examples at cut - h (labels in [cut - h, cut)),
 * and at cut - 2h, ... when cfg->train_cuts > 1,
 * splits them by user into fit and valid (valid_share), builds the target examples at
 * cut (labelled: evaluation; unlabelled: scoring), and standardises all three with the
 * fit part's means and stds. */
typedef struct sq_pred_data {
    int64_t train_cut_ms, cut_ms;
    sq_pred_examples fit, valid, target;
    sq_pred_norm norm;
} sq_pred_data;

sq_status sq_pred_prepare(const sq_dataset *ds, const sq_pred_config *cfg, int64_t cut_ms,
                          int target_labels, double valid_share, sq_pred_data *d,
                          sq_error *err);
void sq_pred_data_free(sq_pred_data *d);

typedef struct sq_pred_result {
    char label[96];
    double fit_seconds;
    /* binary tasks: the threshold maximises F1 on valid; both parts are measured with it */
    double threshold;
    sq_pred_binary_metrics valid, target;
    /* next-behavior */
    sq_pred_multi_metrics valid_multi, target_multi;
} sq_pred_result;

/* Fits s on d->fit (d->valid for its early stopping), chooses the threshold on d->valid,
 * predicts d->target into probs ((target.n, outputs); may be NULL) and, when the target
 * is labelled, measures it. */
sq_status sq_pred_run(sq_pred_scorer *s, const sq_pred_data *d, float *probs,
                      sq_pred_result *r, sq_error *err);

#endif
