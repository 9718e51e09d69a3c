/* Caser (Tang & Wang, WSDM 2018), chosen over the seeds' TextCNN-style encoder because it is
 * the published sequential-recommendation CNN with known results and the TextCNN encoder is
 * its horizontal half (filter heights 1..L with max-pooling over time). For each row r:
 *   X = the embeddings of the last L events up to and including r   (L, C), zero rows
 *       before the sequence start (+ side embeddings by flag, features.c)
 *   o_h = [relu(maxpool_t(conv_h(X)))  for h = 1..L]          (L * n_h)   horizontal
 *   o_v = [sum_l Wv[v, l] X[l, :] + bv[v]  for v < n_v]        (n_v * C)   vertical
 *   z = relu(fc1(drop([o_v, o_h])))                            (C)
 *   score(item) = z . W'[item]          (output embeddings W' separate from the input's)
 * Differences from the paper, on purpose: no user embedding (models here are user-agnostic
 * so that they serve users unseen in training), no output bias, and one target per row
 * (every position predicts its next item) instead of T = 3 targets per window.
 * L = cfg.window, n_h = cfg.filters_h, n_v = cfg.filters_v, C = cfg.dim. Parameter names
 * and shapes follow the twin's nn.Conv2d / nn.Linear (tests/reference/family_twin.py). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/features.h"
#include "models/shared_loss.h"
#include "shopseq/model.h"

enum { MAX_L = 32 };

typedef struct {
    sq_model base;
    int Lw, nh, nv, D; /* window, filters, concat width */
    int item_emb, out_emb, conv_v_w, conv_v_b, fc1_w, fc1_b;
    int conv_h_w[MAX_L], conv_h_b[MAX_L];
    float *arena;
    float *X;     /* (N, L, C) windows */
    float *cat;   /* (N, D) [o_v, o_h] before dropout (o_h after relu) */
    float *catd;  /* (N, D) after dropout */
    float *z;     /* (N, C) after relu */
    int *am;      /* (N, L * n_h) argmax */
    float *dX, *dcat, *dz, *ce_scratch, *gather;
    sq__side side;
    sq__shared_buf shared;
    uint64_t drop_seed;
    int last_train;
} caser;

static void destroy(sq_model *mm) {
    caser *m = (caser *)mm;
    if (!m) return;
    sq_nn_params_free(&m->base.params);
    sq__shared_free(&m->shared);
    free(m->arena);
    free(m);
}

static sq_status create(sq_model **out, const sq_model_config *cfg, sq_error *err) {
    *out = NULL;
    const int C = cfg->dim, L = cfg->window > 0 ? cfg->window : 5;
    const int nh = cfg->filters_h > 0 ? cfg->filters_h : 16,
              nv = cfg->filters_v > 0 ? cfg->filters_v : 4;
    if (C <= 0 || L > MAX_L || cfg->maxlen <= 0 || cfg->n_items <= 0 || cfg->batch <= 0 ||
        cfg->dropout < 0.0f || cfg->dropout >= 1.0f)
        return sq_error_set(err, SQ_ERR_USAGE,
                            "caser: bad config (dim %d, window L %d in [1, %d], maxlen %d, items "
                            "%d, batch %d, dropout %g)",
                            C, L, MAX_L, cfg->maxlen, cfg->n_items, cfg->batch,
                            (double)cfg->dropout);
    caser *m = calloc(1, sizeof *m);
    if (!m) return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    m->base.ops = &sq_caser_ops;
    m->base.cfg = *cfg;
    m->base.cfg.window = L;
    m->base.cfg.filters_h = nh;
    m->base.cfg.filters_v = nv;
    m->Lw = L;
    m->nh = nh;
    m->nv = nv;
    m->D = nv * C + L * nh;
    sq_nn_params *p = &m->base.params;
    int bad = 0;
#define ADD(ix, name, nd, ...)                                   \
    do {                                                         \
        int64_t shp[4] = {__VA_ARGS__};                          \
        ix = sq_nn_params_add(p, name, nd, shp);                 \
        bad |= ix < 0;                                           \
    } while (0)
    ADD(m->item_emb, "item_emb.weight", 2, cfg->n_items, C);
    sq_status sst = sq__side_add(&m->side, p, &m->base.cfg, err);
    if (sst != SQ_OK) {
        destroy(&m->base);
        return sst;
    }
    if (nv > 0) {
        ADD(m->conv_v_w, "conv_v.weight", 4, nv, 1, L, 1);
        ADD(m->conv_v_b, "conv_v.bias", 1, nv);
    }
    for (int h = 1; h <= L; h++) {
        char n[64];
        snprintf(n, sizeof n, "conv_h.%d.weight", h - 1);
        ADD(m->conv_h_w[h - 1], n, 4, nh, 1, h, C);
        snprintf(n, sizeof n, "conv_h.%d.bias", h - 1);
        ADD(m->conv_h_b[h - 1], n, 1, nh);
    }
    ADD(m->fc1_w, "fc1.weight", 2, C, m->D);
    ADD(m->fc1_b, "fc1.bias", 1, C);
    ADD(m->out_emb, "out_emb.weight", 2, cfg->n_items, C);
#undef ADD
    if (bad) {
        destroy(&m->base);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    }
    if (sq_nn_params_alloc(p, err) != SQ_OK) {
        destroy(&m->base);
        return SQ_ERR_NOMEM;
    }
    /* init: embeddings N(0, 1/C) (the paper), the rest PyTorch-style U(-1/sqrt(fan_in), ..) */
    sq_nn_rng r;
    sq_nn_rng_seed(&r, cfg->seed);
    for (int i = 0; i < p->n; i++) {
        sq_nn_tensor *t = &p->t[i];
        float *w = p->data + t->offset;
        if (strstr(t->name, "emb")) {
            for (size_t j = 0; j < t->numel; j++) w[j] = sq_nn_rng_normal(&r) / (float)C;
        } else {
            size_t fan = t->ndim >= 2 ? t->numel / (size_t)t->shape[0] : 1;
            if (t->ndim == 1) { /* bias: fan-in of its weight, the tensor before it */
                const sq_nn_tensor *wt = &p->t[i - 1];
                fan = wt->numel / (size_t)wt->shape[0];
            }
            float a = 1.0f / sqrtf((float)fan);
            for (size_t j = 0; j < t->numel; j++) w[j] = a * (2.0f * sq_nn_rng_uniform(&r) - 1.0f);
        }
    }
    const size_t N = (size_t)cfg->batch * cfg->maxlen;
    size_t total = N * L * C * 2 + N * m->D * 3 + N * C * 2 + N * L * nh +
                   sq_nn_ce_scratch_size(cfg->n_items) + (size_t)cfg->batch * C;
    m->arena = malloc(total * sizeof(float));
    if (!m->arena) {
        destroy(&m->base);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory for %zu MB of activations",
                            total * sizeof(float) >> 20);
    }
    float *a = m->arena;
    m->X = a, a += N * L * C;
    m->dX = a, a += N * L * C;
    m->cat = a, a += N * m->D;
    m->catd = a, a += N * m->D;
    m->dcat = a, a += N * m->D;
    m->z = a, a += N * C;
    m->dz = a, a += N * C;
    m->am = (int *)a, a += N * L * nh;
    m->ce_scratch = a, a += sq_nn_ce_scratch_size(cfg->n_items);
    m->gather = a;
    *out = &m->base;
    return SQ_OK;
}

static uint64_t site_seed(uint64_t base, int site) {
    return base ^ ((uint64_t)(site + 1) * 0xC2B2AE3D27D4EB4Full);
}

static void encode(caser *m, const sq_batch *b, int train) {
    const sq_model_config *cfg = &m->base.cfg;
    const sq_nn_params *p = &m->base.params;
    const int C = cfg->dim, N = b->seq_off[b->n_seq], L = m->Lw, D = m->D, nh = m->nh;
    const float pd = train ? cfg->dropout : 0.0f;
    if (train) m->drop_seed = b->seed;
    m->last_train = train;
    const float *E = sq_nn_param(p, m->item_emb);
    const sq__side_in in = sq__side_of(b);
#pragma omp parallel for schedule(static)
    for (int s = 0; s < b->n_seq; s++)
        for (int r = b->seq_off[s]; r < b->seq_off[s + 1]; r++)
            for (int l = 0; l < L; l++) {
                float *x = m->X + ((size_t)r * L + l) * C;
                const int src = r - (L - 1 - l);
                if (src < b->seq_off[s]) {
                    memset(x, 0, (size_t)C * sizeof *x);
                    continue;
                }
                memcpy(x, E + (size_t)b->item[src] * C, (size_t)C * sizeof *x);
                sq__side_row(&m->side, &m->base, &in, src, x);
            }
    /* vertical: o_v[n, v*C + c] = bv[v] + sum_l Wv[v, l] X[n, l, c] */
    if (m->nv > 0) {
        const float *wv = sq_nn_param(p, m->conv_v_w), *bv = sq_nn_param(p, m->conv_v_b);
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++)
            for (int v = 0; v < m->nv; v++) {
                float *o = m->cat + (size_t)n * D + (size_t)v * C;
                for (int c = 0; c < C; c++) o[c] = bv[v];
                for (int l = 0; l < L; l++) {
                    const float w = wv[v * L + l], *x = m->X + ((size_t)n * L + l) * C;
                    for (int c = 0; c < C; c++) o[c] += w * x[c];
                }
            }
    }
    /* horizontal: conv + max-pool per height into a (N, nh) block, then relu */
    for (int h = 1; h <= L; h++) {
        float *blk = m->catd; /* (N, nh) scratch */
        int *am = m->am + (size_t)(h - 1) * N * nh;
        sq_nn_conv1d_maxpool_forward(blk, am, m->X, sq_nn_param(p, m->conv_h_w[h - 1]),
                                     sq_nn_param(p, m->conv_h_b[h - 1]), N, L, C, h, nh);
        for (int n = 0; n < N; n++)
            for (int f = 0; f < nh; f++) {
                float x = blk[(size_t)n * nh + f];
                m->cat[(size_t)n * D + m->nv * C + (h - 1) * nh + f] = x > 0.0f ? x : 0.0f;
            }
    }
    sq_nn_dropout_forward(m->catd, m->cat, (size_t)N * D, pd, site_seed(m->drop_seed, 0));
    sq_nn_linear_forward(m->z, m->catd, sq_nn_param(p, m->fc1_w), sq_nn_param(p, m->fc1_b), N, D,
                         C);
    sq_nn_relu_forward(m->z, m->z, (size_t)N * C);
}

static double loss_and_grad(caser *m, const sq_batch *b, float *dz) {
    const sq_model_config *cfg = &m->base.cfg;
    const sq_nn_params *p = &m->base.params;
    const int C = cfg->dim, N = b->seq_off[b->n_seq];
    const float *E = sq_nn_param(p, m->out_emb);
    float *dE = dz ? sq_nn_pgrad(p, m->out_emb) : NULL;
    switch (cfg->loss) {
    case SQ_LOSS_CE:
        return sq_nn_ce_full(dz, dE, m->z, E, b->target, N, cfg->n_items, C, 1.0f, m->ce_scratch,
                             &m->base.loss_ws);
    case SQ_LOSS_SHARED:
        return sq__shared_loss(&m->shared, dz, dE, m->z, E, b->target, N, C, cfg->n_items,
                               cfg->negatives, b->seed ^ 0x7F4A7C15F39CC060ull);
    case SQ_LOSS_SAMPLED:
        return sq_nn_sampled_softmax(dz, dE, m->z, E, b->target, b->neg, N, b->n_neg, C, 1.0f);
    case SQ_LOSS_BCE:
    default:
        return sq_nn_bce_neg(dz, dE, m->z, E, b->target, b->neg, N, b->n_neg, C, 1.0f);
    }
}

static double forward(sq_model *mm, const sq_batch *b, int train) {
    caser *m = (caser *)mm;
    encode(m, b, train);
    return b->target ? loss_and_grad(m, b, NULL) : 0.0;
}

/* Backpropagates m->dz (N, C), the gradient at z, into params.grad. */
static void backward_from_dz(caser *m, const sq_batch *b) {
    const sq_model_config *cfg = &m->base.cfg;
    const sq_nn_params *p = &m->base.params;
    const int C = cfg->dim, N = b->seq_off[b->n_seq], L = m->Lw, D = m->D, nh = m->nh;
    const float pd = m->last_train ? cfg->dropout : 0.0f;
    sq_nn_relu_backward(m->dz, m->dz, m->z, (size_t)N * C); /* relu(y) > 0 iff y > 0 */
    memset(m->dcat, 0, (size_t)N * D * sizeof(float));
    sq_nn_linear_backward(m->dcat, sq_nn_pgrad(p, m->fc1_w), sq_nn_pgrad(p, m->fc1_b), m->dz,
                          m->catd, sq_nn_param(p, m->fc1_w), N, D, C);
    sq_nn_dropout_backward(m->dcat, m->dcat, (size_t)N * D, pd, site_seed(m->drop_seed, 0));
    memset(m->dX, 0, (size_t)N * L * C * sizeof(float));
    /* horizontal */
    float *blk = m->catd; /* no longer needed: (N, nh) scratch */
    for (int h = 1; h <= L; h++) {
        for (int n = 0; n < N; n++)
            for (int f = 0; f < nh; f++) {
                size_t q = (size_t)n * D + m->nv * C + (h - 1) * nh + f;
                blk[(size_t)n * nh + f] = m->cat[q] > 0.0f ? m->dcat[q] : 0.0f;
            }
        sq_nn_conv1d_maxpool_backward(m->dX, sq_nn_pgrad(p, m->conv_h_w[h - 1]),
                                      sq_nn_pgrad(p, m->conv_h_b[h - 1]), blk,
                                      m->am + (size_t)(h - 1) * N * nh, m->X,
                                      sq_nn_param(p, m->conv_h_w[h - 1]), N, L, C, h, nh);
    }
    /* vertical */
    if (m->nv > 0) {
        const float *wv = sq_nn_param(p, m->conv_v_w);
        float *dwv = sq_nn_pgrad(p, m->conv_v_w), *dbv = sq_nn_pgrad(p, m->conv_v_b);
        for (int v = 0; v < m->nv; v++) { /* weight gradients in a fixed order */
            double gb = 0.0, gw[MAX_L] = {0};
            for (int n = 0; n < N; n++) {
                const float *g = m->dcat + (size_t)n * D + (size_t)v * C;
                for (int c = 0; c < C; c++) gb += g[c];
                for (int l = 0; l < L; l++) {
                    const float *x = m->X + ((size_t)n * L + l) * C;
                    float s = 0.0f;
                    for (int c = 0; c < C; c++) s += g[c] * x[c];
                    gw[l] += s;
                }
            }
            dbv[v] += (float)gb;
            for (int l = 0; l < L; l++) dwv[v * L + l] += (float)gw[l];
        }
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++)
            for (int v = 0; v < m->nv; v++) {
                const float *g = m->dcat + (size_t)n * D + (size_t)v * C;
                for (int l = 0; l < L; l++) {
                    float *dx = m->dX + ((size_t)n * L + l) * C;
                    const float w = wv[v * L + l];
                    for (int c = 0; c < C; c++) dx[c] += w * g[c];
                }
            }
    }
    /* scatter the window gradients back to the embeddings (serial: rows repeat) */
    float *dE = sq_nn_pgrad(p, m->item_emb);
    const sq__side_in in = sq__side_of(b);
    for (int s = 0; s < b->n_seq; s++)
        for (int r = b->seq_off[s]; r < b->seq_off[s + 1]; r++)
            for (int l = 0; l < L; l++) {
                const int src = r - (L - 1 - l);
                if (src < b->seq_off[s]) continue;
                const float *g = m->dX + ((size_t)r * L + l) * C;
                float *e = dE + (size_t)b->item[src] * C;
                for (int c = 0; c < C; c++) e[c] += g[c];
                sq__side_row_backward(&m->side, &m->base, &in, src, g);
            }
}

static void backward(sq_model *mm, const sq_batch *b) {
    caser *m = (caser *)mm;
    memset(m->dz, 0, (size_t)b->seq_off[b->n_seq] * m->base.cfg.dim * sizeof(float));
    loss_and_grad(m, b, m->dz);
    backward_from_dz(m, b);
}

/* rep (n_seq, C) = z at the last row of each sequence (its window of the last L events) */
static void encode_op(sq_model *mm, const sq_batch *b, int train, float *rep) {
    caser *m = (caser *)mm;
    encode(m, b, train);
    sq_nn_gather_last(rep, m->z, b->seq_off, b->n_seq, m->base.cfg.dim);
}

static void encode_backward(sq_model *mm, const sq_batch *b, const float *drep) {
    caser *m = (caser *)mm;
    sq_nn_scatter_last(m->dz, drep, b->seq_off, b->n_seq, m->base.cfg.dim);
    backward_from_dz(m, b);
}

static void score(sq_model *mm, const sq_batch *b, float *scores) {
    caser *m = (caser *)mm;
    const int C = m->base.cfg.dim;
    encode_op(mm, b, 0, m->gather);
    sq_nn_linear_forward(scores, m->gather, sq_nn_param(&m->base.params, m->out_emb), NULL,
                         b->n_seq, C, m->base.cfg.n_items);
}

const sq_model_ops sq_caser_ops = {.name = "caser", .create = create, .forward = forward,
                                   .backward = backward, .score = score, .destroy = destroy,
                                   .encode = encode_op, .encode_backward = encode_backward,
                                   .output_table = "out_emb.weight"};
