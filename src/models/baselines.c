/* Counting baselines behind the model interface: most-popular, first-order Markov
 * transitions, item-KNN from co-occurrence in a sequence window.
 *
 * They "train" through the fit_batch/fit_end hooks of sq_model_ops (one pass over the
 * training batches; see model.h) and keep their statistics in the parameter buffer, so
 * checkpoints, `shopseq eval` and `shopseq recommend` treat them like any other model.
 * Item ids are stored as floats (exact below 2^24 items; checked at create).
 *
 *   pop      pop.count (V)                      score(v) = training count of v
 *   markov   markov.next (V, K), markov.prob (V, K)
 *            P(b | a) = c(a -> b) / c(a -> *) over consecutive training events; the K most
 *            likely successors of each item are kept. score(v) = P(v | last item)
 *   itemknn  knn.item (V, K), knn.sim (V, K)
 *            c(a, b) = number of pairs of positions i != j with |i - j| <= window in the
 *            same training sequence holding a and b (a != b); cosine similarity
 *            c(a, b) / sqrt(n_a n_b) with n the item counts; K nearest kept per item.
 *            score(v) = sum over the last 3 items h_d (d = 0 most recent) of
 *            sim(h_d, v) / (d + 1)
 *   markov and itemknn add 1e-9 * count(v) / max count, so that items they know nothing
 *   about are ranked by popularity rather than tied (eval counts ties against the model).
 * K = cfg.dim, window = cfg.window. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shopseq/model.h"

enum { KIND_POP, KIND_MARKOV, KIND_KNN };
enum { KNN_HISTORY = 3 };

typedef struct {
    uint64_t key; /* a << 32 | b */
    float c;
} pair;

typedef struct {
    sq_model base;
    int kind, K, window;
    int t_pop, t_item, t_w;
    /* fitting state */
    double *count;
    pair *pairs;
    size_t n_pairs, cap_pairs;
    int fitted, oom;
} baseline;

static void destroy(sq_model *mm) {
    baseline *m = (baseline *)mm;
    if (!m) return;
    sq_nn_params_free(&m->base.params);
    free(m->count);
    free(m->pairs);
    free(m);
}

static int cmp_pair(const void *a, const void *b) {
    uint64_t x = ((const pair *)a)->key, y = ((const pair *)b)->key;
    return x < y ? -1 : x > y;
}

/* Sorts and merges equal keys. */
static void compact(baseline *m) {
    if (!m->n_pairs) return;
    qsort(m->pairs, m->n_pairs, sizeof *m->pairs, cmp_pair);
    size_t w = 0;
    for (size_t i = 1; i < m->n_pairs; i++) {
        if (m->pairs[i].key == m->pairs[w].key) m->pairs[w].c += m->pairs[i].c;
        else m->pairs[++w] = m->pairs[i];
    }
    m->n_pairs = w + 1;
}

static void add_pair(baseline *m, uint32_t a, uint32_t b) {
    if (m->oom) return;
    if (m->n_pairs == m->cap_pairs) {
        compact(m);
        if (m->n_pairs >= m->cap_pairs / 2) { /* still crowded after merging: grow */
            size_t cap = m->cap_pairs ? 2 * m->cap_pairs : 1 << 16;
            pair *p = realloc(m->pairs, cap * sizeof *p);
            if (!p) {
                m->oom = 1;
                return;
            }
            m->pairs = p;
            m->cap_pairs = cap;
        }
    }
    m->pairs[m->n_pairs++] = (pair){(uint64_t)a << 32 | b, 1.0f};
}

static sq_status create_kind(sq_model **out, const sq_model_config *cfg, int kind,
                             const sq_model_ops *ops, sq_error *err) {
    *out = NULL;
    if (cfg->n_items <= 0 || cfg->n_items >= (1 << 24) || cfg->maxlen <= 0 || cfg->batch <= 0 ||
        (kind != KIND_POP && cfg->dim <= 0))
        return sq_error_set(err, SQ_ERR_USAGE,
                            "%s: bad config (items %d (< 2^24), dim %d neighbours, maxlen %d, "
                            "batch %d)",
                            ops->name, cfg->n_items, cfg->dim, cfg->maxlen, cfg->batch);
    baseline *m = calloc(1, sizeof *m);
    if (!m) return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    m->base.ops = ops;
    m->base.cfg = *cfg;
    m->kind = kind;
    m->K = cfg->dim < cfg->n_items ? cfg->dim : cfg->n_items;
    m->window = cfg->window > 0 ? cfg->window : 5;
    sq_nn_params *p = &m->base.params;
    int64_t shp[2] = {cfg->n_items, m->K};
    m->t_pop = sq_nn_params_add(p, "pop.count", 1, shp);
    m->t_item = m->t_w = -2;
    if (kind == KIND_MARKOV) {
        m->t_item = sq_nn_params_add(p, "markov.next", 2, shp);
        m->t_w = sq_nn_params_add(p, "markov.prob", 2, shp);
    } else if (kind == KIND_KNN) {
        m->t_item = sq_nn_params_add(p, "knn.item", 2, shp);
        m->t_w = sq_nn_params_add(p, "knn.sim", 2, shp);
    }
    m->count = calloc((size_t)cfg->n_items, sizeof *m->count);
    if (m->t_pop < 0 || m->t_item == -1 || m->t_w == -1 || !m->count) {
        destroy(&m->base);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    }
    if (sq_nn_params_alloc(p, err) != SQ_OK) {
        destroy(&m->base);
        return SQ_ERR_NOMEM;
    }
    if (m->t_item >= 0) {
        float *it = sq_nn_param(p, m->t_item);
        for (size_t i = 0; i < p->t[m->t_item].numel; i++) it[i] = -1.0f;
    }
    *out = &m->base;
    return SQ_OK;
}

static sq_status create_pop(sq_model **o, const sq_model_config *c, sq_error *e) {
    return create_kind(o, c, KIND_POP, &sq_pop_ops, e);
}
static sq_status create_markov(sq_model **o, const sq_model_config *c, sq_error *e) {
    return create_kind(o, c, KIND_MARKOV, &sq_markov_ops, e);
}
static sq_status create_knn(sq_model **o, const sq_model_config *c, sq_error *e) {
    return create_kind(o, c, KIND_KNN, &sq_itemknn_ops, e);
}

static double forward(sq_model *m, const sq_batch *b, int train) {
    (void)m, (void)b, (void)train;
    return 0.0;
}

static void backward(sq_model *m, const sq_batch *b) { (void)m, (void)b; }

/* A training batch holds each sequence's events but the last as inputs and the next event
 * of each row as its target: the full sequence is item[r0..r1) + target[r1-1]. */
static void fit_batch(sq_model *mm, const sq_batch *b) {
    baseline *m = (baseline *)mm;
    if (m->fitted || !b->target) return;
    const uint32_t V = (uint32_t)m->base.cfg.n_items;
    for (int s = 0; s < b->n_seq; s++) {
        const int r0 = b->seq_off[s], r1 = b->seq_off[s + 1], L = r1 - r0 + 1;
        if (L < 2) continue;
#define AT(j) ((j) < L - 1 ? b->item[r0 + (j)] : b->target[r1 - 1])
        for (int j = 0; j < L; j++) {
            uint32_t a = AT(j);
            if (a >= V) continue;
            m->count[a] += 1.0;
            if (m->kind == KIND_MARKOV && j + 1 < L && AT(j + 1) < V) add_pair(m, a, AT(j + 1));
            if (m->kind == KIND_KNN)
                for (int k = j + 1; k < L && k <= j + m->window; k++) {
                    uint32_t c = AT(k);
                    if (c >= V || c == a) continue;
                    add_pair(m, a, c);
                    add_pair(m, c, a);
                }
        }
#undef AT
    }
}

typedef struct {
    uint32_t item;
    float w;
} cand;

static int cmp_cand(const void *x, const void *y) {
    const cand *a = x, *b = y;
    if (a->w != b->w) return a->w > b->w ? -1 : 1;
    return a->item < b->item ? -1 : a->item > b->item;
}

static void fit_end(sq_model *mm) {
    baseline *m = (baseline *)mm;
    if (m->fitted) return;
    m->fitted = 1;
    const sq_nn_params *p = &m->base.params;
    const int V = m->base.cfg.n_items, K = m->K;
    float *pop = sq_nn_param(p, m->t_pop);
    for (int v = 0; v < V; v++) pop[v] = (float)m->count[v];
    if (m->kind == KIND_POP || m->oom) goto done;
    compact(m);
    float *it = sq_nn_param(p, m->t_item), *wt = sq_nn_param(p, m->t_w);
    cand *cs = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < m->n_pairs;) {
        const uint32_t a = (uint32_t)(m->pairs[i].key >> 32);
        size_t e = i;
        double row = 0.0;
        while (e < m->n_pairs && (uint32_t)(m->pairs[e].key >> 32) == a) row += m->pairs[e++].c;
        if (e - i > cap) {
            cap = 2 * (e - i);
            cand *q = realloc(cs, cap * sizeof *q);
            if (!q) break;
            cs = q;
        }
        size_t n = 0;
        for (size_t q = i; q < e; q++) {
            uint32_t bb = (uint32_t)m->pairs[q].key;
            double w = m->kind == KIND_MARKOV ? m->pairs[q].c / row
                                              : m->pairs[q].c / sqrt(m->count[a] * m->count[bb]);
            cs[n++] = (cand){bb, (float)w};
        }
        qsort(cs, n, sizeof *cs, cmp_cand);
        for (size_t q = 0; q < n && q < (size_t)K; q++) {
            it[(size_t)a * K + q] = (float)cs[q].item;
            wt[(size_t)a * K + q] = cs[q].w;
        }
        i = e;
    }
    free(cs);
done:
    free(m->pairs);
    m->pairs = NULL;
    m->n_pairs = m->cap_pairs = 0;
}

static void score(sq_model *mm, const sq_batch *b, float *scores) {
    baseline *m = (baseline *)mm;
    const sq_nn_params *p = &m->base.params;
    const int V = m->base.cfg.n_items, K = m->K;
    const float *pop = sq_nn_param(p, m->t_pop);
    float mx = 0.0f;
    for (int v = 0; v < V; v++) mx = pop[v] > mx ? pop[v] : mx;
    const float tie = m->kind == KIND_POP ? 1.0f : (mx > 0 ? 1e-9f / mx : 0.0f);
#pragma omp parallel for schedule(static)
    for (int s = 0; s < b->n_seq; s++) {
        float *sc = scores + (size_t)s * V;
        for (int v = 0; v < V; v++) sc[v] = tie * pop[v];
        if (m->kind == KIND_POP) continue;
        const int r0 = b->seq_off[s], r1 = b->seq_off[s + 1];
        const int hist = m->kind == KIND_MARKOV ? 1 : KNN_HISTORY;
        const float *it = sq_nn_param(p, m->t_item), *wt = sq_nn_param(p, m->t_w);
        for (int d = 0; d < hist && r1 - 1 - d >= r0; d++) {
            const uint32_t a = b->item[r1 - 1 - d];
            if (a >= (uint32_t)V) continue;
            const float f = 1.0f / (float)(d + 1);
            for (int q = 0; q < K; q++) {
                float x = it[(size_t)a * K + q];
                if (x < 0.0f) break;
                sc[(int)x] += f * wt[(size_t)a * K + q];
            }
        }
    }
}

#define OPS(var, nm, cr)                                                                 \
    const sq_model_ops var = {.name = nm, .create = cr, .forward = forward,              \
                              .backward = backward, .score = score, .destroy = destroy, \
                              .fit_batch = fit_batch, .fit_end = fit_end}
OPS(sq_pop_ops, "pop", create_pop);
OPS(sq_markov_ops, "markov", create_markov);
OPS(sq_itemknn_ops, "itemknn", create_knn);
