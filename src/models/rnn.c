/* GRU4Rec (Hidasi et al. 2016, and the official PyTorch code's cross-entropy variant) and
 * its LSTM sibling, over packed sequences:
 *   x = drop(E[item] (+ side embeddings, features.c))        (N, C)
 *   h = RNN_L(... RNN_1(x))   (cfg.blocks stacked layers, hidden size C = cfg.dim)
 *   h = drop(h);  score(item) = h . E[item]      (input and output embeddings tied: the
 *                                                  official code's constrained_embedding)
 * Loss per row (the next item): full softmax CE (default), sampled softmax or BCE with
 * sampled negatives. The recommendation for a sequence is the score of its final state.
 *
 * Training order. The official implementation trains on session-parallel mini-batches with
 * one-step truncated BPTT, carrying the hidden state across mini-batches. We train on whole
 * packed sequences (at most maxlen events each, the last ones) with full backpropagation
 * through time: the same per-event next-item loss, with exact gradients through the whole
 * sequence instead of one-step ones; no padding is computed in either.
 * Parameter names follow nn.GRU / nn.LSTM ("rnn.weight_ih_l0", ...) so that the twin in
 * tests/reference/family_twin.py loads them directly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/features.h"
#include "models/shared_loss.h"
#include "shopseq/model.h"

enum { MAX_LAYERS = 8 };

typedef struct {
    sq_model base;
    int lstm, L, item_emb;
    sq__side side;
    int wih[MAX_LAYERS], whh[MAX_LAYERS], bih[MAX_LAYERS], bhh[MAX_LAYERS];
    float *arena;
    float *x;                  /* (N, C) embedded input after dropout */
    float *out[MAX_LAYERS];    /* (N, C) layer outputs */
    float *cache[MAX_LAYERS];
    float *h;                  /* (N, C) dropped-out last layer output */
    float *dh, *dx, *scratch, *ce_scratch, *gather;
    float *step_buf; /* session-parallel: per layer, the step's initial and final states */
    int step_rows;   /* rows of the last step's final states */
    sq__shared_buf shared;
    uint64_t drop_seed;
    int last_train;
} rnn;

static void destroy(sq_model *mm) {
    rnn *m = (rnn *)mm;
    if (!m) return;
    sq_nn_params_free(&m->base.params);
    sq__shared_free(&m->shared);
    free(m->arena);
    free(m->step_buf);
    free(m);
}

static sq_status create_kind(sq_model **out, const sq_model_config *cfg, int lstm,
                             const sq_model_ops *ops, sq_error *err) {
    *out = NULL;
    const int C = cfg->dim, L = cfg->blocks, G = (lstm ? 4 : 3) * C;
    if (C <= 0 || C > SQ_NN_RNN_MAX_HIDDEN || L < 1 || L > MAX_LAYERS || cfg->maxlen <= 0 ||
        cfg->n_items <= 0 || cfg->batch <= 0 || cfg->dropout < 0.0f || cfg->dropout >= 1.0f)
        return sq_error_set(err, SQ_ERR_USAGE,
                            "%s: bad config (dim %d in [1, %d], layers (--blocks) %d in [1, %d], "
                            "maxlen %d, items %d, batch %d, dropout %g)",
                            ops->name, C, SQ_NN_RNN_MAX_HIDDEN, L, MAX_LAYERS, cfg->maxlen,
                            cfg->n_items, cfg->batch, (double)cfg->dropout);
    rnn *m = calloc(1, sizeof *m);
    if (!m) return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    m->base.ops = ops;
    m->base.cfg = *cfg;
    m->lstm = lstm;
    m->L = L;
    sq_nn_params *p = &m->base.params;
    int64_t s2[2] = {cfg->n_items, C};
    m->item_emb = sq_nn_params_add(p, "item_emb.weight", 2, s2);
    sq_status sst = sq__side_add(&m->side, p, cfg, err);
    if (sst != SQ_OK) {
        destroy(&m->base);
        return sst;
    }
    int bad = m->item_emb < 0;
    for (int l = 0; l < L; l++) {
        char n[64];
        int64_t sw[2] = {G, C}, sbias[1] = {G};
        snprintf(n, sizeof n, "rnn.weight_ih_l%d", l);
        m->wih[l] = sq_nn_params_add(p, n, 2, sw);
        snprintf(n, sizeof n, "rnn.weight_hh_l%d", l);
        m->whh[l] = sq_nn_params_add(p, n, 2, sw);
        snprintf(n, sizeof n, "rnn.bias_ih_l%d", l);
        m->bih[l] = sq_nn_params_add(p, n, 1, sbias);
        snprintf(n, sizeof n, "rnn.bias_hh_l%d", l);
        m->bhh[l] = sq_nn_params_add(p, n, 1, sbias);
        bad |= m->wih[l] < 0 || m->whh[l] < 0 || m->bih[l] < 0 || m->bhh[l] < 0;
    }
    if (bad) {
        destroy(&m->base);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    }
    if (sq_nn_params_alloc(p, err) != SQ_OK) {
        destroy(&m->base);
        return SQ_ERR_NOMEM;
    }
    /* init: embeddings N(0, 1/sqrt(C))-ish xavier, recurrent weights U(-1/sqrt(C), 1/sqrt(C))
     * as PyTorch does */
    sq_nn_rng r;
    sq_nn_rng_seed(&r, cfg->seed);
    for (int i = 0; i < p->n; i++) {
        sq_nn_tensor *t = &p->t[i];
        float *w = p->data + t->offset;
        if (strstr(t->name, "emb")) {
            float sd = sqrtf(2.0f / (float)(t->shape[0] + t->shape[1]));
            for (size_t j = 0; j < t->numel; j++) w[j] = sd * sq_nn_rng_normal(&r);
        } else {
            float a = 1.0f / sqrtf((float)C);
            for (size_t j = 0; j < t->numel; j++) w[j] = a * (2.0f * sq_nn_rng_uniform(&r) - 1.0f);
        }
    }
    const size_t N = (size_t)cfg->batch * cfg->maxlen, NC = N * C;
    size_t cache = lstm ? sq_nn_lstm_cache_size((int)N, C) : sq_nn_gru_cache_size((int)N, C);
    size_t scr = lstm ? sq_nn_lstm_scratch_size((int)N, C) : sq_nn_gru_scratch_size((int)N, C);
    if (!lstm) { /* room for session-parallel steps (one GRU cell step of <= batch rows) */
        const size_t cc = sq_nn_gru_cell_cache_size(cfg->batch, C),
                     cs = sq_nn_gru_cell_scratch_size(cfg->batch, C);
        cache = cc > cache ? cc : cache;
        scr = cs > scr ? cs : scr;
        m->step_buf = calloc((size_t)2 * L * cfg->batch * C, sizeof(float));
    }
    size_t total = NC * (3 + (size_t)L) + cache * L + NC + scr +
                   sq_nn_ce_scratch_size(cfg->n_items) + (size_t)cfg->batch * C;
    m->arena = malloc(total * sizeof(float));
    if (!m->arena || (!lstm && !m->step_buf)) {
        destroy(&m->base);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory for %zu MB of activations",
                            total * sizeof(float) >> 20);
    }
    float *a = m->arena;
    m->x = a, a += NC;
    for (int l = 0; l < L; l++) m->out[l] = a, a += NC;
    for (int l = 0; l < L; l++) m->cache[l] = a, a += cache;
    m->h = a, a += NC;
    m->dh = a, a += NC;
    m->dx = a, a += NC;
    m->scratch = a, a += scr;
    m->ce_scratch = a, a += sq_nn_ce_scratch_size(cfg->n_items);
    m->gather = a;
    *out = &m->base;
    return SQ_OK;
}

static sq_status create_gru(sq_model **o, const sq_model_config *c, sq_error *e) {
    return create_kind(o, c, 0, &sq_gru4rec_ops, e);
}
static sq_status create_lstm(sq_model **o, const sq_model_config *c, sq_error *e) {
    return create_kind(o, c, 1, &sq_lstm_ops, e);
}

static uint64_t site_seed(uint64_t base, int site) {
    return base ^ ((uint64_t)(site + 1) * 0xC2B2AE3D27D4EB4Full);
}

/* ---- session-parallel steps (b->state_src; GRU only): one event per sequence, each
 * layer starting from the state its row had at the end of the previous step (zero for a
 * new sequence). The carried state of the last layer is its dropped-out output, as the
 * official code carries it; gradients stop at the carried state (its one-step truncated
 * BPTT). */
static float *step_h0(rnn *m, int l) {
    return m->step_buf + (size_t)(2 * l) * m->base.cfg.batch * m->base.cfg.dim;
}
static float *step_state(rnn *m, int l) {
    return m->step_buf + (size_t)(2 * l + 1) * m->base.cfg.batch * m->base.cfg.dim;
}

static void step_forward(rnn *m, const sq_batch *b, int l, const float *in) {
    const sq_nn_params *p = &m->base.params;
    const int C = m->base.cfg.dim, N = b->n_seq;
    float *h0 = step_h0(m, l);
    const float *st = step_state(m, l);
    for (int s = 0; s < N; s++) {
        const int src = b->state_src[s];
        if (src >= 0 && src < m->step_rows)
            memcpy(h0 + (size_t)s * C, st + (size_t)src * C, (size_t)C * sizeof *h0);
        else
            memset(h0 + (size_t)s * C, 0, (size_t)C * sizeof *h0);
    }
    sq_nn_gru_cell_forward(m->out[l], m->cache[l], in, h0, sq_nn_param(p, m->wih[l]),
                           sq_nn_param(p, m->whh[l]), sq_nn_param(p, m->bih[l]),
                           sq_nn_param(p, m->bhh[l]), N, C, C);
}

static void step_keep(rnn *m, const sq_batch *b) {
    const size_t n = (size_t)b->n_seq * m->base.cfg.dim;
    for (int l = 0; l < m->L; l++)
        memcpy(step_state(m, l), l == m->L - 1 ? m->h : m->out[l], n * sizeof(float));
    m->step_rows = b->n_seq;
}

static void step_backward(rnn *m, const sq_batch *b, int l, const float *in) {
    const sq_nn_params *p = &m->base.params;
    const int C = m->base.cfg.dim;
    sq_nn_gru_cell_backward(m->dx, NULL, sq_nn_pgrad(p, m->wih[l]), sq_nn_pgrad(p, m->whh[l]),
                            sq_nn_pgrad(p, m->bih[l]), sq_nn_pgrad(p, m->bhh[l]), m->dh,
                            m->cache[l], in, step_h0(m, l), sq_nn_param(p, m->wih[l]),
                            sq_nn_param(p, m->whh[l]), b->n_seq, C, C, m->scratch);
}

static void encode(rnn *m, const sq_batch *b, int train) {
    const sq_model_config *cfg = &m->base.cfg;
    const sq_nn_params *p = &m->base.params;
    const int C = cfg->dim, N = b->seq_off[b->n_seq];
    const float pd = train ? cfg->dropout : 0.0f;
    if (train) m->drop_seed = b->seed;
    m->last_train = train;
    sq_nn_embedding_forward(m->x, b->item, sq_nn_param(p, m->item_emb), N, C, 1.0f);
    const sq__side_in side = sq__side_of(b);
    sq__side_forward(&m->side, &m->base, &side, N, m->x);
    sq_nn_dropout_forward(m->x, m->x, (size_t)N * C, pd, site_seed(m->drop_seed, 0));
    for (int l = 0; l < m->L; l++) {
        const float *in = l ? m->out[l - 1] : m->x;
        if (b->state_src) {
            step_forward(m, b, l, in);
            continue;
        }
        (m->lstm ? sq_nn_lstm_forward : sq_nn_gru_forward)(
            m->out[l], m->cache[l], in, sq_nn_param(p, m->wih[l]), sq_nn_param(p, m->whh[l]),
            sq_nn_param(p, m->bih[l]), sq_nn_param(p, m->bhh[l]), b->seq_off, b->n_seq, C, C);
    }
    sq_nn_dropout_forward(m->h, m->out[m->L - 1], (size_t)N * C, pd, site_seed(m->drop_seed, 1));
    if (b->state_src) step_keep(m, b);
}

static double loss_and_grad(rnn *m, const sq_batch *b, float *dh) {
    const sq_model_config *cfg = &m->base.cfg;
    const sq_nn_params *p = &m->base.params;
    const int C = cfg->dim, N = b->seq_off[b->n_seq];
    const float *E = sq_nn_param(p, m->item_emb);
    float *dE = dh ? sq_nn_pgrad(p, m->item_emb) : NULL;
    switch (cfg->loss) {
    case SQ_LOSS_CE:
        return sq_nn_ce_full(dh, dE, m->h, E, b->target, N, cfg->n_items, C, 1.0f, m->ce_scratch,
                             &m->base.loss_ws);
    case SQ_LOSS_SHARED:
    case SQ_LOSS_BPRMAX:
        return sq__cand_loss(&m->shared, cfg, b, dh, dE, m->h, E, N, b->seed ^ 0x7F4A7C15F39CC060ull);
    case SQ_LOSS_SAMPLED:
        return sq_nn_sampled_softmax(dh, dE, m->h, E, b->target, b->neg, N, b->n_neg, C, 1.0f);
    case SQ_LOSS_BCE:
    default:
        return sq_nn_bce_neg(dh, dE, m->h, E, b->target, b->neg, N, b->n_neg, C, 1.0f);
    }
}

static double forward(sq_model *mm, const sq_batch *b, int train) {
    rnn *m = (rnn *)mm;
    encode(m, b, train);
    return b->target ? loss_and_grad(m, b, NULL) : 0.0;
}

/* Backpropagates m->dh (N, C), the gradient at h, into params.grad. */
static void backward_from_dh(rnn *m, const sq_batch *b) {
    const sq_model_config *cfg = &m->base.cfg;
    const sq_nn_params *p = &m->base.params;
    const int C = cfg->dim, N = b->seq_off[b->n_seq];
    const size_t NC = (size_t)N * C;
    const float pd = m->last_train ? cfg->dropout : 0.0f;
    sq_nn_dropout_backward(m->dh, m->dh, NC, pd, site_seed(m->drop_seed, 1));
    for (int l = m->L - 1; l >= 0; l--) {
        const float *in = l ? m->out[l - 1] : m->x;
        memset(m->dx, 0, NC * sizeof(float));
        if (b->state_src) step_backward(m, b, l, in);
        else (m->lstm ? sq_nn_lstm_backward : sq_nn_gru_backward)(
            m->dx, sq_nn_pgrad(p, m->wih[l]), sq_nn_pgrad(p, m->whh[l]), sq_nn_pgrad(p, m->bih[l]),
            sq_nn_pgrad(p, m->bhh[l]), m->dh, m->cache[l], m->out[l], in,
            sq_nn_param(p, m->wih[l]), sq_nn_param(p, m->whh[l]), b->seq_off, b->n_seq, C, C,
            m->scratch);
        memcpy(m->dh, m->dx, NC * sizeof(float));
    }
    sq_nn_dropout_backward(m->dh, m->dh, NC, pd, site_seed(m->drop_seed, 0));
    sq_nn_embedding_backward(sq_nn_pgrad(p, m->item_emb), m->dh, b->item, N, C, 1.0f);
    const sq__side_in side = sq__side_of(b);
    sq__side_backward(&m->side, &m->base, &side, N, m->dh);
}

static void backward(sq_model *mm, const sq_batch *b) {
    rnn *m = (rnn *)mm;
    memset(m->dh, 0, (size_t)b->seq_off[b->n_seq] * m->base.cfg.dim * sizeof(float));
    loss_and_grad(m, b, m->dh);
    backward_from_dh(m, b);
}

/* rep (n_seq, C) = h (the dropped-out final state) at the last row of each sequence */
static void encode_op(sq_model *mm, const sq_batch *b, int train, float *rep) {
    rnn *m = (rnn *)mm;
    encode(m, b, train);
    sq_nn_gather_last(rep, m->h, b->seq_off, b->n_seq, m->base.cfg.dim);
}

static void encode_backward(sq_model *mm, const sq_batch *b, const float *drep) {
    rnn *m = (rnn *)mm;
    sq_nn_scatter_last(m->dh, drep, b->seq_off, b->n_seq, m->base.cfg.dim);
    backward_from_dh(m, b);
}

static void score(sq_model *mm, const sq_batch *b, float *scores) {
    rnn *m = (rnn *)mm;
    const int C = m->base.cfg.dim;
    encode_op(mm, b, 0, m->gather);
    sq_nn_linear_forward(scores, m->gather, sq_nn_param(&m->base.params, m->item_emb), NULL,
                         b->n_seq, C, m->base.cfg.n_items);
}

const sq_model_ops sq_gru4rec_ops = {.name = "gru4rec", .create = create_gru, .forward = forward,
                                     .backward = backward, .score = score, .destroy = destroy,
                                     .encode = encode_op, .encode_backward = encode_backward,
                                     .output_table = "item_emb.weight"};
const sq_model_ops sq_lstm_ops = {.name = "lstm", .create = create_lstm, .forward = forward,
                                  .backward = backward, .score = score, .destroy = destroy,
                                     .encode = encode_op, .encode_backward = encode_backward,
                                     .output_table = "item_emb.weight"};
