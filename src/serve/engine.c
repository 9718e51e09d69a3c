/* A loaded checkpoint + its dataset, shared by request threads.
 *
 * Reference-counted: a reload creates a new engine and swaps the server's pointer; requests
 * that hold the old one finish on it, and the last unref frees it.
 *
 * Scoring combines concurrent requests (leader/follower): a caller queues its job; if no
 * batch is running it becomes the leader, packs queued jobs into one batch (up to B
 * sequences), scores it once (the item-embedding GEMM is shared by the whole batch) and runs
 * each job's post-processing (masking, top-k) on the scores; others wait on a condition
 * variable. The model's activation arena is therefore used by one thread at a time.
 *
 * Models whose score is rep . W[item] (rep from the model's encode op, W the parameter its
 * ops name as output_table, sq_model_output_table) are scored by score.c: the model only encodes the batch,
 * one int8 pass over the catalogue gives approximate scores and each job's top-k is made
 * exact by rescoring the few candidates in fp32. At load a probe sequence is scored both
 * ways, and a model whose scores disagree keeps its own score op (as the baselines do). */
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "shopseq/dataset.h"
#include "shopseq/model.h"
#include "shopseq/predict_model.h"
#include "shopseq/serve.h"
#include "shopseq/train.h"

#define POP_N 1000
#define MAX_BATCH 64

typedef struct job {
    int n_seq;
    const int *off;        /* (n_seq+1) rows of this job, relative */
    const uint32_t *item;
    const uint8_t *beh;
    const uint8_t *gap;    /* time-gap buckets (model.h sq_gap_bucket), or NULL: then the
                              leader buckets them from time_ms straight into the batch, so a
                              request needs no buffer of its own */
    const int64_t *time_ms; /* with gap NULL: the user's event times; the job's rows are its
                               events time_begin.. (sq_gap_fill, the user's first at 0) */
    uint64_t time_begin;
    /* scores (n_seq, ld): exact, or approximate when rep (n_seq, C) is set (fast path) */
    void (*done)(struct job *j, sq_engine *e, float *scores, const float *rep);
    void *ctx;
    int finished;
    struct job *next;
} job;

struct sq_engine {
    atomic_int refs;
    sq_model *m;
    sq_dataset ds;
    char *path;
    double loaded_at;
    uint32_t pop[POP_N];
    float pop_score[POP_N];
    int n_pop;
    /* combiner */
    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    job *head, *tail;
    int busy;
    int B, maxlen, V;
    int threads;        /* OpenMP team size of a batch */
    float *scores;     /* (B, ld) */
    size_t ld;          /* row stride of scores: V, or the scorer's padded width */
    int fast;           /* scorer in use */
    sq__scorer sc;
    float *rep;         /* (B, C) encoder outputs (fast path) */
    int *seq_off, *pos; /* (B+1), (B*maxlen) */
    uint32_t *items;
    uint8_t *beh, *gap;
    sq_pred_model *pm[SQ_PRED_TASK_COUNT]; /* task heads (--predict-model), NULL if none */
};

static int cmp_pop(const void *a, const void *b, void *ctx) {
    const uint64_t *cnt = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (cnt[x] != cnt[y]) return cnt[x] > cnt[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

static void engine_free(sq_engine *e) {
    if (!e) return;
    sq_model_free(e->m);
    for (int t = 0; t < SQ_PRED_TASK_COUNT; t++) {
        sq_pred_model_free(e->pm[t]);
        free(e->pm[t]);
    }
    sq_dataset_close(&e->ds);
    free(e->path);
    free(e->scores);
    free(e->rep);
    sq__scorer_free(&e->sc);
    free(e->seq_off);
    free(e->pos);
    free(e->items);
    free(e->beh);
    free(e->gap);
    pthread_mutex_destroy(&e->qlock);
    pthread_cond_destroy(&e->qcond);
    free(e);
}

/* 1 if encode + rep . W equals the model's own score op on a probe sequence */
static int fast_path_agrees(sq_engine *e) {
    const int L = e->maxlen < 3 ? e->maxlen : 3;
    int off[2] = {0, L};
    for (int i = 0; i < L; i++) {
        e->items[i] = (uint32_t)(i * 7919u % (uint32_t)e->V);
        e->beh[i] = 0;
        e->gap[i] = (uint8_t)(i ? 5 : 0);
        e->pos[i] = e->maxlen - L + i;
    }
    sq_batch bt = {.n_seq = 1, .seq_off = off, .item = e->items, .behavior = e->beh,
                   .gap = e->gap, .pos = e->pos};
    sq_model_score(e->m, &bt, e->scores); /* (1, V) */
    sq_model_encode(e->m, &bt, 0, e->rep);
    float mx = 0.0f;
    for (int v = 0; v < e->V; v++) mx = fmaxf(mx, fabsf(e->scores[v]));
    for (int v = 0; v < e->V; v++)
        if (!(fabsf(sq__scorer_exact(&e->sc, e->rep, (uint32_t)v) - e->scores[v]) <= 1e-3f * (1.0f + mx)))
            return 0;
    return 1;
}

sq_status sq_engine_load(sq_engine **out, const char *model_path, const char *data_path,
                         sq_error *err) {
    *out = NULL;
    sq_engine *e = calloc(1, sizeof *e);
    if (!e) return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&e->qlock, NULL);
    pthread_cond_init(&e->qcond, NULL);
    atomic_init(&e->refs, 1);
    sq_status st = sq_dataset_open(&e->ds, data_path, err);
    if (st == SQ_OK) st = sq_model_load(&e->m, model_path, err);
    if (st == SQ_OK) st = sq_check_fingerprint(model_path, &e->ds, err);
    /* behaviour and time come with every stored or posted event, category and price from
     * the checkpoint's item tables; only a gap model on data without times is unservable */
    if (st == SQ_OK) st = sq_features_check_data(e->m, &e->ds, err);
    if (st == SQ_OK && (uint32_t)e->m->cfg.n_items != e->ds.n_items)
        st = sq_error_set(err, SQ_ERR_USAGE, "%s has %d items, %s has %u", model_path,
                          e->m->cfg.n_items, data_path, e->ds.n_items);
    if (st == SQ_OK) {
        e->V = e->m->cfg.n_items;
        e->maxlen = e->m->cfg.maxlen;
        e->B = e->m->cfg.batch < MAX_BATCH ? e->m->cfg.batch : MAX_BATCH;
        e->threads = omp_get_max_threads();
        if (e->B < 2) st = sq_error_set(err, SQ_ERR_USAGE, "%s: batch %d is too small to serve",
                                        model_path, e->m->cfg.batch);
    }
    const int ie = st == SQ_OK ? sq_model_output_table(e->m) : -1;
    if (ie >= 0) { /* rows past V (bert4rec's [mask]) are not items: the scorer reads V */
        const int ib = sq_model_output_bias(e->m);
        st = sq__scorer_init(&e->sc, sq_nn_param(&e->m->params, ie),
                             ib >= 0 ? sq_nn_param(&e->m->params, ib) : NULL, e->V,
                             e->m->cfg.dim, err);
        e->fast = st == SQ_OK;
    }
    if (st == SQ_OK) {
        e->ld = e->fast ? (size_t)e->sc.nblk * 16 : (size_t)e->V;
        e->path = strdup(model_path);
        e->scores = malloc((size_t)e->B * e->ld * sizeof *e->scores);
        e->rep = malloc((size_t)e->B * e->m->cfg.dim * sizeof *e->rep);
        e->seq_off = malloc((size_t)(e->B + 1) * sizeof *e->seq_off);
        e->pos = malloc((size_t)e->B * e->maxlen * sizeof *e->pos);
        e->items = malloc((size_t)e->B * e->maxlen * sizeof *e->items);
        e->beh = malloc((size_t)e->B * e->maxlen);
        e->gap = malloc((size_t)e->B * e->maxlen);
        if (!e->path || !e->scores || !e->rep || !e->seq_off || !e->pos || !e->items || !e->beh ||
            !e->gap)
            st = sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    }
    if (st == SQ_OK && e->fast && !fast_path_agrees(e)) {
        sq__scorer_free(&e->sc);
        e->fast = 0;
        e->ld = (size_t)e->V;
    }
    uint64_t *cnt = NULL;
    uint32_t *order = NULL;
    if (st == SQ_OK) {
        cnt = calloc(e->ds.n_items ? e->ds.n_items : 1, sizeof *cnt);
        order = malloc((e->ds.n_items ? e->ds.n_items : 1) * sizeof *order);
        if (!cnt || !order) st = sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    }
    if (st == SQ_OK) {
        for (uint64_t i = 0; i < e->ds.n_events; i++) cnt[e->ds.item[i]]++;
        for (uint32_t v = 0; v < e->ds.n_items; v++) order[v] = v;
        qsort_r(order, e->ds.n_items, sizeof *order, cmp_pop, cnt);
        e->n_pop = e->ds.n_items < POP_N ? (int)e->ds.n_items : POP_N;
        double total = e->ds.n_events ? (double)e->ds.n_events : 1.0;
        for (int i = 0; i < e->n_pop; i++) {
            e->pop[i] = order[i];
            e->pop_score[i] = (float)((double)cnt[order[i]] / total);
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        e->loaded_at = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    }
    free(cnt);
    free(order);
    if (st != SQ_OK) {
        engine_free(e);
        return st;
    }
    *out = e;
    return SQ_OK;
}

sq_status sq_engine_add_predict(sq_engine *e, const char *path, sq_error *err) {
    sq_pred_model *m = calloc(1, sizeof *m);
    if (!m) return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    sq_status st = sq_pred_model_load(m, path, err);
    if (st == SQ_OK) st = sq_pred_model_check_data(m, &e->ds, err);
    if (st == SQ_OK && e->pm[m->cfg.task])
        st = sq_error_set(err, SQ_ERR_USAGE, "--predict-model: %s and %s are both for task %s",
                          e->pm[m->cfg.task]->path, path, sq_pred_task_name(m->cfg.task));
    if (st != SQ_OK) {
        sq_pred_model_free(m);
        free(m);
        return st;
    }
    e->pm[m->cfg.task] = m;
    return SQ_OK;
}

const sq_pred_model *sq_engine_predict_model(const sq_engine *e, int task) {
    return task >= 0 && task < SQ_PRED_TASK_COUNT ? e->pm[task] : NULL;
}

const sq_dataset *sq_engine_dataset(const sq_engine *e) { return &e->ds; }

void sq_engine_set_threads(sq_engine *e, int threads) { e->threads = threads > 0 ? threads : 1; }

void sq_engine_ref(sq_engine *e) { atomic_fetch_add(&e->refs, 1); }

void sq_engine_unref(sq_engine *e) {
    if (e && atomic_fetch_sub(&e->refs, 1) == 1) engine_free(e);
}

void sq_engine_info_get(const sq_engine *e, sq_engine_info *info) {
    info->model = e->m->cfg.model;
    info->path = e->path;
    info->n_items = e->V;
    info->dim = e->m->cfg.dim;
    info->maxlen = e->maxlen;
    info->blocks = e->m->cfg.blocks;
    info->n_users = e->ds.n_users;
    info->n_events = e->ds.n_events;
    info->loaded_at = e->loaded_at;
    info->scoring = !e->fast ? "model" : e->sc.isa == 3 ? "int8+fp32 rescoring (avx512-vnni)"
                  : e->sc.isa == 2 ? "int8+fp32 rescoring (avx512)"
                  : e->sc.isa == 1 ? "int8+fp32 rescoring (avx2)" : "int8+fp32 rescoring (portable)";
}

const char *sq_engine_item_id(const sq_engine *e, uint32_t item, size_t *len) {
    return sq_dict_get(&e->ds.items, item, len);
}

uint32_t sq_engine_n_items(const sq_engine *e) { return (uint32_t)e->V; }

uint32_t sq_engine_item_find(const sq_engine *e, const char *item, size_t len) {
    return sq_dict_find(&e->ds.items, item, len);
}

/* ---- user sequences ---- */
static int seq_push(sq_user_seq *s, uint32_t item, uint8_t beh, int64_t t) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        uint32_t *a = realloc(s->item, cap * sizeof *a);
        if (!a) return -1;
        s->item = a;
        uint8_t *b = realloc(s->behavior, cap);
        if (!b) return -1;
        s->behavior = b;
        int64_t *c = realloc(s->time_ms, cap * sizeof *c);
        if (!c) return -1;
        s->time_ms = c;
        s->cap = cap;
    }
    s->item[s->n] = item;
    s->behavior[s->n] = beh;
    s->time_ms[s->n++] = t;
    return 0;
}

sq_status sq_engine_user_seq(const sq_engine *e, const char *user, size_t user_len,
                             const sq_history *stored, sq_user_seq *seq, sq_error *err) {
    memset(seq, 0, sizeof *seq);
    uint32_t u = sq_dict_find(&e->ds.users, user, user_len);
    seq->known_user = u != SQ_NONE;
    if (u != SQ_NONE)
        for (uint64_t i = e->ds.user_offsets[u]; i < e->ds.user_offsets[u + 1]; i++)
            if (seq_push(seq, e->ds.item[i], e->ds.behavior[i], e->ds.time_ms[i])) goto nomem;
    for (size_t i = 0; stored && i < stored->n; i++) {
        uint32_t it = sq_dict_find(&e->ds.items, stored->ev[i].item, stored->ev[i].item_len);
        if (it == SQ_NONE) {
            seq->n_unknown++;
            continue;
        }
        if (seq_push(seq, it, (uint8_t)stored->ev[i].behavior, stored->ev[i].time_ms)) goto nomem;
    }
    return SQ_OK;
nomem:
    sq_user_seq_free(seq);
    return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
}

void sq_user_seq_free(sq_user_seq *s) {
    if (!s) return;
    free(s->item);
    free(s->behavior);
    free(s->time_ms);
    memset(s, 0, sizeof *s);
}

/* ---- the combiner ---- */
static void run_batch(sq_engine *e, job **jobs, int n_jobs) {
    /* the team size is a per-thread setting and the leader is whichever HTTP thread came
     * first: without this, threads the process did not start through OpenMP would use
     * every core (and keep a spinning team each) whatever --score-threads says */
    omp_set_num_threads(e->threads);
    int s = 0, r = 0;
    e->seq_off[0] = 0;
    for (int j = 0; j < n_jobs; j++) {
        const job *jb = jobs[j];
        for (int q = 0; q < jb->n_seq; q++) {
            int b = jb->off[q], L = jb->off[q + 1] - b;
            memcpy(e->items + r, jb->item + b, (size_t)L * sizeof *e->items);
            memcpy(e->beh + r, jb->beh + b, (size_t)L);
            if (jb->gap) memcpy(e->gap + r, jb->gap + b, (size_t)L);
            else sq_gap_fill(e->gap + r, jb->time_ms, 0, jb->time_begin + (uint64_t)b, L);
            for (int i = 0; i < L; i++) e->pos[r + i] = e->maxlen - L + i;
            r += L;
            e->seq_off[++s] = r;
        }
    }
    sq_batch bt = {.n_seq = s, .seq_off = e->seq_off, .item = e->items, .behavior = e->beh,
                   .gap = e->gap, .pos = e->pos};
    const int C = e->m->cfg.dim;
    if (e->fast) {
        sq_model_encode(e->m, &bt, 0, e->rep);
        sq__scorer_approx(&e->sc, e->rep, s, e->scores, e->ld);
    } else {
        sq_model_score(e->m, &bt, e->scores);
    }
    int first[MAX_BATCH + 1];
    first[0] = 0;
    for (int j = 0; j < n_jobs; j++) first[j + 1] = first[j] + jobs[j]->n_seq;
#pragma omp parallel for schedule(dynamic, 1)
    for (int j = 0; j < n_jobs; j++)
        jobs[j]->done(jobs[j], e, e->scores + (size_t)first[j] * e->ld,
                      e->fast ? e->rep + (size_t)first[j] * C : NULL);
}

static void submit(sq_engine *e, job *jb) {
    pthread_mutex_lock(&e->qlock);
    jb->next = NULL;
    jb->finished = 0;
    if (e->tail) e->tail->next = jb;
    else e->head = jb;
    e->tail = jb;
    while (!jb->finished) {
        if (e->busy) {
            pthread_cond_wait(&e->qcond, &e->qlock);
            continue;
        }
        /* become the leader: take jobs from the queue while they fit */
        job *take[MAX_BATCH];
        int n = 0, seqs = 0;
        while (e->head && n < MAX_BATCH && seqs + e->head->n_seq <= e->B) {
            take[n++] = e->head;
            seqs += e->head->n_seq;
            e->head = e->head->next;
        }
        if (!e->head) e->tail = NULL;
        e->busy = 1;
        pthread_mutex_unlock(&e->qlock);
        run_batch(e, take, n);
        pthread_mutex_lock(&e->qlock);
        for (int i = 0; i < n; i++) take[i]->finished = 1;
        e->busy = 0;
        pthread_cond_broadcast(&e->qcond);
    }
    pthread_mutex_unlock(&e->qlock);
}

typedef struct topk_ctx {
    const sq_user_seq *seq;
    int k, exclude_seen, n_out;
    uint32_t *items;
    float *scores;
} topk_ctx;

/* exact top-k of one row; s is the leader's buffer, ours to modify (masking) */
static int row_topk(const sq_engine *e, float *s, const float *rep, int k, uint32_t *items,
                    float *scores) {
    return rep ? sq__scorer_topk(&e->sc, rep, s, k, items, scores, NULL)
               : sq__topk(s, e->V, k, items, scores);
}

static void topk_done(job *jb, sq_engine *e, float *s, const float *rep) {
    topk_ctx *c = jb->ctx;
    if (c->exclude_seen)
        for (size_t i = 0; i < c->seq->n; i++) s[c->seq->item[i]] = -INFINITY;
    c->n_out = row_topk(e, s, rep, c->k, c->items, c->scores);
}

static int popularity(const sq_engine *e, const sq_user_seq *seq, int k, int exclude_seen,
                      uint32_t *items, float *scores) {
    int n = 0;
    for (int i = 0; i < e->n_pop && n < k; i++) {
        int seen = 0;
        for (size_t q = 0; exclude_seen && q < seq->n && !seen; q++) seen = seq->item[q] == e->pop[i];
        if (seen) continue;
        items[n] = e->pop[i];
        scores[n++] = e->pop_score[i];
    }
    return n;
}

sq_status sq_engine_topk(sq_engine *e, const sq_user_seq *seq, int k, int exclude_seen,
                         uint32_t *items, float *scores, int *n_out, int *fallback,
                         sq_error *err) {
    if (k < 1) return sq_error_set(err, SQ_ERR_USAGE, "k must be >= 1");
    if (k > e->V) k = e->V;
    *fallback = seq->n == 0;
    if (seq->n == 0) {
        *n_out = popularity(e, seq, k, exclude_seen, items, scores);
        return SQ_OK;
    }
    size_t L = seq->n < (size_t)e->maxlen ? seq->n : (size_t)e->maxlen;
    int off[2] = {0, (int)L};
    topk_ctx c = {.seq = seq, .k = k, .exclude_seen = exclude_seen, .items = items, .scores = scores};
    job jb = {.n_seq = 1, .off = off, .item = seq->item + (seq->n - L),
              .beh = seq->behavior + (seq->n - L), .time_ms = seq->time_ms,
              .time_begin = seq->n - L, .done = topk_done, .ctx = &c};
    submit(e, &jb);
    *n_out = c.n_out;
    return SQ_OK;
}

/* ---- explanation by occlusion ---- */
typedef struct explain_ctx {
    const sq_user_seq *seq;
    int exclude_seen;
    sq_explain *out;
} explain_ctx;

static void explain_done(job *jb, sq_engine *e, float *s, const float *rep) {
    explain_ctx *c = jb->ctx;
    const int C = e->m->cfg.dim;
    if (c->exclude_seen)
        for (size_t i = 0; i < c->seq->n; i++) s[c->seq->item[i]] = -INFINITY;
    uint32_t top = 0;
    float best = -INFINITY;
    int found = row_topk(e, s, rep, 1, &top, &best);
    c->out->top_item = found ? top : SQ_NONE;
    c->out->base_score = best;
    for (int i = 0; i < c->out->n; i++) {
        float x = !found ? 0.0f
                  : rep ? sq__scorer_exact(&e->sc, rep + (size_t)(i + 1) * C, top)
                        : s[(size_t)(i + 1) * e->ld + top];
        c->out->score_without[i] = x;
        c->out->drop[i] = found ? best - x : 0.0f;
    }
}

sq_status sq_engine_explain(sq_engine *e, const sq_user_seq *seq, int n, int exclude_seen,
                            sq_explain *out, sq_error *err) {
    memset(out, 0, sizeof *out);
    out->top_item = SQ_NONE;
    if (seq->n == 0) return SQ_OK;
    if (n > (int)(sizeof out->index / sizeof *out->index)) n = (int)(sizeof out->index / sizeof *out->index);
    if (n > e->B - 1) n = e->B - 1;
    if ((size_t)n > seq->n) n = (int)seq->n;
    if (n < 1) return sq_error_set(err, SQ_ERR_USAGE, "n must be >= 1");
    const int M = e->maxlen;
    int *off = malloc((size_t)(n + 2) * sizeof *off);
    uint32_t *item = malloc((size_t)(n + 1) * M * sizeof *item);
    uint8_t *beh = malloc((size_t)(n + 1) * M), *gap = malloc((size_t)(n + 1) * M);
    if (!off || !item || !beh || !gap) {
        free(off);
        free(item);
        free(beh);
        free(gap);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    }
    /* sequence 0: the history; sequence i+1: without event seq->n-1-i; each its last M */
    int r = 0;
    off[0] = 0;
    for (int q = 0; q <= n; q++) {
        size_t skip = q == 0 ? SIZE_MAX : seq->n - (size_t)q;
        size_t len = seq->n - (q == 0 ? 0 : 1), L = len < (size_t)M ? len : (size_t)M;
        /* walk back from the end collecting L events, skipping `skip`; each event's gap is to
         * its predecessor in this sequence (the occluded event is as if it never happened) */
        size_t got = 0;
        for (size_t i = seq->n; i-- > 0 && got < L;) {
            if (i == skip) continue;
            got++;
            const size_t prev = i == 0 ? SIZE_MAX : i - 1 == skip ? (i >= 2 ? i - 2 : SIZE_MAX) : i - 1;
            item[r + (int)(L - got)] = seq->item[i];
            beh[r + (int)(L - got)] = seq->behavior[i];
            gap[r + (int)(L - got)] =
                prev == SIZE_MAX ? 0 : sq_gap_bucket(seq->time_ms[prev], seq->time_ms[i]);
        }
        r += (int)L;
        off[q + 1] = r;
        if (q > 0) out->index[q - 1] = skip;
    }
    out->n = n;
    explain_ctx c = {.seq = seq, .exclude_seen = exclude_seen, .out = out};
    job jb = {.n_seq = n + 1, .off = off, .item = item, .beh = beh, .gap = gap,
              .done = explain_done, .ctx = &c};
    submit(e, &jb);
    free(off);
    free(item);
    free(beh);
    free(gap);
    return SQ_OK;
}
