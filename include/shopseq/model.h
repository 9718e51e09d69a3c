/* One interface for every sequence model (SASRec now; GRU4Rec, BERT4Rec, Caser and the
 * baselines later): training, evaluation, serving and benchmarks never special-case one.
 *
 * A batch is a set of *packed* sequences (see nn.h): sequence s owns rows
 * [seq_off[s], seq_off[s+1]) of every per-event array; no padding anywhere. Row r holds
 * the r-th input event; target[r] is the item to predict at that row (next item for causal
 * models), neg[r*n_neg ..] its sampled negatives. */
#ifndef SHOPSEQ_MODEL_H
#define SHOPSEQ_MODEL_H

#include <stdint.h>

#include "shopseq/dataset.h"
#include "shopseq/nn.h"
#include "shopseq/status.h"

/* shared: softmax over the batch's targets plus `negatives` uniform items shared by every
 * row (sq_nn_ce_shared; bert4rec, gru4rec, lstm, caser); bpr_max: BPR-max over the same
 * candidates (sq_nn_bprmax_shared, "bpr-max"; gru4rec, lstm) */
typedef enum {
    SQ_LOSS_BCE = 0, SQ_LOSS_CE = 1, SQ_LOSS_SAMPLED = 2, SQ_LOSS_SHARED = 3, SQ_LOSS_BPRMAX = 4
} sq_loss_kind;

const char *sq_loss_name(sq_loss_kind k);
int sq_loss_from_name(const char *s); /* -1 if unknown */

/* Everything that decides a model's shape and training behaviour. Saved in checkpoints. */
typedef struct sq_model_config {
    char model[32];    /* "sasrec" */
    int n_items;       /* catalogue size (dense ids 0..n_items-1) */
    int dim;           /* hidden size C */
    int blocks;        /* transformer blocks */
    int heads;
    int maxlen;        /* longest input sequence (positions) */
    float dropout;
    int use_behavior;  /* add a behaviour-type embedding per event (0 = the paper) */
    /* side embeddings added to each event's input (0 = the paper; features.c): the item's
     * category and price bucket (per-item tables in the model, looked up from the item id)
     * and the log2 time gap to the user's previous event (sq_batch.gap) */
    int use_category, use_price, use_gap;
    int n_categories;  /* the dataset's categories when use_category (table rows - 1) */
    sq_loss_kind loss;
    int negatives;     /* negatives per position for BCE / sampled softmax */
    int batch;         /* largest batch (sequences) the activation arena is sized for */
    float ln_eps;
    uint64_t seed;
    /* model-specific (0 = the model's default; see docs/models.md) */
    float mask_prob;   /* bert4rec: Cloze masking probability */
    float mask_last;   /* bert4rec: probability that a training sequence instead has only its
                          last event masked, the recommendation task itself (the official
                          code adds one such instance per ten Cloze ones); 0 = never */
    int output_bias;   /* bert4rec: a per-item bias on the output logits, as BERT's masked-LM
                          head; needs --loss ce. -1 (the bert4rec preset) = on with ce (the
                          paper), off with the shared loss; create settles it to 0 or 1 */
    int window;        /* itemknn: co-occurrence window; caser: L, the last L items */
    int filters_h;     /* caser: horizontal filters per height */
    int filters_v;     /* caser: vertical filters */
    float init_std;    /* sasrec: 0 = xavier normal (the paper); > 0 = N(0, init_std) for every
                          matrix, as RecBole and the published full-CE runs initialise */
    float bpreg;       /* bpr-max: score regularisation weight (1.0, the official default) */
    float final_elu;   /* bpr-max: ELU alpha applied to the scores first (0.5; 0 = none) */
} sq_model_config;

void sq_model_config_default(sq_model_config *c); /* the SASRec paper's settings */

typedef struct sq_batch {
    int n_seq;
    const int *seq_off;       /* (n_seq+1) */
    const uint32_t *item;     /* (N) input items */
    const uint8_t *behavior;  /* (N) or NULL: no behaviour embedding */
    const uint8_t *gap;       /* (N) or NULL: time-gap bucket of each event to the user's
                                 previous one (sq_gap_bucket; 0 = first/unknown); NULL: no
                                 gap embedding */
    const int *pos;           /* (N) position ids in [0, maxlen) */
    const uint32_t *target;   /* (N) or NULL (scoring) */
    const uint32_t *neg;      /* (N * n_neg) or NULL */
    int n_neg;
    uint64_t seed;            /* dropout stream of this step (training forward only) */
    /* shared / bpr-max: the sampled part of the candidate set when the trainer draws it
     * (popularity-based); NULL = the model draws cfg.negatives uniform items */
    const uint32_t *shared_neg;
    int n_shared_neg;
    /* shared (softmax) only: logQ correction, (n_items) logq * log(training count) per item;
     * a column that is some row's target is lowered by it, a sampled-only column by
     * logq_alpha times it (the official GRU4Rec's logq). NULL = none */
    const float *logq_pop;
    float logq_alpha;
    /* session-parallel step (gru4rec): every sequence is one event, and sequence s
     * continues the state of row state_src[s] of the previous step, or starts from zero
     * (-1). NULL = ordinary packed sequences from a zero state. */
    const int *state_src;
} sq_batch;

typedef struct sq_model sq_model;

typedef struct sq_model_ops {
    const char *name;
    /* Builds parameters (initialised from cfg->seed) and the activation arena. */
    sq_status (*create)(sq_model **m, const sq_model_config *cfg, sq_error *err);
    /* Runs the batch; train = 1 applies dropout and keeps activations for backward.
     * Returns the mean loss over rows when batch->target is set, else 0. */
    double (*forward)(sq_model *m, const sq_batch *b, int train);
    /* Accumulates parameter gradients of the last training forward into params.grad. */
    void (*backward)(sq_model *m, const sq_batch *b);
    /* scores (n_seq, n_items): the next-item score after the last row of each sequence. */
    void (*score)(sq_model *m, const sq_batch *b, float *scores);
    /* rep (n_seq, dim): the final representation after the last row of each sequence,
     * exactly the vector that score multiplies with the item embeddings (bert4rec: the
     * masked-LM head's output at the appended [mask]); zeros for an empty sequence. The
     * batch needs no targets. train = 1 applies dropout (stream b->seed) and keeps the
     * activations for encode_backward. For task heads (purchase, churn, ...). NULL for
     * the counting baselines. */
    void (*encode)(sq_model *m, const sq_batch *b, int train, float *rep);
    /* Accumulates into params.grad the gradient of a loss whose gradient with respect to
     * the rep of the last encode is drep (n_seq, dim); b is that encode's batch. */
    void (*encode_backward)(sq_model *m, const sq_batch *b, const float *drep);
    /* The output item table: the parameter (n_items or more rows of dim; rows past
     * n_items are not items) whose row v, dotted with encode's rep, is the score of item v.
     * The service's fast scorer and the item task's candidate score read it. NULL when
     * score is no such product (the counting baselines). */
    const char *output_table;
    /* The output bias: a parameter of n_items (or more) entries added to those products
     * when the model has it (bert4rec with output_bias); NULL or absent: none. */
    const char *output_bias;
    void (*destroy)(sq_model *m);
    /* Counting models (the baselines) leave forward/backward as no-ops and set these:
     * training then calls fit_batch for each training batch of the first epoch (instead
     * of forward, backward and AdamW) and fit_end after it; later epochs do nothing.
     * Statistics live in params, so checkpoints, eval and recommend need no special case.
     * NULL for gradient-trained models. */
    void (*fit_batch)(sq_model *m, const sq_batch *b);
    void (*fit_end)(sq_model *m);
} sq_model_ops;

struct sq_model {
    const sq_model_ops *ops;
    sq_model_config cfg;
    sq_nn_params params; /* save / load / optimiser work on this alone */
    /* per-item side tables (not trained; saved in checkpoints), allocated by
     * sq_model_create when the feature is on, zero (= unknown) until filled
     * (sq_features_attach / sq_model_set_item_features) */
    int32_t *item_category; /* (n_items) category + 1, 0 = unknown; when cfg.use_category */
    int32_t *item_price;    /* (n_items) price bucket 1..SQ_PRICE_BUCKETS, 0 = unknown */
    sq_nn_ws loss_ws;       /* the full softmax's per-thread tiles, kept across steps */
};

/* ---- side features (features.c) ----
 * Every neural model's input row is  item_emb[item] (model-specific scaling) + pos
 * + B[behaviour] + K[category(item)] + P[price_bucket(item)] + G[gap]  for the enabled
 * ones: a plain sum of same-width (dim) embeddings, so a feature off costs nothing and the
 * defaults are the papers' models. BERT4Rec adds none at [mask] tokens (they would leak the
 * hidden event). */
enum { SQ_PRICE_BUCKETS = 10, SQ_GAP_BUCKETS = 32 };
enum { SQ_FEAT_BEHAVIOR = 1, SQ_FEAT_CATEGORY = 2, SQ_FEAT_PRICE = 4, SQ_FEAT_GAP = 8 };
/* Bucket of the gap between two events: 1 + floor(log2(1 + seconds)), capped at
 * SQ_GAP_BUCKETS - 1 (negative gaps count as 0 s). Bucket 0 is "no previous event". */
uint8_t sq_gap_bucket(int64_t prev_ms, int64_t cur_ms);
/* gap[j] for events [begin, begin + n) of one user whose first event is `first` (indices
 * into time_ms): bucket to the previous event, 0 for the user's first. The one helper every
 * batch builder uses. */
void sq_gap_fill(uint8_t *gap, const int64_t *time_ms, uint64_t first, uint64_t begin, int n);
/* "behavior,category,price,gap" (any subset, comma-separated; "none", "all") to a
 * SQ_FEAT_* mask; -1 and a message naming the bad word if unknown. */
int sq_features_parse(const char *list, sq_error *err);
void sq_features_set(sq_model_config *c, int mask);
int sq_features_mask(const sq_model_config *c);
/* "behavior,gap" or "none" into buf */
const char *sq_features_name(int mask, char *buf, size_t n);
/* Checks that ds has the columns the config's features need (SQ_ERR_USAGE naming the
 * missing column) and sets c->n_categories. Call before sq_model_create. */
sq_status sq_features_prepare(sq_model_config *c, const sq_dataset *ds, sq_error *err);
/* Fills m's per-item tables from ds: the item's category, and its price bucket (deciles of
 * the items' mean known price). */
sq_status sq_features_attach(sq_model *m, const sq_dataset *ds, sq_error *err);
/* Copies given tables (n_items each; NULL leaves one as is); values are range-checked. */
sq_status sq_model_set_item_features(sq_model *m, const int32_t *category, const int32_t *price,
                                     sq_error *err);
/* prepare + create + attach: a new model for training on ds. */
sq_status sq_model_create_for(sq_model **m, sq_model_config *cfg, const sq_dataset *ds,
                              sq_error *err);
/* SQ_ERR_USAGE if m needs a feature ds cannot supply (e.g. gap on data without times):
 * scoring a checkpoint with features its input lacks would be silently wrong. */
sq_status sq_features_check_data(const sq_model *m, const sq_dataset *ds, sq_error *err);

/* Looks the model up by cfg->model and creates it. */
sq_status sq_model_create(sq_model **m, const sq_model_config *cfg, sq_error *err);
void sq_model_free(sq_model *m); /* NULL ok */
static inline double sq_model_forward(sq_model *m, const sq_batch *b, int train) {
    return m->ops->forward(m, b, train);
}
static inline void sq_model_backward(sq_model *m, const sq_batch *b) { m->ops->backward(m, b); }
static inline void sq_model_score(sq_model *m, const sq_batch *b, float *scores) {
    m->ops->score(m, b, scores);
}
/* 1 if the model has an encoder (encode / encode_backward), 0 for the counting baselines */
static inline int sq_model_can_encode(const sq_model *m) {
    return m->ops->encode && m->ops->encode_backward;
}
static inline void sq_model_encode(sq_model *m, const sq_batch *b, int train, float *rep) {
    m->ops->encode(m, b, train, rep);
}
/* Index in m->params of ops->output_table, checked to be (>= n_items, dim); -1 when the
 * model has none (or no encoder). */
int sq_model_output_table(const sq_model *m);
/* Index in m->params of ops->output_bias (>= n_items entries), -1 when this model has none:
 * score(v) = rep . table[v] + bias[v]. */
int sq_model_output_bias(const sq_model *m);
static inline void sq_model_encode_backward(sq_model *m, const sq_batch *b, const float *drep) {
    m->ops->encode_backward(m, b, drep);
}

extern const sq_model_ops sq_sasrec_ops;
extern const sq_model_ops sq_gru4rec_ops, sq_lstm_ops, sq_caser_ops, sq_bert4rec_ops;
extern const sq_model_ops sq_pop_ops, sq_markov_ops, sq_itemknn_ops;

/* Names of the registered models, comma-separated ("sasrec,gru4rec,..."). */
const char *sq_model_names(void);
int sq_model_known(const char *name); /* 1 if registered */
/* The defaults of one model's paper (or of the official code) in c, keeping n_items and
 * seed. See docs/models.md for what each config field means for each model. */
sq_status sq_model_config_preset(sq_model_config *c, const char *model, sq_error *err);
/* Number of float parameters (model size). */
static inline size_t sq_model_size(const sq_model *m) { return m->params.total; }

/* ---- checkpoints (checkpoint.c): safetensors with the config in __metadata__ ----
 * meta: extra key/value string pairs (NULL-terminated list, may be NULL), e.g. the item
 * dictionary and data fingerprints. with_optimizer adds AdamW moments and the step. */
sq_status sq_model_save(const sq_model *m, const char *path, const char *const *meta,
                        int with_optimizer, sq_error *err);
/* Creates the model described by the file and loads its weights (and optimizer state when
 * present). Truncated, tampered or mismatching files are refused. */
sq_status sq_model_load(sq_model **m, const char *path, sq_error *err);
/* The same from a checkpoint already read (safetensors.h sq_st_read), for a caller that
 * also reads its metadata; path only names it in messages. f stays the caller's. */
struct sq_st_file;
sq_status sq_model_load_file(sq_model **m, const struct sq_st_file *f, const char *path,
                             sq_error *err);

#endif
