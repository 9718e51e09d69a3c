/* Leave-one-out batches, the training loop (AdamW, validation, early stopping, resume),
 * ranking evaluation and top-k recommendation. */
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/progress.h"
#include "models/session_train.h"
#include "models/train_step.h"
#include "shopseq/safetensors.h"
#include "shopseq/train.h"

const int sq_eval_ks[SQ_EVAL_NK] = {1, 5, 10, 20};

static uint64_t mix(uint64_t a, uint64_t b) {
    uint64_t x = a ^ (b + 0x9E3779B97F4A7C15ull + (a << 6) + (a >> 2));
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    return x ^ (x >> 33);
}

uint64_t sq_dataset_item_fingerprint(const sq_dataset *ds) {
    XXH3_state_t *s = XXH3_createState();
    XXH3_64bits_reset(s);
    XXH3_64bits_update(s, &ds->items.n, sizeof ds->items.n);
    XXH3_64bits_update(s, ds->items.offsets, (ds->items.n + 1) * sizeof *ds->items.offsets);
    XXH3_64bits_update(s, ds->items.bytes, ds->items.offsets[ds->items.n]);
    uint64_t h = XXH3_64bits_digest(s);
    XXH3_freeState(s);
    return h;
}

uint64_t sq_dataset_data_fingerprint(const sq_dataset *ds) {
    XXH3_state_t *s = XXH3_createState();
    XXH3_64bits_reset(s);
    XXH3_64bits_update(s, ds->user_offsets, (ds->n_users + 1) * sizeof *ds->user_offsets);
    XXH3_64bits_update(s, ds->item, ds->n_events * sizeof *ds->item);
    XXH3_64bits_update(s, ds->behavior, ds->n_events);
    uint64_t h = XXH3_64bits_digest(s);
    XXH3_freeState(s);
    return h;
}

sq_status sq_check_item_fingerprint(const char *path, const char *fp, const sq_dataset *ds,
                                    sq_error *err) {
    char want[17];
    snprintf(want, sizeof want, "%016" PRIx64, sq_dataset_item_fingerprint(ds));
    if (fp && strcmp(fp, want) != 0)
        return sq_error_set(err, SQ_ERR_USAGE,
                            "%s was trained on a different item dictionary than this dataset "
                            "(fingerprint %s, dataset %s)", path, fp, want);
    return SQ_OK;
}

sq_status sq_check_fingerprint(const char *path, const sq_dataset *ds, sq_error *err) {
    sq_st_file f;
    sq_status st = sq_st_read(&f, path, err);
    if (st != SQ_OK) return st;
    st = sq_check_item_fingerprint(path, sq_st_meta(&f, "item_dict_xxh64"), ds, err);
    sq_st_free(&f);
    return st;
}

/* ---- split ---- */
/* Input events [*b, *e) and target event *t (or -1) of user u for a split. Returns 0 if the
 * user has nothing for that split. kind 3 = training sequence (inputs and targets inside). */
static int user_span(const sq_dataset *ds, uint32_t u, int kind, uint64_t *b, uint64_t *e,
                     int64_t *t) {
    uint64_t b0 = ds->user_offsets[u], e0 = ds->user_offsets[u + 1], n = e0 - b0;
    *b = b0;
    *t = -1;
    switch (kind) {
    case 3: *e = n >= 3 ? e0 - 2 : e0; return *e - *b >= 2;
    case 4: *e = e0; return n >= 2; /* every event (sq_train_opts.all_events) */
    case SQ_SPLIT_VALID:
        if (n < 3) return 0;
        *e = e0 - 2;
        *t = (int64_t)(e0 - 2);
        return 1;
    case SQ_SPLIT_TEST:
        if (n < 3) return 0;
        *e = e0 - 1;
        *t = (int64_t)(e0 - 1);
        return 1;
    default: *e = e0; return n >= 1;
    }
}

int sq__train_span(const sq_dataset *ds, uint32_t u, int all_events, uint64_t *b, uint64_t *e) {
    int64_t t;
    return user_span(ds, u, all_events ? 4 : 3, b, e, &t);
}

typedef struct {
    int cap_seq, maxlen, K;
    int use_gap; /* the model reads time gaps: fill bt->gap (else b.gap = NULL) */
    int *seq_off, *pos;
    uint32_t *item, *target, *neg, *hist;
    uint8_t *beh, *gap;
    sq_batch b;
} batcher;

static void batcher_free(batcher *bt) {
    free(bt->seq_off);
    free(bt->pos);
    free(bt->item);
    free(bt->target);
    free(bt->neg);
    free(bt->beh);
    free(bt->gap);
    free(bt->hist);
}

static int batcher_init(batcher *bt, int cap_seq, int maxlen, int K, size_t max_hist, int use_gap) {
    memset(bt, 0, sizeof *bt);
    size_t rows = (size_t)cap_seq * maxlen;
    bt->use_gap = use_gap;
    bt->cap_seq = cap_seq;
    bt->maxlen = maxlen;
    bt->K = K;
    bt->seq_off = malloc(((size_t)cap_seq + 1) * sizeof(int));
    bt->pos = malloc(rows * sizeof(int));
    bt->item = malloc(rows * sizeof(uint32_t));
    bt->target = malloc(rows * sizeof(uint32_t));
    bt->neg = malloc(rows * (size_t)(K ? K : 1) * sizeof(uint32_t));
    bt->beh = malloc(rows);
    bt->gap = malloc(rows);
    bt->hist = malloc((max_hist ? max_hist : 1) * sizeof(uint32_t));
    if (!bt->seq_off || !bt->pos || !bt->item || !bt->target || !bt->neg || !bt->beh || !bt->gap || !bt->hist) {
        batcher_free(bt);
        return -1;
    }
    return 0;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int in_sorted(const uint32_t *a, size_t n, uint32_t x) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && a[lo] == x;
}

/* Adds user u's sequence [b, e) (the last maxlen inputs); training rows get targets
 * (the next event) and negatives outside the user's history [b, e). */
static void batcher_add(batcher *bt, const sq_dataset *ds, uint64_t b, uint64_t e, int train,
                        sq_nn_rng *rng) {
    int s = bt->b.n_seq, r = bt->seq_off[s];
    uint64_t in_end = train ? e - 1 : e; /* inputs */
    uint64_t in_beg = in_end - b > (uint64_t)bt->maxlen ? in_end - bt->maxlen : b;
    int L = (int)(in_end - in_beg);
    size_t nh = 0;
    if (train && bt->K) {
        for (uint64_t i = b; i < e; i++) bt->hist[nh++] = ds->item[i];
        qsort(bt->hist, nh, sizeof *bt->hist, cmp_u32);
    }
    for (int j = 0; j < L; j++) {
        uint64_t ev = in_beg + (uint64_t)j;
        bt->item[r + j] = ds->item[ev];
        bt->beh[r + j] = ds->behavior[ev];
        bt->pos[r + j] = bt->maxlen - L + j;
        if (train) {
            bt->target[r + j] = ds->item[ev + 1];
            for (int k = 0; k < bt->K; k++) {
                uint32_t x;
                int tries = 0;
                do x = sq_nn_rng_below(rng, ds->n_items);
                while (in_sorted(bt->hist, nh, x) && ++tries < 100);
                bt->neg[(size_t)(r + j) * bt->K + k] = x;
            }
        }
    }
    if (bt->use_gap) sq_gap_fill(bt->gap + r, ds->time_ms, b, in_beg, L); /* b: the user's first event */
    bt->seq_off[s + 1] = r + L;
    bt->b.n_seq = s + 1;
}

static void batcher_reset(batcher *bt, int train) {
    bt->seq_off[0] = 0;
    bt->b = (sq_batch){.n_seq = 0, .seq_off = bt->seq_off, .item = bt->item, .behavior = bt->beh,
                       .gap = bt->use_gap ? bt->gap : NULL, .pos = bt->pos,
                       .target = train ? bt->target : NULL,
                       .neg = train && bt->K ? bt->neg : NULL, .n_neg = bt->K};
}

static size_t max_user_events(const sq_dataset *ds) {
    size_t mx = 0;
    for (uint32_t u = 0; u < ds->n_users; u++) {
        size_t n = ds->user_offsets[u + 1] - ds->user_offsets[u];
        if (n > mx) mx = n;
    }
    return mx;
}

/* ---- evaluation ---- */
sq_status sq_evaluate(sq_model *m, const sq_dataset *ds, const sq_eval_opts *o,
                      sq_eval_result *r, sq_error *err) {
    memset(r, 0, sizeof *r);
    const double t0 = sq_now_s();
    const int V = m->cfg.n_items, B = m->cfg.batch;
    if ((uint32_t)V != ds->n_items)
        return sq_error_set(err, SQ_ERR_USAGE, "model has %d items, dataset %u", V, ds->n_items);
    sq_status fst = sq_features_check_data(m, ds, err);
    if (fst != SQ_OK) return fst;
    batcher bt;
    float *scores = malloc((size_t)B * V * sizeof *scores);
    uint32_t *users = malloc((size_t)B * sizeof *users);
    int64_t *tgt = malloc((size_t)B * sizeof *tgt);
    double *acc = calloc((size_t)B * 3 * SQ_EVAL_NK, sizeof *acc);
    if (!scores || !users || !tgt || !acc || batcher_init(&bt, B, m->cfg.maxlen, 0, 0, m->cfg.use_gap) != 0) {
        free(scores);
        free(users);
        free(tgt);
        free(acc);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory for evaluation");
    }
    double sum[3][SQ_EVAL_NK] = {{0}};
    uint32_t counted = 0;
    uint32_t u = 0;
    while (u < ds->n_users && (!o->max_users || counted < o->max_users)) {
        batcher_reset(&bt, 0);
        int n = 0;
        for (; u < ds->n_users && n < B && (!o->max_users || counted + n < o->max_users); u++) {
            uint64_t b, e;
            int64_t t;
            if (!user_span(ds, u, o->split, &b, &e, &t) || e == b) continue;
            batcher_add(&bt, ds, b, e, 0, NULL);
            users[n] = u;
            tgt[n++] = t;
        }
        if (!n) break;
        sq_model_score(m, &bt.b, scores);
#pragma omp parallel for schedule(dynamic, 4)
        for (int i = 0; i < n; i++) {
            float *s = scores + (size_t)i * V;
            const uint32_t target = ds->item[tgt[i]];
            const uint64_t hb = ds->user_offsets[users[i]], he = (uint64_t)tgt[i];
            const float ts = s[target];
            long rank = 0;
            if (o->protocol == SQ_PROTOCOL_FULL) {
                if (o->mask_history)
                    for (uint64_t k = hb; k < he; k++) s[ds->item[k]] = -INFINITY;
                s[target] = ts;
                for (int v = 0; v < V; v++) rank += s[v] >= ts;
                rank -= 1; /* the target itself; ties count against the model */
            } else {
                sq_nn_rng rng;
                sq_nn_rng_seed(&rng, mix(o->seed, users[i]));
                for (int k = 0; k < 100; k++) {
                    uint32_t x;
                    int seen, tries = 0;
                    do {
                        x = sq_nn_rng_below(&rng, (uint32_t)V);
                        seen = x == target;
                        for (uint64_t q = hb; !seen && q < he; q++) seen = ds->item[q] == x;
                    } while (seen && ++tries < 1000);
                    rank += s[x] >= ts;
                }
            }
            double *a = acc + (size_t)i * 3 * SQ_EVAL_NK;
            for (int k = 0; k < SQ_EVAL_NK; k++) {
                int hit = rank < sq_eval_ks[k];
                a[k] = hit;
                a[SQ_EVAL_NK + k] = hit ? 1.0 / log2((double)rank + 2.0) : 0.0;
                a[2 * SQ_EVAL_NK + k] = hit ? 1.0 / ((double)rank + 1.0) : 0.0;
            }
        }
        for (int i = 0; i < n; i++)
            for (int k = 0; k < SQ_EVAL_NK; k++)
                for (int q = 0; q < 3; q++) sum[q][k] += acc[(size_t)i * 3 * SQ_EVAL_NK + q * SQ_EVAL_NK + k];
        counted += (uint32_t)n;
    }
    r->n_users = counted;
    for (int k = 0; k < SQ_EVAL_NK; k++) {
        r->hr[k] = counted ? sum[0][k] / counted : 0;
        r->ndcg[k] = counted ? sum[1][k] / counted : 0;
        r->mrr[k] = counted ? sum[2][k] / counted : 0;
    }
    r->seconds = sq_now_s() - t0;
    batcher_free(&bt);
    free(scores);
    free(users);
    free(tgt);
    free(acc);
    return SQ_OK;
}

/* ---- recommendation ---- */
sq_status sq_recommend(sq_model *m, const sq_dataset *ds, const uint32_t *users, int n_users,
                       int k, int mask_history, uint32_t *items, float *out_scores,
                       sq_error *err) {
    const int V = m->cfg.n_items, B = m->cfg.batch;
    if ((uint32_t)V != ds->n_items)
        return sq_error_set(err, SQ_ERR_USAGE, "model has %d items, dataset %u", V, ds->n_items);
    sq_status fst = sq_features_check_data(m, ds, err);
    if (fst != SQ_OK) return fst;
    if (k > V) k = V;
    batcher bt;
    float *scores = malloc((size_t)B * V * sizeof *scores);
    if (!scores || batcher_init(&bt, B, m->cfg.maxlen, 0, 0, m->cfg.use_gap) != 0) {
        free(scores);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    }
    for (int u0 = 0; u0 < n_users; u0 += B) {
        int n = n_users - u0 < B ? n_users - u0 : B;
        batcher_reset(&bt, 0);
        for (int i = 0; i < n; i++) {
            uint64_t b, e;
            int64_t t;
            user_span(ds, users[u0 + i], SQ_SPLIT_ALL, &b, &e, &t);
            batcher_add(&bt, ds, b, e, 0, NULL);
        }
        sq_model_score(m, &bt.b, scores);
#pragma omp parallel for schedule(dynamic, 4)
        for (int i = 0; i < n; i++) {
            float *s = scores + (size_t)i * V;
            uint32_t u = users[u0 + i];
            if (mask_history)
                for (uint64_t q = ds->user_offsets[u]; q < ds->user_offsets[u + 1]; q++)
                    s[ds->item[q]] = -INFINITY;
            uint32_t *it = items + (size_t)(u0 + i) * k;
            float *sc = out_scores + (size_t)(u0 + i) * k;
            int have = 0;
            /* partial selection: keep the k best in a sorted array */
            for (int v = 0; v < V; v++) {
                float x = s[v];
                if (have == k && !(x > sc[k - 1])) continue;
                int j = have < k ? have++ : k - 1;
                while (j > 0 && sc[j - 1] < x) {
                    sc[j] = sc[j - 1];
                    it[j] = it[j - 1];
                    j--;
                }
                sc[j] = x;
                it[j] = (uint32_t)v;
            }
        }
    }
    batcher_free(&bt);
    free(scores);
    return SQ_OK;
}

/* ---- training ---- */
void sq__train_progress(const sq_train_opts *o, int epoch, double frac, double loss, double rows,
                        double t0) {
    if (!o->log || !o->progress) return;
    int w = 30, f = (int)(frac * w);
    fprintf(o->log, "\repoch %d/%d [", epoch, o->epochs);
    for (int i = 0; i < w; i++) fputc(i < f ? '#' : '.', o->log);
    fprintf(o->log, "] %3d%% loss %.4f %.0f ev/s ", (int)(frac * 100), loss, rows / (sq_now_s() - t0));
    fflush(o->log);
}

double sq__train_step(sq_model *m, const sq_batch *b, const sq_nn_adamw *opt) {
    if (m->ops->fit_batch) { /* counting model: statistics, no gradients */
        m->ops->fit_batch(m, b);
        return 0.0;
    }
    sq_nn_params_zero_grad(&m->params);
    const double l = sq_model_forward(m, b, 1);
    sq_model_backward(m, b);
    sq_nn_adamw_step(&m->params, opt);
    return l;
}

/* Checks the batching and sampling options against the model; builds the popularity
 * sampler when o->sample_alpha > 0. */
static sq_status train_setup(const sq_model *m, const sq_dataset *ds, const sq_train_opts *o,
                             sq__item_sampler *smp, sq_error *err) {
    const sq_model_config *cfg = &m->cfg;
    const int cand = cfg->loss == SQ_LOSS_SHARED || cfg->loss == SQ_LOSS_BPRMAX;
    if (o->batching == SQ_BATCHING_SESSION &&
        (strcmp(m->ops->name, "gru4rec") || !(cand || cfg->loss == SQ_LOSS_CE)))
        return sq_error_set(err, SQ_ERR_USAGE,
                            "session-parallel batching is for gru4rec with --loss ce, shared or "
                            "bpr-max (got %s, %s)", m->ops->name, sq_loss_name(cfg->loss));
    if (o->sample_alpha < 0.0f)
        return sq_error_set(err, SQ_ERR_USAGE, "sample alpha must be >= 0, got %g",
                            (double)o->sample_alpha);
    if (o->logq < 0.0f)
        return sq_error_set(err, SQ_ERR_USAGE, "logq must be >= 0, got %g", (double)o->logq);
    /* only the RNN harness's candidate losses use the drawn samples and the correction */
    if ((o->sample_alpha > 0.0f || o->logq > 0.0f) && strcmp(m->ops->name, "gru4rec") &&
        strcmp(m->ops->name, "lstm"))
        return sq_error_set(err, SQ_ERR_USAGE,
                            "--sample-alpha and --logq apply to gru4rec and lstm only (model %s)",
                            m->ops->name);
    const int draw = o->sample_alpha > 0.0f && cand && cfg->negatives > 0,
              logq = o->logq > 0.0f && cfg->loss == SQ_LOSS_SHARED;
    if (!draw && !logq) return SQ_OK;
    uint32_t *counts = calloc(ds->n_items ? ds->n_items : 1, sizeof *counts);
    if (!counts) return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    for (uint32_t u = 0; u < ds->n_users; u++) {
        uint64_t b, e;
        if (sq__train_span(ds, u, o->all_events, &b, &e))
            for (uint64_t i = b; i < e; i++) counts[ds->item[i]]++;
    }
    int bad = draw ? sq__sampler_init(smp, counts, ds->n_items, o->sample_alpha) : 0;
    if (!bad && logq) {
        smp->logq_pop = malloc((size_t)(ds->n_items ? ds->n_items : 1) * sizeof *smp->logq_pop);
        if (!smp->logq_pop) bad = -1;
        else
            for (uint32_t i = 0; i < ds->n_items; i++)
                smp->logq_pop[i] = counts[i] ? o->logq * logf((float)counts[i]) : 0.0f;
        smp->logq_alpha = draw ? o->sample_alpha : 0.0f; /* uniform draws: no correction */
    }
    free(counts);
    if (bad) {
        sq__sampler_free(smp);
        return sq_error_set(err, SQ_ERR_USAGE, "no training events to sample negatives from");
    }
    return SQ_OK;
}

/* A resumed checkpoint's training-state value `key` into *out, if present (else *out stays);
 * a value that is not a number in [lo, hi] is an error naming the file, key and value. */
static sq_status resume_meta(const sq_st_file *f, const char *path, const char *key, double lo,
                             double hi, double *out, sq_error *err) {
    const char *v = sq_st_meta(f, key);
    if (!v) return SQ_OK;
    char *end;
    const double x = strtod(v, &end);
    if (end == v || *end || !(x >= lo && x <= hi))
        return sq_error_set(err, SQ_ERR_FORMAT, "%s: checkpoint metadata '%s' is '%s', not a number "
                            "in [%g, %g]", path, key, v, lo, hi);
    *out = x;
    return SQ_OK;
}

/* copies the AdamW moments (m then v) and step count into keep */
static void keep_moments(const sq_nn_params *p, float *keep, int64_t *step) {
    memcpy(keep, p->m, p->total * sizeof(float));
    memcpy(keep + p->total, p->v, p->total * sizeof(float));
    *step = p->step;
}

sq_status sq_train(sq_model *m, const sq_dataset *ds, const sq_train_opts *o,
                   sq_train_result *res, sq_error *err) {
    memset(res, 0, sizeof *res);
    const sq_model_config *cfg = &m->cfg;
    if ((uint32_t)cfg->n_items != ds->n_items)
        return sq_error_set(err, SQ_ERR_USAGE, "model has %d items, dataset %u", cfg->n_items,
                            ds->n_items);
    sq_status fst = sq_features_check_data(m, ds, err);
    if (fst != SQ_OK) return fst;
    const int K = cfg->loss == SQ_LOSS_CE || cfg->loss == SQ_LOSS_SHARED || cfg->loss == SQ_LOSS_BPRMAX
                      ? 0
                      : (cfg->negatives > 0 ? cfg->negatives : 1);
    sq__item_sampler smp = {0};
    sq_status st = train_setup(m, ds, o, &smp, err);
    if (st != SQ_OK) return st;
    int start_epoch = 0, drops = 0;
    double best = -1.0;
    if (o->resume) {
        sq_st_file f;
        st = sq_st_read(&f, o->resume, err);
        if (st != SQ_OK) {
            sq__sampler_free(&smp);
            return st;
        }
        double e = 0.0, bn = -1.0, dd = 0.0;
        st = resume_meta(&f, o->resume, "train_epoch", 0, 1e9, &e, err);
        if (st == SQ_OK) st = resume_meta(&f, o->resume, "best_ndcg10", 0, 1, &bn, err);
        if (st == SQ_OK) st = resume_meta(&f, o->resume, "lr_drops_done", 0, 1e6, &dd, err);
        sq_st_free(&f);
        if (st != SQ_OK) {
            sq__sampler_free(&smp);
            return st;
        }
        start_epoch = (int)e;
        best = bn;
        /* the same flags continue the schedule where the checkpoint left it */
        if (o->lr_drop > 0.0f) drops = (int)dd;
    }
    const int session_parallel = o->batching == SQ_BATCHING_SESSION;
    sq__session_train sess = {0};
    if (session_parallel &&
        (st = sq__session_init(&sess, m, ds, o->all_events, smp.cdf ? cfg->negatives : 0, err)) != SQ_OK) {
        sq__sampler_free(&smp);
        return st;
    }
    uint32_t *train_users = malloc((size_t)(ds->n_users ? ds->n_users : 1) * sizeof *train_users);
    float *best_w = malloc(m->params.total * sizeof(float));
    /* reduce on plateau goes back to the best epoch's AdamW moments too */
    const int can_drop = o->lr_drop > 0.0f && o->lr_drop < 1.0f && o->lr_drops > 0;
    float *best_mv = can_drop ? malloc(2 * m->params.total * sizeof(float)) : NULL;
    int64_t best_step = m->params.step;
    uint32_t *shared_neg = malloc((size_t)(smp.cdf ? cfg->negatives : 1) * sizeof *shared_neg);
    batcher bt;
    if (!train_users || !best_w || !shared_neg || (can_drop && !best_mv) ||
        batcher_init(&bt, cfg->batch, cfg->maxlen, K, max_user_events(ds), cfg->use_gap) != 0) {
        free(train_users);
        free(best_w);
        free(best_mv);
        free(shared_neg);
        sq__session_free(&sess);
        sq__sampler_free(&smp);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory for training");
    }
    memcpy(best_w, m->params.data, m->params.total * sizeof(float));
    if (best_mv) keep_moments(&m->params, best_mv, &best_step);
    float lr = o->lr;
    for (int d = 0; d < drops; d++) lr *= o->lr_drop;
    sq_nn_adamw opt = {.lr = lr, .beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-8f,
                       .weight_decay = o->weight_decay};
    char fp_items[17], fp_data[17];
    snprintf(fp_items, sizeof fp_items, "%016" PRIx64, sq_dataset_item_fingerprint(ds));
    snprintf(fp_data, sizeof fp_data, "%016" PRIx64, sq_dataset_data_fingerprint(ds));
    int bad = 0, saved = 0, validated = 0;
    double train_time = 0.0, rows_total = 0.0;
    int epoch = start_epoch;
    for (; epoch < o->epochs; epoch++) {
        const double te = sq_now_s();
        sq_nn_rng rng;
        sq_nn_rng_seed(&rng, mix(cfg->seed, (uint64_t)epoch));
        /* the order of an epoch depends on (seed, epoch) only, so that resume is exact */
        uint32_t nu = 0;
        for (uint32_t u = 0; !session_parallel && u < ds->n_users; u++) {
            uint64_t b, e;
            int64_t t;
            if (user_span(ds, u, o->all_events ? 4 : 3, &b, &e, &t)) train_users[nu++] = u;
        }
        for (uint32_t i = nu; i > 1; i--) { /* Fisher-Yates */
            uint32_t j = sq_nn_rng_below(&rng, i);
            uint32_t x = train_users[i - 1];
            train_users[i - 1] = train_users[j];
            train_users[j] = x;
        }
        double loss_sum = 0.0, rows = 0.0;
        int nb = 0;
        const int n_batches = (int)((nu + cfg->batch - 1) / cfg->batch);
        if (session_parallel) sq__session_epoch(&sess, m, ds, o, &opt, epoch, &smp, te, &loss_sum, &rows, &nb);
        for (uint32_t i0 = 0; !session_parallel && i0 < nu; i0 += (uint32_t)cfg->batch, nb++) {
            batcher_reset(&bt, 1);
            sq_nn_rng brng;
            sq_nn_rng_seed(&brng, mix(mix(cfg->seed, (uint64_t)epoch), (uint64_t)nb));
            for (uint32_t i = i0; i < nu && i < i0 + (uint32_t)cfg->batch; i++) {
                uint64_t b, e;
                int64_t t;
                user_span(ds, train_users[i], o->all_events ? 4 : 3, &b, &e, &t);
                batcher_add(&bt, ds, b, e, 1, &brng);
            }
            bt.b.seed = sq_nn_rng_next(&brng);
            if (smp.cdf) { /* popularity-based shared samples */
                sq__sampler_draw(&smp, &brng, shared_neg, cfg->negatives);
                bt.b.shared_neg = shared_neg;
                bt.b.n_shared_neg = cfg->negatives;
            }
            bt.b.logq_pop = smp.logq_pop;
            bt.b.logq_alpha = smp.logq_alpha;
            loss_sum += sq__train_step(m, &bt.b, &opt);
            rows += bt.seq_off[bt.b.n_seq];
            if (o->progress && (nb % 4 == 0 || nb + 1 == n_batches))
                sq__train_progress(o, epoch + 1, (double)(nb + 1) / n_batches, loss_sum / (nb + 1),
                                   rows, te);
        }
        if (m->ops->fit_end) m->ops->fit_end(m);
        const double dt = sq_now_s() - te;
        train_time += dt;
        rows_total += rows;
        res->last_loss = nb ? loss_sum / nb : 0.0;
        res->epochs_run = epoch + 1 - start_epoch;
        if (o->log) {
            if (o->progress) fputc('\n', o->log);
            else
                fprintf(o->log, "epoch %d/%d loss %.4f %.1f s %.0f ev/s\n", epoch + 1, o->epochs,
                        res->last_loss, dt, rows / dt);
        }
        int last = epoch + 1 == o->epochs || (o->max_seconds > 0 && train_time >= o->max_seconds) ||
                   m->ops->fit_end != NULL; /* counting models: one pass is the whole fit */
        if (o->eval_every > 0 && ((epoch + 1) % o->eval_every == 0 || last)) {
            sq_eval_opts eo = {.split = SQ_SPLIT_VALID, .protocol = SQ_PROTOCOL_FULL,
                               .mask_history = !o->keep_history, .max_users = o->eval_users};
            sq_eval_result er;
            st = sq_evaluate(m, ds, &eo, &er, err);
            validated = 1;
            if (st != SQ_OK) break;
            int improved = er.ndcg[2] > best;
            if (o->log)
                fprintf(o->log, "epoch %d validation (%u users, full ranking): NDCG@10 %.4f "
                                "HR@10 %.4f%s (%.1f s)\n",
                        epoch + 1, er.n_users, er.ndcg[2], er.hr[2], improved ? " *" : "",
                        er.seconds);
            if (improved) {
                best = er.ndcg[2];
                res->best_epoch = epoch + 1;
                bad = 0;
                memcpy(best_w, m->params.data, m->params.total * sizeof(float));
                if (best_mv) keep_moments(&m->params, best_mv, &best_step);
                if (o->out) {
                    char ep[16], bn[32], dd[16];
                    snprintf(ep, sizeof ep, "%d", epoch + 1);
                    snprintf(bn, sizeof bn, "%.9g", best);
                    snprintf(dd, sizeof dd, "%d", drops);
                    const char *meta[] = {"item_dict_xxh64", fp_items, "data_xxh64", fp_data,
                                          "train_epoch", ep, "best_ndcg10", bn,
                                          "lr_drops_done", dd, NULL};
                    st = sq_model_save(m, o->out, meta, 1, err);
                    if (st != SQ_OK) break;
                    saved = 1;
                }
            } else if (o->patience > 0 && ++bad >= o->patience && can_drop &&
                       drops < o->lr_drops) {
                /* reduce on plateau: a smaller step from the best point so far */
                memcpy(m->params.data, best_w, m->params.total * sizeof(float));
                memcpy(m->params.m, best_mv, m->params.total * sizeof(float));
                memcpy(m->params.v, best_mv + m->params.total, m->params.total * sizeof(float));
                m->params.step = best_step;
                opt.lr *= o->lr_drop;
                drops++;
                bad = 0;
                if (o->log)
                    fprintf(o->log, "plateau: back to epoch %d, learning rate %g (drop %d of %d)\n",
                            res->best_epoch ? res->best_epoch : start_epoch, (double)opt.lr, drops,
                            o->lr_drops);
            } else if (o->patience > 0 && bad >= o->patience) {
                if (o->log)
                    fprintf(o->log, "early stop: no improvement in %d validations\n", bad);
                epoch++;
                break;
            }
        }
        if (last) {
            epoch++;
            break;
        }
    }
    /* resumed and validated, never better: the resumed weights are still the best, and
     * they (not the last epoch's) are what the run leaves and saves */
    const int keep_resumed = st == SQ_OK && o->resume && validated && !res->best_epoch;
    if (keep_resumed) {
        memcpy(m->params.data, best_w, m->params.total * sizeof(float));
        if (best_mv) {
            memcpy(m->params.m, best_mv, m->params.total * sizeof(float));
            memcpy(m->params.v, best_mv + m->params.total, m->params.total * sizeof(float));
            m->params.step = best_step;
        }
    }
    if (st == SQ_OK && o->out && !saved) {
        char ep[16], bn[32], dd[16];
        snprintf(ep, sizeof ep, "%d", keep_resumed ? start_epoch : epoch);
        snprintf(bn, sizeof bn, "%.9g", best);
        snprintf(dd, sizeof dd, "%d", drops);
        const char *meta[] = {"item_dict_xxh64", fp_items, "data_xxh64", fp_data, "train_epoch",
                              ep, "lr_drops_done", dd, NULL, NULL, NULL};
        if (keep_resumed) meta[8] = "best_ndcg10", meta[9] = bn;
        st = sq_model_save(m, o->out, meta, 1, err);
    }
    if (st == SQ_OK && res->best_epoch) /* leave the best weights in m */
        memcpy(m->params.data, best_w, m->params.total * sizeof(float));
    res->best_ndcg10 = best;
    res->lr_drops_done = drops;
    res->seconds_per_epoch = res->epochs_run ? train_time / res->epochs_run : 0.0;
    res->events_per_second = train_time > 0 ? rows_total / train_time : 0.0;
    batcher_free(&bt);
    sq__session_free(&sess);
    free(train_users);
    free(best_w);
    free(best_mv);
    free(shared_neg);
    sq__sampler_free(&smp);
    return st;
}
